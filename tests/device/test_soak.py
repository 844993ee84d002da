"""Soak: a looped video through the whole device pipeline while resident memory is watched.

A real clip (the sample, 300 frames, MJPG) is read by OpenCV again and again; memory after the
warm-up and at the end must not grow by more than the limit. ``EDGEFER_SOAK_FRAMES`` sets the
length (default 3,000; the figure in docs/results.md is 10,000) and ``-s`` shows the measurement:

    EDGEFER_SOAK_FRAMES=10000 python -m pytest tests/device/test_soak.py -s
"""

import os
import time

import cv2
import pytest

from edgefer.device.assemble import assemble
from edgefer.device.bundled import default_model_path
from edgefer.device.profiles import DeviceSettings
from edgefer.device.sources import sample_frames

pytestmark = pytest.mark.slow
FRAMES = int(os.environ.get("EDGEFER_SOAK_FRAMES", "3000"))
WARM_UP = 200
LIMIT_MB = 20.0


def rss_mb():
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) / 1024.0 for line in f if line.startswith("VmRSS:"))


def write_clip(path, frames=300):
    writer = None
    for frame in sample_frames(frames):
        if writer is None:
            writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*"MJPG"), 30, (frame.shape[1], frame.shape[0]))
        writer.write(frame)
    writer.release()
    return path


def looped_frames(video, total):
    done = 0
    while done < total:
        capture = cv2.VideoCapture(video)
        while done < total:
            ok, frame = capture.read()
            if not ok:
                break
            done += 1
            yield frame
        capture.release()


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads resident memory from /proc (Linux)")
def test_memory_stays_flat_over_a_long_video(tmp_path):
    video = write_clip(str(tmp_path / "soak.avi"))
    pipeline = assemble(DeviceSettings(model_path=default_model_path()))
    start, faces, warm = time.perf_counter(), 0, None
    for i, frame in enumerate(looped_frames(video, FRAMES)):
        faces += len(pipeline.process(frame))
        if i == WARM_UP:
            warm = rss_mb()
    growth = rss_mb() - warm
    print(f"\n{FRAMES} frames, {faces} faces, {FRAMES / (time.perf_counter() - start):.1f} frames/s; "
          f"rss after warm-up {warm:.1f} MB, growth {growth:+.1f} MB (limit {LIMIT_MB} MB)")
    assert faces == FRAMES and growth <= LIMIT_MB
