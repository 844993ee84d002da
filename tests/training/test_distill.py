"""Distillation targets (no TensorFlow: the teacher runs on the device runtime)."""

import numpy as np
import pytest
from helpers import TINY_FLOAT, TINY_SWAPPED, make_face

from edgefer.core.errors import EdgeferError
from edgefer.data.datasets import FER2013_LABELS, FERPLUS_LABELS, Split
from edgefer.training.distill import cached_teacher_probabilities, distilled, teacher_probabilities


def faces_of(classes, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([make_face(rng, c) for c in classes])


def test_teacher_probabilities_are_the_teachers_answers():
    probs = teacher_probabilities([TINY_SWAPPED], faces_of([0, 1, 2, 3]), FER2013_LABELS, batch=3)
    assert probs.shape == (4, 7) and probs.argmax(1).tolist() == [1, 0, 2, 3]  # the swapped teacher's view


def test_several_teachers_give_their_mean():
    faces = faces_of([0, 1, 2])
    mean = teacher_probabilities([TINY_FLOAT, TINY_SWAPPED], faces, FER2013_LABELS)
    alone = [teacher_probabilities([path], faces, FER2013_LABELS) for path in (TINY_FLOAT, TINY_SWAPPED)]
    assert np.allclose(mean, (alone[0] + alone[1]) / 2, atol=1e-6)
    assert mean[2].argmax() == 2 and mean[0, 0] == pytest.approx(mean[0, 1], abs=0.05)  # the two disagree on 0 and 1


def test_targets_blend_the_teacher_with_the_labels():
    split = Split(faces_of([0, 2]), np.array([0, 2]), ["a", "b"])
    teacher = np.full((2, 7), 1 / 7, np.float32)
    soft = distilled(split, teacher, 0.7).soft
    assert soft[0, 0] == pytest.approx(0.7 / 7 + 0.3) and soft[0, 1] == pytest.approx(0.7 / 7)
    assert np.allclose(soft.sum(1), 1.0)


def test_a_teacher_with_other_labels_is_refused():
    with pytest.raises(EdgeferError, match="teacher labels"):
        teacher_probabilities([TINY_FLOAT], faces_of([0]), FERPLUS_LABELS)


def test_teacher_answers_are_kept_for_a_resumed_run_and_recomputed_for_other_faces(tmp_path):
    cache = str(tmp_path / "teacher-probabilities.npy")
    faces = faces_of([0, 1, 2, 3])
    first = cached_teacher_probabilities([TINY_SWAPPED], faces, FER2013_LABELS, cache)
    assert np.array_equal(np.load(cache), first) and first.argmax(1).tolist() == [1, 0, 2, 3]
    np.save(cache, np.full((4, 7), 1 / 7, np.float32))  # what is kept is what is read back
    assert np.allclose(cached_teacher_probabilities([TINY_SWAPPED], faces, FER2013_LABELS, cache), 1 / 7)
    other = cached_teacher_probabilities([TINY_SWAPPED], faces[:2], FER2013_LABELS, cache)
    assert other.argmax(1).tolist() == [1, 0] and np.load(cache).shape == (2, 7)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["teacher-probabilities.npy"]
