import os

import pytest

from edgefer.core.errors import EdgeferError
from edgefer.device.bundled import bundled_models, default_model_path, resolve_model
from edgefer.device.runtime import Classifier


def test_default_model_is_bundled_with_its_metadata():
    models = bundled_models()
    assert [m["name"] for m in models if m["default"]] == ["fer2013-lite0"]
    assert models[0]["labels"] == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert os.path.exists(default_model_path())


def test_every_bundled_model_loads_on_the_device_runtime():
    for model in bundled_models():
        classifier = Classifier(model["path"])
        assert classifier.labels == model["labels"] and classifier.face_size == 48


def test_model_names_and_paths_resolve(tmp_path):
    assert resolve_model(None) == default_model_path() == resolve_model("fer2013-lite0")
    assert resolve_model("some/file.tflite") == "some/file.tflite"
    with pytest.raises(EdgeferError, match="no bundled model 'nope' \\(bundled: fer2013-lite0"):
        resolve_model("nope")
