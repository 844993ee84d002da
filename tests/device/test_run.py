"""`edgefer run` and `edgefer bench` through the real CLI, on real files, without TensorFlow."""

import csv
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from helpers import CLEAN_ENV, assert_one_line_error, edgefer, edgefer_without_tensorflow, summary_of

from edgefer.device.sources import SAMPLE_IMAGE


def face_video(path, pattern):
    """An MJPG video from the sample photo (a real face): 'F' frames show it shifted a little,
    '.' frames are blank grey."""
    photo = cv2.imread(SAMPLE_IMAGE)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (photo.shape[1], photo.shape[0]))
    for i, kind in enumerate(pattern):
        if kind == "F":
            frame = cv2.warpAffine(photo, np.float32([[1, 0, 2 * i], [0, 1, i]]), (photo.shape[1], photo.shape[0]),
                                   borderMode=cv2.BORDER_REPLICATE)
        else:
            frame = np.full_like(photo, 128)
        writer.write(frame)
    writer.release()
    return str(path)


def test_sample_runs_with_tensorflow_blocked():
    result = edgefer_without_tensorflow("run", "--source", "sample", "--json", "--no-display", "--max-frames", "5")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["frame"] for line in lines] == [0, 1, 2, 3, 4]
    for line in lines:
        assert len(line["faces"]) == 1
        face = line["faces"][0]
        assert set(face) >= {"box", "emotion", "score", "scores"}
        assert abs(sum(face["scores"].values()) - 1.0) < 0.02
        assert face["emotion"] == max(face["scores"], key=face["scores"].get)
    assert "summary:" in result.stderr


def test_the_readme_first_command_labels_the_sample_as_it_says():
    """The README prints the default model's answer on the sample: happy, about 0.96, on every frame."""
    result = edgefer_without_tensorflow("run", "--source", "sample", "--json", "--no-display", "--max-frames", "5",
                                        "--model", "fer2013-lite0")
    assert result.returncode == 0, result.stderr[-2000:]
    faces = [json.loads(line)["faces"] for line in result.stdout.splitlines()]
    assert all(len(found) == 1 and found[0]["emotion"] == "happy" and 0.94 <= found[0]["score"] <= 0.98
               for found in faces), faces
    assert summary_of(result)["model"] == "fer2013-lite0_int8.tflite"


