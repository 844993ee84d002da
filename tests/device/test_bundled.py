import os

from edgefer.device.bundled import bundled_models, default_model_path
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
