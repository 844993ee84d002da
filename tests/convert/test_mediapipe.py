"""MediaPipe Tasks' ImageClassifier on the interop file of the shipped classifier, against edgefer."""

import os

import cv2
import numpy as np
import pytest

pytest.importorskip("tensorflow")

from helpers import assert_one_line_error, edgefer_without_tensorflow  # noqa: E402

from edgefer.convert.interop import mediapipe_file  # noqa: E402
from edgefer.core.errors import EdgeferError  # noqa: E402
from edgefer.data.datasets import load_dataset, stratified_indices  # noqa: E402
from edgefer.device.bundled import REPOSITORY_MODELS  # noqa: E402
from edgefer.device.runtime import Classifier  # noqa: E402
from edgefer.device.sources import SAMPLE_IMAGE  # noqa: E402

TWIN = os.path.join(REPOSITORY_MODELS, "fer2013-lite0_float32.tflite")


@pytest.fixture(scope="module")
def interop_file(tmp_path_factory):
    return mediapipe_file(TWIN, str(tmp_path_factory.mktemp("interop") / "fer2013-lite0_mediapipe.tflite"), "fer2013-lite0")


@pytest.fixture(scope="module")
def image_classifier(interop_file):
    mediapipe = pytest.importorskip("mediapipe", reason="no mediapipe wheel for this platform (or not installed)")
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core import base_options

    options = vision.ImageClassifierOptions(base_options=base_options.BaseOptions(model_asset_path=interop_file),
                                            max_results=-1)
    with vision.ImageClassifier.create_from_options(options) as classifier:
        yield lambda rgb: classify(mediapipe, classifier, rgb)


def classify(mediapipe, classifier, rgb):
    """MediaPipe's best label for an RGB uint8 image."""
    result = classifier.classify(mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
    return max(result.classifications[0].categories, key=lambda c: c.score).category_name


def test_mediapipe_labels_the_sample_face_happy(image_classifier):
    photo = cv2.cvtColor(cv2.imread(SAMPLE_IMAGE), cv2.COLOR_BGR2RGB)
    face = cv2.resize(photo[40:120, 100:180], (48, 48), interpolation=cv2.INTER_AREA)
    assert image_classifier(face) == "happy"


def test_mediapipe_agrees_with_edgefer_on_private_test_faces(image_classifier, real_fer2013):
    test = load_dataset(real_fer2013, ("test",)).split("test")
    faces = test.images[stratified_indices(test.labels, 300, seed=0)]
    twin = Classifier(TWIN)
    ours = [twin.labels[i] for i in twin.predict(faces).argmax(1)]
    theirs = [image_classifier(np.stack([face] * 3, axis=-1)) for face in faces]
    assert np.mean([a == b for a, b in zip(ours, theirs)]) >= 0.99


def test_edgefer_refuses_the_interop_file_in_one_line(interop_file):
    with pytest.raises(EdgeferError, match="is made for mediapipe"):
        Classifier(interop_file)
    assert_one_line_error(edgefer_without_tensorflow("run", "--source", "sample", "--model", interop_file, "--no-display"),
                          "made for mediapipe")


def test_only_a_float32_file_makes_an_interop_file(tmp_path):
    from edgefer.device.bundled import default_model_path

    with pytest.raises(EdgeferError, match="is not a float32 file"):
        mediapipe_file(default_model_path(), str(tmp_path / "x.tflite"), "x")
    assert not (tmp_path / "x.tflite").exists()
