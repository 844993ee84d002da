"""FER+'s votes found for FER2013 faces by their pixels."""

import os

import cv2
import numpy as np
import pytest
from helpers import write_ferplus

from edgefer.data.datasets import FER2013_LABELS, Split, load_dataset
from edgefer.data.votes import ferplus_votes, match_faces, with_votes


def smooth_faces(n, seed=0):
    """``n`` distinct face-like images: blurred noise."""
    rng = np.random.default_rng(seed)
    return np.stack([cv2.GaussianBlur(rng.integers(0, 256, (48, 48), dtype=np.uint8), (0, 0), 2) for _ in range(n)])


def jpeg_copy(face, contrast=1.0, offset=0):
    """``face`` with its contrast changed and stored as JPEG, as FER2013's image folders hold it."""
    changed = np.clip(face.astype(np.float32) * contrast + offset, 0, 255).astype(np.uint8)
    return cv2.imdecode(cv2.imencode(".jpg", changed, [cv2.IMWRITE_JPEG_QUALITY, 75])[1], cv2.IMREAD_GRAYSCALE)


def test_faces_are_found_through_jpeg_and_contrast_changes_and_strangers_are_not():
    reference = smooth_faces(50)
    order = np.random.default_rng(1).permutation(50)[:20]
    copies = [jpeg_copy(reference[i], contrast=1.3, offset=-20) for i in order]
    blank, stranger = np.zeros((48, 48), np.uint8), smooth_faces(1, seed=9)[0]
    matches = match_faces(np.stack([*copies, blank, stranger]), reference, chunk=7)
    assert matches.tolist() == [*order.tolist(), -1, -1]


def test_each_face_gets_its_twins_votes_in_the_seven_classes(tmp_path):
    root = write_ferplus(str(tmp_path / "ferplus"), np.random.default_rng(0))
    folder = os.path.join(root, "FER2013Train")
    twin = {name: cv2.imread(os.path.join(folder, name), cv2.IMREAD_GRAYSCALE) for name in sorted(os.listdir(folder))
            if name.endswith(".png")}
    faces = np.stack([jpeg_copy(twin[name], contrast=0.8, offset=30) for name in
                      ("fer0000004.png", "fer0000000.png", "fer0000001.png", "fer0000002.png", "fer0000003.png")])
    votes = ferplus_votes(faces, root)
    happy, neutral, sad, surprise = (FER2013_LABELS.index(c) for c in ("happy", "neutral", "sad", "surprise"))
    expected = np.zeros((5, 7), np.float32)
    expected[0, [neutral, happy, surprise, sad, FER2013_LABELS.index("angry")]] = [0.5, 0.125, 0.125, 0.125, 0.125]
    expected[1, [happy, surprise]] = [0.8, 0.2]
    # fer0000001: mostly contempt, no votes; fer0000002: not a face, dropped by FER+'s reader
    expected[4, [neutral, sad]] = [0.5, 0.5]
    assert np.allclose(votes, expected, atol=1e-6)


def test_votes_blend_into_the_labels_where_there_are_votes():
    split = Split(np.zeros((2, 48, 48), np.uint8), np.array([0, 3]), ["a", "b"])
    votes = np.zeros((2, 7), np.float32)
    votes[0, 4] = 1.0
    soft = with_votes(split, votes, 0.25).soft
    assert soft[0, 0] == pytest.approx(0.75) and soft[0, 4] == pytest.approx(0.25)
    assert soft[1].tolist() == np.eye(7)[3].tolist()  # no votes: its own label


def test_most_fer2013_training_faces_find_their_fer_plus_votes(real_fer2013, real_ferplus):
    train = load_dataset(real_fer2013, ("train",)).split("train")
    votes = ferplus_votes(train.images, real_ferplus)
    found = votes.sum(axis=1) > 0
    assert found.mean() > 0.95
    agreement = (votes[found].argmax(axis=1) == train.labels[found]).mean()
    assert 0.6 < agreement < 0.7  # FER+ relabels about a third of the faces
