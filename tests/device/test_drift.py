"""int8 drift on the device: the tiny fixtures' known answers through the monitor, the pipeline,
``run --drift`` and label-free ``parity --source``, with exact agreement and flip counts."""

import io
import json
import os
import shutil
import subprocess

import cv2
import numpy as np
import pytest
from helpers import FIXTURES, TINY_FLOAT, TINY_INT8, TINY_SWAPPED, edgefer_without_tensorflow, framed_face, make_face

from edgefer.core.errors import EdgeferError
from edgefer.device import runtime
from edgefer.device.assemble import assemble
from edgefer.device.blazeface import Detection
from edgefer.device.drift import DriftMonitor, wilson_interval
from edgefer.device.faces import FaceFinder
from edgefer.device.live import RunOptions, run_stream
from edgefer.device.pipeline import EmotionPipeline
from edgefer.device.profiles import DeviceSettings
from edgefer.device.rates import Rates
from edgefer.device.runtime import Classifier
from edgefer.device.serve import LiveState
from edgefer.device.sources import Frame
from edgefer.evaluation.field_parity import FieldOptions, field_parity

PROMTOOL = shutil.which("promtool")


def faces(per_class):
    rng = np.random.default_rng(0)
    return [make_face(rng, c) for _ in range(per_class) for c in range(7)]


def monitor(every=1, **options):
    return DriftMonitor(Classifier(TINY_FLOAT), Classifier(TINY_SWAPPED), every=every, **options)


def test_the_swapped_model_agrees_on_five_classes_of_seven_exactly():
    shadow, crops = monitor(), faces(per_class=10)
    shadow.observe(crops, Classifier(TINY_SWAPPED).predict(crops))
    figures = shadow.figures()
    assert figures["faces_compared"] == 70 and figures["agreement"] == round(50 / 70, 4)
    expected = np.zeros((7, 7), int)
    expected[np.arange(2, 7), np.arange(2, 7)] = 10
    expected[1, 0] = expected[0, 1] = 10  # int8 says disgust for angry faces and angry for disgust faces
    assert figures["flip_matrix"] == expected.tolist()
    assert figures["flips"] == {"angry->disgust": 10, "disgust->angry": 10}
    assert figures["agreement_ci95"] == [round(v, 4) for v in wilson_interval(50, 70)]


def test_every_nth_face_is_compared():
    shadow, crops = monitor(every=3), faces(per_class=10)
    for crop in crops:  # one face a frame
        shadow.observe([crop], Classifier(TINY_SWAPPED).predict(crop))
    assert shadow.figures()["faces_seen"] == 70 and shadow.figures()["faces_compared"] == 24  # faces 1, 4, ..., 70


def test_the_warning_fires_once_and_only_once():
    warnings = []
    shadow, crops = monitor(min_agreement=0.9, min_faces=14, warn=warnings.append), faces(per_class=10)
    for crop in crops:
        shadow.observe([crop], Classifier(TINY_SWAPPED).predict(crop))
    assert len(warnings) == 1 and "under --drift-min-agreement 0.9" in warnings[0]
    assert shadow.figures()["warning"] is True
    quiet = monitor(min_agreement=0.5, min_faces=14, warn=warnings.append)
    quiet.observe(crops, Classifier(TINY_SWAPPED).predict(crops))
    assert len(warnings) == 1  # 5/7 agree: its upper bound is above 0.5


def test_saturation_counts_the_int8_input_at_its_limits():
    """tiny_int8's input scale puts pixel 255 past 127 and pixel 100 inside the range: a face half
    of each saturates exactly half of its input values."""
    face = np.full((48, 48), 100, np.uint8)
    face[:, :24] = 255
    shadow = DriftMonitor(Classifier(TINY_FLOAT), Classifier(TINY_INT8))
    shadow.observe([face], Classifier(TINY_INT8).predict(face))
    assert shadow.figures()["saturation"]["input"] == 0.5
    float_pair = DriftMonitor(Classifier(TINY_FLOAT), Classifier(TINY_FLOAT))
    float_pair.observe([face], Classifier(TINY_FLOAT).predict(face))
    assert float_pair.figures()["saturation"] == {"input": None, "output": None}


def test_a_float_model_that_does_not_fit_is_refused():
    with pytest.raises(EdgeferError, match="labels"):
        DriftMonitor(Classifier(os.path.join(FIXTURES, "tiny_rgb_float32.tflite")), Classifier(TINY_INT8))


class BoxDetector:
    """Finds one face where ``stripe_frame`` drew it: the box the 10% margin grows to the drawn face."""

    name = "fixed"

    def detect(self, frame):
        return [Detection([48, 48, 160, 160], 0.9, {}, "fixed")]


def stripe_frame(face):
    """A 256x256 frame with ``face`` enlarged 4x at (32, 32)."""
    frame = np.full((256, 256, 3), 30, np.uint8)
    frame[32:224, 32:224] = cv2.cvtColor(cv2.resize(face, (192, 192), interpolation=cv2.INTER_NEAREST),
                                         cv2.COLOR_GRAY2BGR)
    return frame


