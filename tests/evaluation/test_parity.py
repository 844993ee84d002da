"""Parity on the committed tiny models, whose predictions are known: the float and int8 files
label every generated face right; the swapped file calls angry faces disgust and back."""

import json

import numpy as np
import pytest
from helpers import TINY_FLOAT, TINY_INT8, TINY_SWAPPED, assert_one_line_error, edgefer_without_tensorflow, write_ferplus

from edgefer.evaluation.parity import ParityOptions, bootstrap_drop_ci, compare, parity

LABELS = ["a", "b", "c"]


def test_compare_on_known_probabilities():
    y = np.array([0, 0, 1, 2])
    probs_float = np.eye(3)[[0, 0, 1, 2]]
    probs_quant = np.eye(3)[[0, 1, 1, 0]] * 0.9 + 0.1 / 3
    report = compare(probs_float, probs_quant, y, LABELS)
    assert (report["accuracy_float"], report["accuracy_quant"], report["agreement"]) == (1.0, 0.5, 0.5)
    assert report["drop_pp"] == pytest.approx(50.0)
    assert report["max_abs_dprob"] == pytest.approx(1 - 0.1 / 3)


def test_bootstrap_interval_holds_the_drop_and_is_zero_width_without_disagreement():
    same = np.ones(50, bool)
    assert bootstrap_drop_ci(same, same) == [0.0, 0.0]
    lo, hi = bootstrap_drop_ci(np.ones(100, bool), np.arange(100) % 10 != 0)  # drop 10 pp
    assert lo < 10.0 < hi and lo > 0


def test_parity_of_matching_files_passes(kaggle_folders, tmp_path):
    report = parity(TINY_FLOAT, TINY_INT8, kaggle_folders, options=ParityOptions(split="test", out_dir=str(tmp_path)))
    assert report["n"] == 14 and report["accuracy_float"] == 1.0 and report["accuracy_quant"] == 1.0
    assert report["drop_pp"] == 0.0 and report["agreement"] == 1.0 and report["passed"]
    assert report["per_class"]["angry"]["recall_quant"] == 1.0


def test_parity_of_the_swapped_file_measures_its_two_wrong_classes(kaggle_folders, tmp_path):
    report = parity(TINY_FLOAT, TINY_SWAPPED, kaggle_folders,
                    options=ParityOptions(split="test", out_dir=str(tmp_path), max_drop=30))
    assert report["accuracy_quant"] == pytest.approx(10 / 14)
    assert report["drop_pp"] == pytest.approx(400 / 14) and report["agreement"] == pytest.approx(10 / 14)
    assert report["passed"]  # 28.6 pp <= 30
    for label in ("angry", "disgust"):
        assert report["per_class"][label]["recall_quant"] == 0.0 and report["per_class"][label]["recall_float"] == 1.0
    assert report["quant"]["confusion"][0][1] == 2 and report["quant"]["confusion"][1][0] == 2
    rows = (tmp_path / "predictions.csv").read_text().splitlines()
    assert len(rows) == 15 and sum(r.split(",")[2] != r.split(",")[3] for r in rows[1:]) == 4
    assert json.loads((tmp_path / "report.json").read_text())["drop_pp"] == pytest.approx(400 / 14)


def test_the_gate_exits_1_without_tensorflow(kaggle_folders, tmp_path):
    result = edgefer_without_tensorflow("parity", TINY_FLOAT, TINY_SWAPPED, "--data", kaggle_folders,
                                        "--out", str(tmp_path / "p"), "--max-drop", "25")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "drop +28.57 pp" in result.stdout and "FAIL" in result.stdout
    assert "Plots not drawn: matplotlib is not installed" in (tmp_path / "p" / "report.md").read_text()
    assert not list((tmp_path / "p").glob("*.png")) and (tmp_path / "p" / "predictions.csv").exists()


def test_parity_refuses_a_dataset_with_other_labels(tmp_path):
    ferplus = write_ferplus(str(tmp_path / "ferplus"), np.random.default_rng(0))
    result = edgefer_without_tensorflow("parity", TINY_FLOAT, TINY_INT8, "--data", ferplus, "--out", str(tmp_path / "p"))
    assert_one_line_error(result, "dataset labels", "differ from the model's")
    assert not (tmp_path / "p").exists()


def test_parity_reads_ferplus_in_seven_classes_for_a_fer2013_model(tmp_path):
    ferplus = write_ferplus(str(tmp_path / "ferplus"), np.random.default_rng(0))
    result = edgefer_without_tensorflow("parity", TINY_FLOAT, TINY_INT8, "--data", ferplus, "--ferplus-mode", "seven",
                                        "--out", str(tmp_path / "p"), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert (report["dataset"], report["split"], report["n"]) == ("ferplus seven", "test", 2)
    assert report["accuracy_float"] == report["accuracy_quant"]


def test_parity_takes_a_bundled_models_name(kaggle_folders, tmp_path):
    result = edgefer_without_tensorflow("parity", "--model", "nope", "--data", kaggle_folders)
    assert_one_line_error(result, "no bundled model 'nope'")
    result = edgefer_without_tensorflow("parity", TINY_FLOAT, "--data", kaggle_folders)
    assert_one_line_error(result, "needs FLOAT_TFLITE and QUANT_TFLITE, or --model NAME")


def test_parity_refuses_the_two_files_swapped(kaggle_folders, tmp_path):
    result = edgefer_without_tensorflow("parity", TINY_INT8, TINY_FLOAT, "--data", kaggle_folders, "--out", str(tmp_path / "p"))
    assert_one_line_error(result, "is the int8 file", "give the float32 file first")
    assert not (tmp_path / "p").exists()


def test_a_full_disk_leaves_no_half_made_report(kaggle_folders, full_disk):
    with open(full_disk / "filler", "wb", buffering=0) as filler:  # fill the disk to the last byte
        with pytest.raises(OSError):
            while True:
                filler.write(b"x" * 1024)
    out = full_disk / "report"
    result = edgefer_without_tensorflow("parity", TINY_FLOAT, TINY_INT8, "--data", kaggle_folders, "--out", str(out))
    assert result.returncode == 1 and "No space left" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
