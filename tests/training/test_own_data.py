"""A user's own set end to end: photos and a video with three made-up labels and two people,
prepared by the device's face stage, trained from a shipped model, quantized, checked for
parity and run on the device path, with the made-up labels all the way to ``run --json``."""

import json
import os

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

from helpers import OWN_LABELS, edgefer, framed_face, write_own_photos  # noqa: E402

from edgefer.core.metadata import read_metadata  # noqa: E402
from edgefer.data.subjects import shared_subjects  # noqa: E402


def test_own_labels_from_photos_and_a_video_to_run_json(tmp_path):
    photos = write_own_photos(str(tmp_path / "photos"))
    dataset, run, models = str(tmp_path / "dataset"), str(tmp_path / "run"), str(tmp_path / "models")
    prepared = edgefer("data", "prepare", photos, "--out", dataset, "--subject-pattern", r"^([a-z]+)_")
    assert prepared.returncode == 0, prepared.stderr[-2000:]

    trained = edgefer("train", dataset, "--out", run, "--weights", "fer2013-lite0", "--epochs", "1",
                      "--image-size", "64", "--val-share", "0.5")
    assert trained.returncode == 0, trained.stderr[-3000:]
    splits = json.load(open(os.path.join(run, "splits.json")))
    assert splits["train"]["subjects"] and splits["val"]["subjects"]
    assert shared_subjects(splits["train"]["subjects"], splits["val"]["subjects"]) == []
    config = json.load(open(os.path.join(run, "config.json")))
    assert config["labels"] == sorted(OWN_LABELS) and config["train"]["freeze"] == 3  # a transfer default

    quantized = edgefer("quantize", run, "--data", dataset, "--out", models, "--modes", "float32,int8", "--name", "own")
    assert quantized.returncode == 0, quantized.stderr[-3000:]
    int8 = os.path.join(models, "own_int8.tflite")
    metadata = read_metadata(int8)
    assert list(metadata.labels) == sorted(OWN_LABELS) and set(metadata.crop) == {"blazeface-full", "blazeface-short"}
    assert metadata.calibration["split"] == "train" and metadata.calibration["dataset"] == "dataset"

    parity = edgefer("parity", os.path.join(models, "own_float32.tflite"), int8, "--data", dataset,
                     "--splits", os.path.join(run, "splits.json"), "--split", "val", "--max-drop", "100",
                     "--out", str(tmp_path / "parity"), "--json")
    assert parity.returncode == 0, parity.stderr[-2000:]
    assert json.loads(parity.stdout)["n"] == splits["val"]["faces"]

    import cv2

    photo = str(tmp_path / "new.jpg")
    cv2.imwrite(photo, framed_face((100, 80)))
    ran = edgefer("run", "--model", int8, "--source", photo, "--json", "--no-display")
    assert ran.returncode == 0, ran.stderr[-2000:]
    face = json.loads(ran.stdout.splitlines()[0])["faces"][0]
    assert face["emotion"] in OWN_LABELS and set(face["scores"]) == set(OWN_LABELS)
