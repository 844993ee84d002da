"""Shared fixtures: generated datasets, the real datasets when present, and a tiny trained model."""

import os
import subprocess
import sys
import tarfile

import cv2
import numpy as np
import pytest

from edgefer.data.datasets import FER2013_LABELS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED_DATASETS = os.path.join(os.path.dirname(REPO), "shared", "datasets")
DATA_CACHE = os.path.expanduser("~/.cache/edgefer-data")


def data_root():
    """EDGEFER_DATA if set; else the cache, filled from ../shared/datasets when that exists."""
    root = os.environ.get("EDGEFER_DATA", DATA_CACHE)
    if not os.path.isdir(os.path.join(root, "fer2013")):
        archive = os.path.join(SHARED_DATASETS, "fer2013.tar.gz")
        if "EDGEFER_DATA" in os.environ or not os.path.exists(archive):
            return None
        os.makedirs(root, exist_ok=True)
        for name in ("fer2013.tar.gz", "ferplus.tar.gz"):
            with tarfile.open(os.path.join(SHARED_DATASETS, name)) as tar:
                tar.extractall(root, filter="data")
    return root


@pytest.fixture(scope="session")
def real_fer2013():
    root = data_root()
    if root is None:
        pytest.skip("FER2013 not found: set EDGEFER_DATA or place ../shared/datasets beside the repository")
    return os.path.join(root, "fer2013")


@pytest.fixture(scope="session")
def real_ferplus():
    root = data_root()
    if root is None or not os.path.isdir(os.path.join(root, "ferplus")):
        pytest.skip("FER+ not found: set EDGEFER_DATA or place ../shared/datasets beside the repository")
    return os.path.join(root, "ferplus")


def make_face(rng, label_index):
    """A 48x48 image whose brightness pattern depends on the class, so it is learnable."""
    image = rng.integers(0, 60, (48, 48)).astype(np.uint8)
    image[:, label_index * 6: label_index * 6 + 8] += 150
    return image


def write_kaggle_folders(root, per_class=(6, 2, 2), rng=None):
    """FER2013 in Kaggle's layout: train/<class>/Training_*.jpg, test/<class>/{Public,Private}Test_*.jpg."""
    rng = rng or np.random.default_rng(0)
    n_train, n_public, n_private = per_class
    for c, label in enumerate(FER2013_LABELS):
        for folder, prefix, n in (("train", "Training", n_train), ("test", "PublicTest", n_public),
                                  ("test", "PrivateTest", n_private)):
            os.makedirs(os.path.join(root, folder, label), exist_ok=True)
            for i in range(n):
                cv2.imwrite(os.path.join(root, folder, label, f"{prefix}_{c}{i:04d}.png"), make_face(rng, c))
    return root


@pytest.fixture
def kaggle_folders(tmp_path):
    return write_kaggle_folders(str(tmp_path / "fer2013"))


@pytest.fixture(scope="session")
def mini_fer2013(tmp_path_factory, real_fer2013):
    """A small real FER2013 in Kaggle's layout: 1500 train, 150 PublicTest, 300 PrivateTest images
    (class-stratified, links to the real files)."""
    from edgefer.data.datasets import load_dataset, stratified_indices

    root = str(tmp_path_factory.mktemp("mini") / "fer2013")
    dataset = load_dataset(real_fer2013)
    for split, n, folder in (("train", 1500, "train"), ("val", 150, "test"), ("test", 300, "test")):
        part = dataset.splits[split]
        for i in stratified_indices(part.labels, n, seed=1):
            label = dataset.labels[part.labels[i]]
            source = os.path.join(real_fer2013, folder, label, part.ids[i] + ".jpg")
            target_dir = os.path.join(root, folder, label)
            os.makedirs(target_dir, exist_ok=True)
            os.symlink(source, os.path.join(target_dir, part.ids[i] + ".jpg"))
    return root


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mini_fer2013):
    """A short real training run (EfficientNet-Lite0, ImageNet weights) on mini FER2013."""
    run_dir = str(tmp_path_factory.mktemp("runs") / "tiny")
    result = edgefer("train", mini_fer2013, "--out", run_dir, "--epochs", "4", "--batch-size", "32",
                     "--image-size", "64", "--seed", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    return run_dir


@pytest.fixture(scope="session")
def tiny_tflite(tmp_path_factory, tiny_run, mini_fer2013):
    """float32 and int8 TFLite files of ``tiny_run``, calibrated on 128 training images."""
    out = str(tmp_path_factory.mktemp("tflite"))
    manifest = os.path.join(out, "calibration.txt")
    assert edgefer("calibrate", mini_fer2013, "--out", manifest, "--size", "128").returncode == 0
    result = edgefer("quantize", tiny_run, "--data", mini_fer2013, "--calibration", manifest, "--out", out,
                     "--modes", "float32,int8", "--name", "tiny")
    assert result.returncode == 0, result.stderr[-3000:]
    return {"float32": os.path.join(out, "tiny_float32.tflite"), "int8": os.path.join(out, "tiny_int8.tflite"),
            "manifest": manifest, "dir": out}


def edgefer(*args, env=None, timeout=1800):
    """Run the edgefer CLI in a subprocess; returns the CompletedProcess (text mode)."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", "edgefer", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=REPO)


def assert_one_line_error(result, *fragments):
    """A non-zero exit with exactly one ``error:`` line on stderr that names each fragment."""
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert lines and lines[-1].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]