def stripe_pipeline():
    pipeline = EmotionPipeline(Classifier(TINY_SWAPPED), FaceFinder(BoxDetector()))
    pipeline.shadow = DriftMonitor(Classifier(TINY_FLOAT), pipeline.classifier, every=1)
    return pipeline


def test_a_run_with_drift_reports_exact_figures_in_its_summary_and_metrics():
    pipeline = stripe_pipeline()
    frames = [Frame(stripe_frame(face), "generated", still=True) for face in faces(per_class=3)]
    summary = run_stream(frames, pipeline, options=RunOptions(), out=io.StringIO())
    assert summary["drift"]["faces_compared"] == 21 and summary["drift"]["agreement"] == round(15 / 21, 4)
    assert summary["drift"]["flips"] == {"angry->disgust": 3, "disgust->angry": 3}
    state = LiveState()
    state.publish({"frame": 0, "faces": []}, None, Rates(), {"detector": 0.0, "classifier": 0.0}, summary["drift"])
    metrics = state.metrics()
    assert f"edgefer_drift_agreement {round(15 / 21, 4)}" in metrics and "edgefer_drift_faces_total 21" in metrics
    assert 'edgefer_drift_flips_total{int8="angry",float="disgust"} 3' in metrics
    assert json.loads(state.latest())["drift"]["faces_compared"] == 21
    if PROMTOOL:
        result = subprocess.run([PROMTOOL, "check", "metrics"], input=metrics.encode(), capture_output=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_an_edge_tpu_file_is_checked_against_the_float_model_on_the_cpu(monkeypatch):
    """The CPU stands in for the Edge TPU delegate; the float shadow must be built without it."""
    asked = []
    real = runtime.make_interpreter

    def stand_in(path, delegate=None, threads=None):
        asked.append((os.path.basename(path), delegate))
        interpreter, name = real(path, None, threads)
        return interpreter, name + ("+edgetpu (CPU stand-in)" if delegate else "")

    monkeypatch.setattr(runtime, "make_interpreter", stand_in)
    settings = DeviceSettings(TINY_SWAPPED, delegate="edgetpu", detector="haar", drift_model=TINY_FLOAT, drift_every=1)
    pipeline = assemble(settings)
    assert asked == [("tiny_swapped_int8.tflite", "edgetpu"), ("tiny_float32.tflite", None)]
    crops = faces(per_class=1)
    pipeline.shadow.observe(crops, pipeline.classifier.predict(crops))
    assert pipeline.shadow.figures()["agreement"] == round(5 / 7, 4)


@pytest.fixture
def portraits(tmp_path):
    folder = tmp_path / "portraits"
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"p{i}.jpg"), framed_face((30 + 40 * i, 40 + 10 * i), size=150 + 10 * i, flip=i % 2))
    return str(folder)


def test_run_drift_and_parity_source_agree_on_the_same_faces(portraits, tmp_path):
    run = edgefer_without_tensorflow("run", "--source", portraits, "--drift", "fer2013-lite0", "--drift-every", "1",
                                     "--json", "--no-display")
    assert run.returncode == 0, run.stderr[-2000:]
    drift = json.loads(next(line for line in run.stderr.splitlines() if line.startswith("summary: "))[9:])["drift"]
    parity = edgefer_without_tensorflow("parity", "--model", "fer2013-lite0", "--source", portraits, "--json",
                                        "--out", str(tmp_path / "field"))
    assert parity.returncode == 0, parity.stderr[-2000:]
    report = json.loads(parity.stdout)
    assert report["faces_compared"] == drift["faces_compared"] >= 6
    for key in ("agreement", "flip_matrix", "max_difference_mean", "saturation"):
        assert report[key] == drift[key], key
    assert os.path.exists(tmp_path / "field" / "report.md")


def test_parity_source_fails_under_min_agreement(monkeypatch, tmp_path):
    monkeypatch.setattr("edgefer.device.assemble.make_detector", lambda *args: FaceFinder(BoxDetector()))
    frames = [Frame(stripe_frame(face), "generated", still=True) for face in faces(per_class=2)]
    settings = DeviceSettings(TINY_SWAPPED)
    failed = field_parity(TINY_FLOAT, settings, frames, "generated", FieldOptions(0.75, str(tmp_path / "a")))
    assert failed["agreement"] == round(10 / 14, 4) and not failed["passed"]
    passed = field_parity(TINY_FLOAT, settings, frames, "generated", FieldOptions(0.7, str(tmp_path / "b")))
    assert passed["passed"] and passed["flips"] == {"angry->disgust": 2, "disgust->angry": 2}
    report = json.load(open(tmp_path / "b" / "report.json"))
    assert report["faces_compared"] == 14 and "| angry | 2 | 2 | disgust: 2 |" in open(tmp_path / "b" / "report.md").read()


def test_parity_source_without_faces_exits_1(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    cv2.imwrite(str(folder / "wall.jpg"), np.full((240, 320, 3), 128, np.uint8))
    result = edgefer_without_tensorflow("parity", "--model", "fer2013-lite0", "--source", str(folder),
                                        "--out", str(tmp_path / "none"))
    assert result.returncode == 1 and "0 faces in 1 frames" in result.stdout and "FAIL" in result.stdout
