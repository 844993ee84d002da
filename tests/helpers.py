"""Helpers shared by the tests: the CLI in a subprocess, with or without TensorFlow, and
generated faces whose class is visible in their pixels."""

import csv
import json
import os
import subprocess
import sys

import cv2
import numpy as np

from edgefer.data.datasets import FER2013_LABELS

# The environment before any test module imports TensorFlow, which changes it (LD_LIBRARY_PATH,
# TF2_BEHAVIOR, ...): every CLI subprocess gets this one, as a user's shell would.
CLEAN_ENV = dict(os.environ)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
TINY_FLOAT = os.path.join(FIXTURES, "tiny_float32.tflite")
TINY_INT8 = os.path.join(FIXTURES, "tiny_int8.tflite")
TINY_SWAPPED = os.path.join(FIXTURES, "tiny_swapped_int8.tflite")
HEAVY_MODULES = ("tensorflow", "keras", "kimm")
NOT_ON_A_DEVICE = (*HEAVY_MODULES, "matplotlib")  # the device extra installs none of them

# Runs the CLI (or imports modules) with an import hook that refuses the heavy modules.
REFUSE_HEAVY = """
import sys
HEAVY = {heavy!r}
class RefuseHeavy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY:
            raise ImportError(name + " is refused in this test")
sys.meta_path.insert(0, RefuseHeavy())
"""
CLI_WITHOUT_HEAVY = REFUSE_HEAVY.format(heavy=NOT_ON_A_DEVICE) + """
from edgefer.cli import main
try:
    main()
finally:
    assert not set(sys.modules) & set(HEAVY), sorted(set(sys.modules) & set(HEAVY))
"""


def edgefer(*args, env=None, timeout=1800, cwd=REPO):
    """Run the edgefer CLI in a subprocess; returns the CompletedProcess (text mode)."""
    full_env = {**CLEAN_ENV, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run([sys.executable, "-m", "edgefer", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=cwd)


def edgefer_without_tensorflow(*args, cwd=REPO, env=None):
    """The CLI in a subprocess that cannot import TensorFlow, Keras, kimm or matplotlib, as on a device."""
    return subprocess.run([sys.executable, "-c", CLI_WITHOUT_HEAVY, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600, env={**CLEAN_ENV, **(env or {})})


def summary_of(result):
    """The JSON summary `edgefer run` writes to stderr."""
    line = next(line for line in result.stderr.splitlines() if line.startswith("summary: "))
    return json.loads(line[len("summary: "):])


def assert_one_line_error(result, *fragments):
    """A non-zero exit with exactly one ``error:`` line on stderr that names each fragment."""
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert lines and lines[-1].startswith("error: "), result.stderr
    assert sum(line.startswith("error: ") for line in lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[-1], lines[-1]


def make_face(rng, label_index):
    """A 48x48 image whose brightness pattern depends on the class, so it is learnable: a
    bright stripe over columns 6c .. 6c+7 on dark noise."""
    image = rng.integers(0, 60, (48, 48)).astype(np.uint8)
    image[:, label_index * 6: label_index * 6 + 8] += 150
    return image


def write_kaggle_folders(root, per_class=(6, 2, 2), rng=None):
    """FER2013 in Kaggle's layout: train/<class>/Training_*.png, test/<class>/{Public,Private}Test_*.png."""
    rng = rng or np.random.default_rng(0)
    n_train, n_public, n_private = per_class
    for c, label in enumerate(FER2013_LABELS):
        for folder, prefix, n in (("train", "Training", n_train), ("test", "PublicTest", n_public),
                                  ("test", "PrivateTest", n_private)):
            os.makedirs(os.path.join(root, folder, label), exist_ok=True)
            for i in range(n):
                cv2.imwrite(os.path.join(root, folder, label, f"{prefix}_{c}{i:04d}.png"), make_face(rng, c))
    return root


def listing(folder):
    """Every path under ``folder`` with its size, to compare before and after a command."""
    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = os.path.getsize(path) if os.path.isfile(path) else -1
    return found


def write_ferplus(root, rng):
    votes = {  # name: votes over neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
        "fer0000000.png": [0, 8, 2, 0, 0, 0, 0, 0, 0, 0],  # happy
        "fer0000001.png": [1, 0, 0, 0, 0, 0, 0, 6, 3, 0],  # contempt
        "fer0000002.png": [0, 0, 0, 0, 0, 0, 0, 0, 2, 8],  # not a face: dropped
        "fer0000003.png": [5, 0, 0, 5, 0, 0, 0, 0, 0, 0],  # tie neutral/sad: no majority; first wins the plurality
        "fer0000004.png": [4, 1, 1, 1, 1, 0, 0, 0, 0, 0],  # neutral: a majority once single votes are dropped
    }
    for folder in ("FER2013Train", "FER2013Valid", "FER2013Test"):
        os.makedirs(os.path.join(root, folder))
        with open(os.path.join(root, folder, "label.csv"), "w", newline="") as f:
            writer = csv.writer(f)
            for i, (name, v) in enumerate(votes.items()):
                cv2.imwrite(os.path.join(root, folder, name), make_face(rng, i))
                writer.writerow([name, "(0, 0, 48, 48)", *v])
    return root


OWN_LABELS = ("engaged", "confused", "bored")  # made-up labels of a user's own set
OWN_PEOPLE = ("ann", "bob")


def framed_face(position, size=180, frame=(360, 480), flip=False, background=90):
    """A BGR frame of ``frame`` (height, width) with the sample portrait, ``size`` px, at ``position``
    (x, y of its top-left corner), mirrored with ``flip``."""
    from edgefer.device.sources import SAMPLE_IMAGE

    face = cv2.resize(cv2.imread(SAMPLE_IMAGE), (size, size), interpolation=cv2.INTER_AREA)
    image = np.full((*frame, 3), background, np.uint8)
    x, y = position
    image[y:y + size, x:x + size] = face[:, ::-1] if flip else face
    return image


def write_own_photos(root, video=True):
    """A user's own set in class folders: per label and person two photos with the face in a larger
    frame (``<person>_<n>.jpg``), one ``<person>_clip.avi`` of 10 frames at 10 fps under the first
    label when ``video``; plus, to be skipped, a blank photo, a text file and a broken JPEG."""
    for c, label in enumerate(OWN_LABELS):
        folder = os.path.join(root, label)
        os.makedirs(folder, exist_ok=True)
        for p, person in enumerate(OWN_PEOPLE):
            for n in range(2):
                frame = framed_face((40 + 60 * n + 20 * c, 30 + 40 * p), flip=bool(n), background=60 + 40 * c)
                cv2.imwrite(os.path.join(folder, f"{person}_{n}.jpg"), frame)
    if video:
        writer = cv2.VideoWriter(os.path.join(root, OWN_LABELS[0], "ann_clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"),
                                 10, (480, 360))
        for i in range(10):
            writer.write(framed_face((60 + 8 * i, 60)))
        writer.release()
    cv2.imwrite(os.path.join(root, OWN_LABELS[1], "bob_blank.jpg"), np.full((360, 480, 3), 128, np.uint8))
    with open(os.path.join(root, OWN_LABELS[1], "notes.txt"), "w") as f:
        f.write("not a photo\n")
    with open(os.path.join(root, OWN_LABELS[2], "ann_broken.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 not really a JPEG")
    return root
