import json
import os

import pytest
from helpers import assert_one_line_error, edgefer_without_tensorflow

from edgefer.core.errors import EdgeferError
from edgefer.data.datasets import FER2013_LABELS, FERPLUS_LABELS
from edgefer.device.bundled import bundled_models, bundled_pair, default_model_path, resolve_model
from edgefer.device.runtime import Classifier


def test_default_model_is_bundled_with_its_metadata():
    models = bundled_models()
    assert [m["name"] for m in models if m["default"]] == ["fer2013-lite0"]
    assert {m["name"]: m["labels"] for m in models}["fer2013-lite0"] == FER2013_LABELS
    assert os.path.exists(default_model_path())


def test_every_bundled_model_loads_on_the_device_runtime():
    for model in bundled_models():
        classifier = Classifier(model["path"])
        assert classifier.labels == model["labels"] and classifier.face_size == 48


def test_model_names_and_paths_resolve(tmp_path):
    assert resolve_model(None) == default_model_path() == resolve_model("fer2013-lite0")
    assert resolve_model("some/file.tflite") == "some/file.tflite"
    with pytest.raises(EdgeferError, match="no bundled model 'nope' \\(bundled: fer2013-fast, fer2013-lite0, ferplus-lite0\\)"):
        resolve_model("nope")


def test_the_ferplus_model_has_eight_labels_in_the_documented_order():
    model = {m["name"]: m for m in bundled_models()}["ferplus-lite0"]
    assert model["dataset"] == "ferplus" and not model["default"]
    assert model["labels"] == FERPLUS_LABELS == ["angry", "contempt", "disgust", "fear", "happy", "neutral", "sad",
                                                 "surprise"]
    assert Classifier(model["path"]).labels == FERPLUS_LABELS


def test_the_ferplus_model_labels_the_sample_face_happy_without_tensorflow():
    result = edgefer_without_tensorflow("run", "--source", "sample", "--model", "ferplus-lite0", "--json",
                                        "--no-display", "--max-frames", "3")
    assert result.returncode == 0, result.stderr[-2000:]
    faces = [json.loads(line)["faces"] for line in result.stdout.splitlines()]
    assert [len(f) for f in faces] == [1, 1, 1]
    for (face,) in faces:
        assert list(face["scores"]) == FERPLUS_LABELS and face["emotion"] == "happy"


def test_parity_refuses_to_compare_the_ferplus_model_with_the_seven_class_one(tmp_path):
    ferplus_float, _ = bundled_pair("ferplus-lite0")
    result = edgefer_without_tensorflow("parity", ferplus_float, default_model_path(), "--data", str(tmp_path),
                                        "--out", str(tmp_path / "p"))
    assert_one_line_error(result, default_model_path(), "differ from the model's")
    assert not (tmp_path / "p").exists()
