import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

from helpers import CLEAN_ENV, REPO, assert_one_line_error, edgefer  # noqa: E402

RUN_FILES = ("model.keras", "config.json", "history.csv", "curves.png", "metrics.json", "confusion.png",
             "checkpoint.keras", "state.json")


def read_history(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as f:
        return list(csv.DictReader(f))


def test_training_writes_every_file_and_lowers_the_loss(tiny_run):
    for name in RUN_FILES:
        assert os.path.getsize(os.path.join(tiny_run, name)) > 0, name
    history = read_history(tiny_run)
    assert [int(r["epoch"]) for r in history] == [1, 2, 3, 4]
    assert float(history[-1]["loss"]) < float(history[0]["loss"])
    metrics = json.load(open(os.path.join(tiny_run, "metrics.json")))
    assert metrics["split"] == "val" and metrics["n"] == 150
    for key in ("accuracy", "macro_precision", "macro_recall", "macro_f1"):
        assert 0.0 <= metrics[key] <= 1.0
    assert set(metrics["per_class"]["happy"]) == {"precision", "recall", "f1", "support"}
    config = json.load(open(os.path.join(tiny_run, "config.json")))
    assert config["labels"][3] == "happy" and config["image_size"] == 64
    assert config["normalisation"] == {"input_range": [0, 255], "mean": 127.0, "scale": 128.0}
    assert config["dataset"]["split_sizes"] == {"train": 1500, "val": 150}


def test_evaluate_reproduces_the_validation_metrics(tiny_run, mini_fer2013, tmp_path):
    result = edgefer("evaluate", tiny_run, mini_fer2013, "--split", "val", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    again = json.load(open(tmp_path / "metrics.json"))
    saved = json.load(open(os.path.join(tiny_run, "metrics.json")))
    assert again["accuracy"] == pytest.approx(saved["accuracy"], abs=1e-9)
    assert again["confusion"] == saved["confusion"]
    assert (tmp_path / "confusion.png").exists()


def test_interrupted_run_resumes_where_it_stopped_with_its_frozen_stages(mini_fer2013, tmp_path):
    run_dir = str(tmp_path / "run")
    command = [sys.executable, "-m", "edgefer", "train", mini_fer2013, "--out", run_dir, "--epochs", "3",
               "--limit", "200", "--image-size", "48", "--batch-size", "50", "--freeze", "2"]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env=CLEAN_ENV)
    state_path = os.path.join(run_dir, "state.json")
    deadline = time.time() + 600
    while time.time() < deadline and not os.path.exists(state_path):
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)  # Ctrl-C
    stopped = time.time()
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and "continue with --resume" in stderr and "Traceback" not in stderr
    assert time.time() - stopped < 20, "the process lingered after Ctrl-C"
    assert not [name for name in os.listdir(run_dir) if name.startswith(".")], "a temporary file was left"
    state = json.load(open(state_path))
    assert 1 <= state["epochs_done"] < 3, "the run was not interrupted mid-way"

    result = edgefer("train", mini_fer2013, "--out", run_dir, "--resume")
    assert result.returncode == 0, result.stderr[-2000:]
    assert [int(r["epoch"]) for r in read_history(run_dir)] == [1, 2, 3]
    assert json.load(open(state_path))["epochs_done"] == 3

    from edgefer.training.model import build_backbone, load_model

    trained = load_model(os.path.join(run_dir, "checkpoint.keras")).get_layer("backbone")  # the resumed epochs' end
    start = build_backbone("efficientnet-lite0", "imagenet", 48)

    def same(name):
        return all(np.array_equal(a, b) for a, b in zip(trained.get_layer(name).get_weights(),
                                                        start.get_layer(name).get_weights()))
    assert same("conv_stem_conv2d") and same("blocks_1_1_conv_pwl_bn")  # stem and stages 1-2, statistics too
    assert not same("blocks_2_0_conv_pw_conv2d") and not same("blocks_6_0_conv_pw_bn")


def test_starting_over_an_existing_run_is_refused(tiny_run, mini_fer2013):
    assert_one_line_error(edgefer("train", mini_fer2013, "--out", tiny_run), "already holds a run")


def test_resume_without_a_run_is_refused(mini_fer2013, tmp_path):
    assert_one_line_error(edgefer("train", mini_fer2013, "--out", str(tmp_path), "--resume"), "nothing to resume")


def test_evaluate_refuses_a_dataset_with_other_labels(tiny_run, real_ferplus, tmp_path):
    result = edgefer("evaluate", tiny_run, real_ferplus, "--split", "val", "--out", str(tmp_path / "e"))
    assert_one_line_error(result, "dataset labels", "differ from the model's")
    assert not (tmp_path / "e").exists()


def test_a_text_file_named_model_keras_is_not_called_missing(tiny_run, mini_fer2013, tmp_path):
    fake = tmp_path / "run"
    fake.mkdir()
    (fake / "model.keras").write_text("not a model")
    (fake / "config.json").write_text(open(os.path.join(tiny_run, "config.json")).read())
    assert_one_line_error(edgefer("evaluate", str(fake), mini_fer2013), "not a Keras model file")


def test_a_student_trains_on_a_teachers_probabilities(mini_fer2013, tmp_path):
    from helpers import TINY_FLOAT, TINY_SWAPPED

    run_dir = str(tmp_path / "student")
    result = edgefer("train", mini_fer2013, "--out", run_dir, "--epochs", "1", "--limit", "200", "--image-size", "48",
                     "--weights", "none", "--teacher", TINY_FLOAT, "--teacher", TINY_SWAPPED, "--distill", "0.5",
                     "--degrade", "0.5")
    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.load(open(os.path.join(run_dir, "config.json")))["train"]
    assert (saved["teachers"], saved["distill"], saved["degrade"]) == ([TINY_FLOAT, TINY_SWAPPED], 0.5, 0.5)
    assert [int(r["epoch"]) for r in read_history(run_dir)] == [1]
    kept = np.load(os.path.join(run_dir, "teacher-probabilities.npy"))
    assert kept.shape == (200, 7) and np.isfinite(kept).all() and kept.max() > 0  # one row per training face


