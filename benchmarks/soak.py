"""Soak run: stream many frames from a video file through the pipeline and watch resident memory.

Usage: python benchmarks/soak.py [--frames 10000] [--model PATH] [--video PATH] [--limit-mb 20]

Without --video it writes a 300-frame clip of the built-in sample to a temporary folder and
loops over it. Prints RSS after warm-up and at the end, the growth, and exits 1 when the growth
exceeds --limit-mb.
"""

import argparse
import os
import sys
import tempfile
import time

import cv2

from edgefer.device.assemble import assemble
from edgefer.device.bundled import resolve_model
from edgefer.device.profiles import DeviceSettings
from edgefer.device.sources import sample_frames


def rss_mb():
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--model", default=None)
    parser.add_argument("--video", default=None)
    parser.add_argument("--limit-mb", type=float, default=20.0)
    args = parser.parse_args()

    video = args.video or write_clip(os.path.join(tempfile.mkdtemp(), "soak.avi"))
    pipeline = assemble(DeviceSettings(model_path=resolve_model(args.model)))
    start, faces, warm_rss = time.perf_counter(), 0, None
    for i, frame in enumerate(looped_frames(video, args.frames)):
        faces += len(pipeline.process(frame))
        if i == 200:
            warm_rss = rss_mb()
        if i % 2000 == 0:
            print(f"frame {i}: rss {rss_mb():.1f} MB", flush=True)
    end_rss = rss_mb()
    growth = end_rss - warm_rss
    elapsed = time.perf_counter() - start
    print(f"{args.frames} frames, {faces} faces, {args.frames / elapsed:.1f} frames/s; "
          f"rss after warm-up {warm_rss:.1f} MB, at end {end_rss:.1f} MB, growth {growth:+.1f} MB (limit {args.limit_mb} MB)")
    sys.exit(0 if growth <= args.limit_mb else 1)


if __name__ == "__main__":
    main()