def test_bench_runs_with_tensorflow_blocked():
    result = edgefer_without_tensorflow("bench", "--runs", "20", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert 0 < report["classifier_ms"]["p50"] <= report["classifier_ms"]["p95"] <= report["classifier_ms"]["p99"]
    assert report["pipeline_ms"]["p50"] > 0 and report["faces_per_second"] > 0
    assert report["runtime"] == "ai_edge_litert"


def test_run_over_a_video_finds_the_face_in_face_frames(tmp_path):
    pattern = "FFFF...FFFF"
    video = face_video(tmp_path / "clip.avi", pattern)
    out = tmp_path / "annotated.avi"
    result = edgefer("run", "--source", video, "--json", "--no-display", "--output", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(pattern)
    assert [len(line["faces"]) for line in lines] == [1 if k == "F" else 0 for k in pattern]
    assert cv2.VideoCapture(str(out)).get(cv2.CAP_PROP_FRAME_COUNT) == len(pattern)
    # the tracker keeps one id for the face across consecutive frames
    assert len({line["faces"][0]["id"] for line in lines[:4]}) == 1


def test_nothing_is_written_without_output(tmp_path):
    video = face_video(tmp_path / "clip.avi", "FF")
    before = set(os.listdir(tmp_path))
    result = subprocess.run([sys.executable, "-m", "edgefer", "run", "--source", video, "--json", "--no-display"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=600, env=CLEAN_ENV)
    assert result.returncode == 0, result.stderr[-2000:]
    assert set(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("args, fragment", [
    (("--model", "/nonexistent.tflite"), "model file not found"),
    (("--model", __file__), "not a TFLite model"),
    (("--camera", "7"), "camera 7 could not be opened"),
    (("--source", "/nowhere/*.mp4"), "no such file, folder or matching files"),
    (("--device", "toaster"), "unknown device profile 'toaster'"),
])
def test_run_bad_input_gives_one_line_error(args, fragment):
    assert_one_line_error(edgefer_without_tensorflow("run", "--no-display", "--max-frames", "1", *args), fragment)


def test_folder_images_are_independent_and_name_their_source(tmp_path):
    photo = cv2.imread(SAMPLE_IMAGE)
    cv2.imwrite(str(tmp_path / "a_face.jpg"), photo)
    cv2.imwrite(str(tmp_path / "b_mirrored.jpg"), photo[:, ::-1])
    cv2.imwrite(str(tmp_path / "c_face.jpg"), photo)
    result = edgefer_without_tensorflow("run", "--source", str(tmp_path), "--json", "--no-display")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["source"] for line in lines] == ["a_face.jpg", "b_mirrored.jpg", "c_face.jpg"]
    faces = [line["faces"][0] for line in lines]
    assert [face["id"] for face in faces] == [0, 0, 0]  # a new picture starts afresh
    assert faces[0]["scores"] == faces[2]["scores"]  # same picture, same scores: nothing carried over
    assert set(faces[0]["keypoints"]) == {"right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear"}


def test_the_default_detector_finds_the_boxed_faces_in_real_photos(real_photos):
    folder = os.path.join(real_photos, "faces-in-photos")
    boxes = {}
    with open(os.path.join(folder, "boxes.csv")) as f:
        for row in csv.DictReader(f):
            boxes.setdefault(row["file"], []).append([float(row[k]) for k in "xywh"])
    result = edgefer_without_tensorflow("run", "--source", folder, "--json", "--no-display")
    assert result.returncode == 0, result.stderr[-2000:]
    found = total = 0
    for line in map(json.loads, result.stdout.splitlines()):
        detections = [face["box"] for face in line["faces"]]
        for x, y, w, h in boxes[line["source"]]:
            cx, cy = x + w / 2, y + h / 2
            total += 1
            found += any(dx <= cx <= dx + dw and dy <= cy <= dy + dh and 0.25 <= dw * dh / (w * h) <= 6
                         for dx, dy, dw, dh in detections)
    assert total == 18 and found >= 17, (found, total)


def test_the_default_detector_finds_a_face_in_nearly_every_portrait(real_photos):
    folder = os.path.join(real_photos, "expressions-wild", "images")
    result = edgefer_without_tensorflow("run", "--source", folder, "--json", "--no-display")
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(os.listdir(folder)) == 1638
    assert sum(bool(line["faces"]) for line in lines) >= 0.97 * len(lines)


def test_bench_times_every_bundled_model_in_one_run():
    from edgefer.device.bundled import bundled_models

    result = edgefer_without_tensorflow("bench", "--all-models", "--runs", "5", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    reports = json.loads(result.stdout)
    assert [os.path.basename(r["model"]) for r in reports] == [os.path.basename(m["path"]) for m in bundled_models()]
    assert all(r["classifier_ms"]["p50"] > 0 and r["detector_ms"]["p50"] > 0 for r in reports)


def test_the_raspberry_pi_4_profile_labels_the_sample_with_the_fast_model():
    result = edgefer_without_tensorflow("run", "--device", "raspberry-pi-4", "--source", "sample", "--json",
                                        "--no-display", "--max-frames", "2")
    assert result.returncode == 0, result.stderr[-2000:]
    assert summary_of(result)["model"] == "fer2013-fast_int8.tflite"
    faces = [json.loads(line)["faces"] for line in result.stdout.splitlines()]
    assert [[face["emotion"] for face in f] for f in faces] == [["happy"], ["happy"]]


def test_models_json_states_input_size_and_dataset():
    result = edgefer_without_tensorflow("models", "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    models = {model["name"]: model for model in json.loads(result.stdout)}
    accurate, fast = models["fer2013-lite0"], models["fer2013-fast"]
    assert (accurate["dataset"], accurate["face_size"], accurate["image_size"]) == ("fer2013", 48, 128)
    assert accurate["members"] == [] and accurate["flip_average"] and accurate["zoom_crop"] == 0  # one network, flip-averaged
    assert (fast["dataset"], fast["face_size"], fast["image_size"], fast["members"]) == ("fer2013", 48, 48, [])
    assert fast["size_mb"] < accurate["size_mb"]
    for model in models.values():  # edgefer bench --all-models --record wrote every bundled model
        assert model["latency"]["p50_ms"]["1_thread"] > 0 and model["latency"]["p50_ms"]["2_threads"] > 0, model["name"]
        assert "cores, int8 dot product:" in model["latency"]["machine"]


def test_status_lines_replace_a_line_a_frame_for_a_service():
    result = edgefer_without_tensorflow("run", "--source", "sample", "--loop", "--no-display", "--max-frames", "100",
                                        "--status-every", "1")
    assert result.returncode == 0 and result.stdout == "", result.stderr[-2000:]
    statuses = [json.loads(line[len("status: "):]) for line in result.stderr.splitlines() if line.startswith("status: ")]
    assert len(statuses) >= 2
    assert set(statuses[0]) == {"seconds", "frames", "faces", "frames_per_second", "capacity_fps", "emotions"}
    assert statuses[0]["emotions"] == {"happy": statuses[0]["faces"]} and 20 <= statuses[0]["frames"] <= 40