def test_a_cut_backbone_trains_and_becomes_an_int8_file_the_runtime_runs(mini_fer2013, tiny_tflite, tmp_path):
    from edgefer.device.runtime import Classifier

    run_dir = str(tmp_path / "cut")
    result = edgefer("train", mini_fer2013, "--out", run_dir, "--epochs", "1", "--limit", "200", "--image-size", "64",
                     "--stages", "5", "--head-kernel", "1", "--weights", "none")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.load(open(os.path.join(run_dir, "config.json")))["train"]["stages"] == 5
    result = edgefer("quantize", run_dir, "--data", mini_fer2013, "--calibration", tiny_tflite["manifest"],
                     "--out", str(tmp_path), "--modes", "int8", "--name", "cut")
    assert result.returncode == 0, result.stderr[-2000:]
    classifier = Classifier(str(tmp_path / "cut_int8.tflite"))
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48)).astype(np.uint8)
    probs = classifier.predict(faces)
    assert probs.shape == (3, 7) and np.allclose(probs.sum(axis=1), 1, atol=0.05)
    assert os.path.getsize(tmp_path / "cut_int8.tflite") < os.path.getsize(tiny_tflite["int8"]) / 3


def test_consistent_teachers_answer_on_the_augmented_faces_the_student_gets():
    from edgefer.data.datasets import Split
    from edgefer.training.config import TrainConfig
    from edgefer.training.train import make_dataset

    seen, busy = [], threading.Lock()

    def teacher(faces):  # like an interpreter, it must never be entered twice at once
        assert busy.acquire(blocking=False), "the teacher was called while answering"
        time.sleep(0.01)
        seen.append(faces.copy())
        busy.release()
        answers = np.zeros((len(faces), 7), np.float32)
        answers[:, 0] = 1
        return answers

    images = np.random.default_rng(0).integers(0, 256, (40, 48, 48)).astype(np.uint8)
    split = Split(images, np.full(40, 3), [str(i) for i in range(40)])
    cfg = TrainConfig(data="", geometric=True, erase=0.5, distill=0.25)
    batches = list(make_dataset(split, 7, np.ones(7), 5, True, cfg, teachers=teacher).as_numpy_iterator())
    faces = np.concatenate([x for x, _, _ in batches])
    assert len(seen) == 8 and np.array_equal(np.concatenate(seen), faces)  # the very faces the student is shown
    assert not any(np.allclose(face[..., 0], image) for face in faces for image in images)  # augmented ones
    targets = np.concatenate([y for _, y, _ in batches])
    assert np.allclose(targets[:, 0], 0.25) and np.allclose(targets[:, 3], 0.75) and np.allclose(targets.sum(1), 1)


def test_a_student_of_consistent_teachers_trains_without_a_cache_of_their_answers(mini_fer2013, tmp_path):
    from helpers import TINY_FLOAT

    run_dir = str(tmp_path / "consistent")
    result = edgefer("train", mini_fer2013, "--out", run_dir, "--epochs", "1", "--limit", "200", "--image-size", "48",
                     "--weights", "none", "--teacher", TINY_FLOAT, "--consistent-teacher", "--geometric")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.load(open(os.path.join(run_dir, "config.json")))["train"]["consistent_teacher"] is True
    assert not os.path.exists(os.path.join(run_dir, "teacher-probabilities.npy"))
    assert [int(r["epoch"]) for r in read_history(run_dir)] == [1]


def test_fer_plus_votes_become_part_of_the_training_targets(mini_fer2013, real_ferplus, tmp_path):
    from edgefer.training.config import TrainConfig
    from edgefer.training.train import training_splits

    cfg = TrainConfig(data=mini_fer2013, votes=real_ferplus, votes_weight=0.4, limit=200)
    _, train_split, _, _ = training_splits(cfg, str(tmp_path))
    own = train_split.soft[np.arange(200), train_split.labels]
    assert np.allclose(train_split.soft.sum(axis=1), 1) and (own >= 0.6 - 1e-6).all()
    assert (own < 1 - 1e-6).mean() > 0.3  # the crowd often sees more than the one FER2013 label


def test_a_run_with_votes_records_them_and_votes_for_fer_plus_itself_are_refused(mini_fer2013, real_ferplus, tmp_path):
    run_dir = str(tmp_path / "votes")
    result = edgefer("train", mini_fer2013, "--out", run_dir, "--epochs", "1", "--limit", "200", "--image-size", "48",
                     "--weights", "none", "--votes", real_ferplus, "--votes-weight", "0.3")
    assert result.returncode == 0, result.stderr[-2000:]
    found = int(result.stderr.split("FER+ votes found for ")[1].split()[0])
    assert 190 <= found <= 200
    saved = json.load(open(os.path.join(run_dir, "config.json")))["train"]
    assert (saved["votes"], saved["votes_weight"]) == (real_ferplus, 0.3)
    refused = edgefer("train", real_ferplus, "--out", str(tmp_path / "no"), "--limit", "50", "--votes", real_ferplus)
    assert_one_line_error(refused, "--votes blends FER+ votes into FER2013's seven classes")
    assert not (tmp_path / "no").exists()  # a refused run leaves nothing behind
