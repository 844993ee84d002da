"""Shared fixtures: generated datasets, the real datasets when present, and a tiny trained model.

Tests that use the real datasets or train a model are marked ``slow`` here, by the fixtures
they ask for; modules that need TensorFlow mark themselves. ``pytest -m "not slow"`` runs the
fast tier, which needs neither TensorFlow nor the datasets.
"""

import os
import shutil
import subprocess
import tarfile

import pytest
from helpers import REPO, edgefer, write_kaggle_folders

SHARED_DATASETS = os.path.join(os.path.dirname(REPO), "shared", "datasets")
DATA_CACHE = os.path.expanduser("~/.cache/edgefer-data")
SLOW_FIXTURES = {"real_fer2013", "real_ferplus", "real_photos", "mini_fer2013", "tiny_run", "tiny_tflite"}


def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def archive_sum(name):
    """The archive's line in ../shared/datasets/SHA256SUMS ("" when there is none)."""
    sums = os.path.join(SHARED_DATASETS, "SHA256SUMS")
    if not os.path.exists(sums):
        return ""
    with open(sums) as f:
        return next((line.split()[0] for line in f if line.strip().endswith(f"{name}.tar.gz")), "")


def data_root():
    """EDGEFER_DATA if set; else the cache, filled from ../shared/datasets when that exists. A
    cached dataset whose archive has changed since it was extracted (its SHA256SUMS line differs
    from the one stamped at extraction) is extracted again."""
    if "EDGEFER_DATA" in os.environ:
        return os.environ["EDGEFER_DATA"]
    if not os.path.exists(os.path.join(SHARED_DATASETS, "fer2013.tar.gz")):
        return DATA_CACHE if os.path.isdir(os.path.join(DATA_CACHE, "fer2013")) else None
    for name in ("fer2013", "ferplus", "photos"):
        folder, stamp = os.path.join(DATA_CACHE, name), os.path.join(DATA_CACHE, f".{name}.sha256")
        expected = archive_sum(name)
        current = open(stamp).read().strip() if os.path.exists(stamp) else None
        if os.path.isdir(folder) and current == expected:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(DATA_CACHE, exist_ok=True)
        with tarfile.open(os.path.join(SHARED_DATASETS, f"{name}.tar.gz")) as tar:
            tar.extractall(DATA_CACHE, filter="data")
        with open(stamp, "w") as f:
            f.write(expected)
    return DATA_CACHE


def _dataset(name):
    root = data_root()
    if root is None or not os.path.isdir(os.path.join(root, name)):
        pytest.skip(f"{name} not found: set EDGEFER_DATA or place ../shared/datasets beside the repository")
    return os.path.join(root, name)


@pytest.fixture(scope="session")
def real_fer2013():
    return _dataset("fer2013")


@pytest.fixture(scope="session")
def real_ferplus():
    return _dataset("ferplus")


@pytest.fixture(scope="session")
def real_photos():
    return _dataset("photos")


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
    """A short real training run (EfficientNet-Lite0, ImageNet weights) on mini FER2013, each
    epoch's weights kept."""
    run_dir = str(tmp_path_factory.mktemp("runs") / "tiny")
    result = edgefer("train", mini_fer2013, "--out", run_dir, "--epochs", "4", "--batch-size", "32",
                     "--image-size", "64", "--seed", "1", "--keep-epochs")
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


@pytest.fixture
def full_disk(tmp_path):
    """A 64 KiB tmpfs, where the system allows mounting one."""
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)
