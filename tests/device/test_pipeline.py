"""The pipeline with a fake detector and classifier: what it smooths, tracks and cuts."""

import json

import numpy as np
from helpers import FIXTURES

from edgefer.core.metadata import ModelMetadata
from edgefer.device.blazeface import Detection
from edgefer.device.faces import FaceFinder
from edgefer.device.pipeline import EmotionPipeline
from edgefer.device.runtime import Classifier


class FakeClassifier:
    """Two labels; each call answers the next of ``answers`` for every face."""

    labels = ["calm", "glad"]
    face_size = 48
    color = "grayscale"
    metadata = ModelMetadata(labels=tuple(labels), face_size=48)
    path = "fake.tflite"

    def __init__(self, answers):
        self.answers = iter(answers)

    def predict(self, crops):
        return np.array([next(self.answers)] * len(crops), np.float32)


class FakeDetector:
    name = "fake"

    def detect(self, frame):
        return [Detection([10, 10, 40, 40], 0.9, {}, "fake")]


FRAME = np.zeros((100, 100, 3), np.uint8)
CALM, GLAD = [1.0, 0.0], [0.0, 1.0]


def glad_after(pipeline, frames):
    """The smoothed 'glad' score of the face after each frame (each frame's answer is 'glad')."""
    return [pipeline.process(FRAME, still=still)[0].scores["glad"] for still in frames]


def test_a_video_is_smoothed():
    pipeline = EmotionPipeline(FakeClassifier([CALM, GLAD, GLAD]), FakeDetector(), smooth=5)
    assert glad_after(pipeline, [False, False, False]) == [0.0, round(1 / 3, 4), round(1 / 3 + 2 / 3 * 1 / 3, 4)]


def test_a_still_is_not_smoothed_and_leaves_the_video_smoothed():
    pipeline = EmotionPipeline(FakeClassifier([CALM, GLAD, GLAD, GLAD]), FakeDetector(), smooth=5)
    video, still, video_again = pipeline.process(FRAME), pipeline.process(FRAME, still=True), None
    assert still[0].scores["glad"] == 1.0  # the still's own answer, nothing carried over
    video_again = pipeline.process(FRAME)
    assert video[0].id == video_again[0].id  # the video's face keeps its track
    assert video_again[0].scores["glad"] == round(1 / 3, 4)  # and its smoothing (span 5: alpha 1/3)
    assert pipeline.process(FRAME)[0].scores["glad"] == round(1 / 3 + 2 / 3 * 1 / 3, 4)


def test_a_model_without_crop_geometry_says_once_which_crop_it_falls_back_to(capsys):
    EmotionPipeline(FakeClassifier([]), FakeDetector(), margin=0.2)
    warning = capsys.readouterr().err
    assert warning.count("\n") == 1 and "fake.tflite carries no crop geometry" in warning and "grown by 0.2" in warning


def test_a_model_with_crop_geometry_cuts_each_face_with_its_detector_geometry(capsys):
    from dataclasses import replace

    from edgefer.core.metadata import CropGeometry
    classifier = FakeClassifier([])
    classifier.metadata = replace(classifier.metadata, crop={"fake": CropGeometry("fake", 0.5, (0.5, 0.5))})
    assert EmotionPipeline(classifier, FakeDetector()).geometries["fake"].box_size == 0.5
    assert capsys.readouterr().err == ""


def test_a_colour_model_gets_colour_crops_in_rgb_order():
    """The tiny colour model labels a face by its dominant channel: a BGR frame that is blue in
    OpenCV's order must reach it as blue."""
    pipeline = EmotionPipeline(Classifier(f"{FIXTURES}/tiny_rgb_float32.tflite"), FaceFinder(FakeDetector()))
    for bgr, label in (((255, 0, 0), "blue"), ((0, 255, 0), "green"), ((0, 0, 255), "red")):
        frame = np.zeros((100, 100, 3), np.uint8)
        frame[:] = bgr
        assert pipeline.process(frame, still=True)[0].emotion == label


def test_a_face_prints_as_the_json_line_always_has():
    class KeypointDetector(FakeDetector):
        def detect(self, frame):
            return [Detection([10, 10, 40, 40], 0.9, {"right_eye": (20.0, 22.5)}, "fake")]

    face = EmotionPipeline(FakeClassifier([GLAD]), KeypointDetector()).process(FRAME, still=True)[0]
    assert json.dumps(face.as_json()) == ('{"id": 0, "box": [10, 10, 40, 40], "emotion": "glad", "score": 1.0, '
                                          '"scores": {"calm": 0.0, "glad": 1.0}, "keypoints": {"right_eye": [20.0, 22.5]}}')
