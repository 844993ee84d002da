"""`edgefer run` outputs under pressure: a full disk, mixed frame sizes, signals, bad files,
huge images. Real videos through OpenCV, the real CLI in a subprocess."""

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import cv2
import numpy as np
import pytest
from helpers import CLEAN_ENV, REPO, assert_one_line_error, edgefer_without_tensorflow, summary_of

from edgefer.device.live import count_frames
from edgefer.device.sources import SAMPLE_IMAGE

# the CLI, then its own peak resident memory (MB) as the last line on stderr
PEAK_MEMORY = """
import resource, sys
from edgefer.cli import main
try:
    main()
finally:
    print("peak MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)
"""


def test_a_full_disk_fails_in_one_line_and_leaves_no_video(full_disk):
    result = edgefer_without_tensorflow("run", "--source", "sample", "--no-display", "--output", str(full_disk / "out.mp4"))
    assert_one_line_error(result, "out.mp4", "frames could be written")
    assert os.listdir(full_disk) == []


def test_frames_of_different_sizes_all_reach_the_video(tmp_path):
    photo = cv2.imread(SAMPLE_IMAGE)
    folder = tmp_path / "in"
    folder.mkdir()
    for name, size in (("a.jpg", (320, 320)), ("b.jpg", (400, 200)), ("c.jpg", (200, 300))):
        cv2.imwrite(str(folder / name), cv2.resize(photo, size))
    out = tmp_path / "out.avi"
    result = edgefer_without_tensorflow("run", "--source", str(folder), "--no-display", "--output", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert summary_of(result)["written"] == {"path": str(out), "frames": 3}
    assert count_frames(str(out)) == 3 and sorted(os.listdir(tmp_path)) == ["in", "out.avi"]


def test_an_unreadable_image_in_a_folder_is_skipped_and_counted(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), cv2.imread(SAMPLE_IMAGE))
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    result = edgefer_without_tensorflow("run", "--source", str(tmp_path), "--no-display", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert [json.loads(line)["source"] for line in result.stdout.splitlines()] == ["a.jpg"]
    assert "warning: " in result.stderr and "b.jpg" in result.stderr and "Traceback" not in result.stderr
    assert summary_of(result)["skipped"] == ["b.jpg"] and summary_of(result)["frames"] == 1


def test_a_folder_of_only_unreadable_files_is_an_error(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"nothing")
    (tmp_path / "b.png").write_bytes(b"nothing")
    assert_one_line_error(edgefer_without_tensorflow("run", "--source", str(tmp_path), "--no-display"), "no input")


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_ends_a_run_like_ctrl_c_with_a_summary_and_a_playable_video(tmp_path, ending):
    clip = str(tmp_path / "long.avi")
    photo = cv2.imread(SAMPLE_IMAGE)
    writer = cv2.VideoWriter(clip, cv2.VideoWriter_fourcc(*"MJPG"), 25, photo.shape[1::-1])
    for i in range(1500):
        writer.write(np.roll(photo, i % 40, axis=1))
    writer.release()
    out = tmp_path / "annotated.avi"
    process = subprocess.Popen([sys.executable, "-m", "edgefer", "run", "--source", clip, "--no-display", "--json",
                                "--output", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=REPO, env=CLEAN_ENV)
    assert process.stdout.readline()  # the first frame is done
    time.sleep(1.0)
    process.send_signal(ending)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr[-2000:]
    summary = summary_of(subprocess.CompletedProcess([], 0, stdout, stderr))
    assert 0 < summary["frames"] < 1500
    assert summary["written"]["frames"] == count_frames(str(out))
    assert summary["frames"] - summary["written"]["frames"] in (0, 1)  # a signal may land between the two
    assert sorted(os.listdir(tmp_path)) == ["annotated.avi", "long.avi"]


def test_a_huge_image_is_detected_on_a_bounded_copy(tmp_path):
    photo = cv2.imread(SAMPLE_IMAGE)
    huge = cv2.resize(photo, (8000, 8000), interpolation=cv2.INTER_LINEAR)
    path = str(tmp_path / "huge.png")
    cv2.imwrite(path, huge, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    del huge
    def peak_mb(source):
        run = subprocess.run([sys.executable, "-c", PEAK_MEMORY, "run", "--source", source, "--no-display", "--json"],
                             capture_output=True, text=True, cwd=REPO, timeout=600, env=CLEAN_ENV)
        assert run.returncode == 0, run.stderr[-2000:]
        return run, float(run.stderr.strip().splitlines()[-1].split()[-1])

    _, baseline = peak_mb(SAMPLE_IMAGE)
    result, huge_peak = peak_mb(path)
    face = json.loads(result.stdout)["faces"][0]
    x, y, w, h = face["box"]
    assert 90 * 25 < x + w / 2 < 160 * 25 and 40 * 25 < y + h / 2 < 110 * 25  # the face, at 25x the sample's size
    assert face["emotion"] == "happy"
    # the 8000x8000 frame is 192 MB and its grey copy 64 MB; detecting on it in full took over 1 GB more
    assert huge_peak - baseline < 700, (baseline, huge_peak)


def test_nothing_but_the_promised_output_is_written(tmp_path):
    result = edgefer_without_tensorflow("run", "--source", "sample", "--no-display", "--max-frames", "2",
                                        "--output", "last.png", cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.listdir(tmp_path) == ["last.png"] and cv2.imread(str(tmp_path / "last.png")).shape == (320, 320, 3)


def test_an_image_output_into_a_fifo_is_written_through_it(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()))
    reader.start()
    result = edgefer_without_tensorflow("run", "--source", "sample", "--no-display", "--max-frames", "2",
                                        "--output", str(fifo))
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(tmp_path) == ["pipe.jpg"]
    assert cv2.imdecode(np.frombuffer(received[0], np.uint8), cv2.IMREAD_COLOR).shape == (320, 320, 3)


def test_a_device_node_output_stays_a_device(tmp_path):
    node = tmp_path / "node.jpg"
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("making a device node needs root")
    result = edgefer_without_tensorflow("run", "--source", "sample", "--no-display", "--max-frames", "1",
                                        "--output", str(node))
    assert result.returncode == 0, result.stderr[-2000:]
    assert stat.S_ISCHR(os.stat(node).st_mode) and os.listdir(tmp_path) == ["node.jpg"]


def test_a_link_to_a_target_without_an_extension_is_followed(tmp_path):
    (tmp_path / "result").write_bytes(b"old")
    (tmp_path / "link.png").symlink_to(tmp_path / "result")
    result = edgefer_without_tensorflow("run", "--source", "sample", "--no-display", "--max-frames", "1",
                                        "--output", str(tmp_path / "link.png"))
    assert result.returncode == 0, result.stderr[-2000:]
    assert os.path.islink(tmp_path / "link.png") and sorted(os.listdir(tmp_path)) == ["link.png", "result"]
    assert cv2.imread(str(tmp_path / "result")).shape == (320, 320, 3)


def test_a_temporary_file_left_by_a_killed_run_is_removed_by_the_next(tmp_path):
    clip = str(tmp_path / "clip.avi")
    photo = cv2.imread(SAMPLE_IMAGE)
    writer = cv2.VideoWriter(clip, cv2.VideoWriter_fourcc(*"MJPG"), 25, photo.shape[1::-1])
    for _ in range(600):
        writer.write(photo)
    writer.release()
    out = str(tmp_path / "out.avi")
    process = subprocess.Popen([sys.executable, "-m", "edgefer", "run", "--source", clip, "--no-display", "--json",
                                "--output", out], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=REPO,
                               env=CLEAN_ENV)
    process.stdout.readline()
    time.sleep(0.5)
    process.kill()
    process.wait()
    left = [name for name in os.listdir(tmp_path) if name.startswith(".out.avi.edgefer-")]
    assert len(left) == 1  # what SIGKILL leaves: the unfinished temporary file, never at the output's name
    result = edgefer_without_tensorflow("run", "--source", "sample", "--no-display", "--max-frames", "2", "--output", out)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(os.listdir(tmp_path)) == ["clip.avi", "out.avi"]


def test_names_that_are_not_utf8_are_read_or_skipped_by_name(tmp_path):
    folder = os.fsencode(str(tmp_path))
    photo = cv2.imencode(".jpg", cv2.imread(SAMPLE_IMAGE))[1].tobytes()
    with open(os.path.join(folder, b"\xff\xfe_bad.jpg"), "wb") as f:
        f.write(photo)
    with open(os.path.join(folder, b"good.jpg"), "wb") as f:
        f.write(photo)
    with open(os.path.join(folder, b"\xff_clip.avi"), "wb") as f:
        f.write(b"not read")
    result = edgefer_without_tensorflow("run", "--source", str(tmp_path), "--no-display", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["source"] for line in lines] == ["good.jpg", "\\xff\\xfe_bad.jpg"]
    assert all(line["faces"][0]["emotion"] == "happy" for line in lines)
    assert "\\xff_clip.avi: a video is read only from a regular file with a UTF-8 name; skipped" in result.stderr


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tmp_path):
    bomb = tmp_path / "bomb.png"
    ok, data = cv2.imencode(".png", np.zeros((20000, 20000), np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    bomb.write_bytes(data.tobytes())
    assert bomb.stat().st_size < 1_000_000
    del data

    def run_peak(source):
        result = subprocess.run([sys.executable, "-c", PEAK_MEMORY, "run", "--source", source, "--no-display"],
                                capture_output=True, text=True, cwd=REPO, timeout=600, env=CLEAN_ENV)
        return result, float(result.stderr.strip().splitlines()[-1].split()[-1])

    _, baseline = run_peak(SAMPLE_IMAGE)  # a child's peak counts from its parent's size at the fork
    result, peak = run_peak(str(bomb))
    assert_one_line_error(subprocess.CompletedProcess([], result.returncode, result.stdout,
                                                      "\n".join(result.stderr.splitlines()[:-1])),
                          "20000x20000 pixels is over the limit")
    assert peak - baseline < 200, (baseline, peak)  # MB: never decoded (decoded, it is 1.2 GB)


def test_a_fifo_in_a_source_folder_is_passed_over(tmp_path):
    cv2.imwrite(str(tmp_path / "a.jpg"), cv2.imread(SAMPLE_IMAGE))
    os.mkfifo(tmp_path / "b.jpg")  # nobody writes to it: reading it would wait for ever
    result = edgefer_without_tensorflow("run", "--source", str(tmp_path), "--no-display", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert [json.loads(line)["source"] for line in result.stdout.splitlines()] == ["a.jpg"]
