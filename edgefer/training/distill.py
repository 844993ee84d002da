"""Distillation targets: the teachers' mean probabilities blended with the labels.

A teacher is any edgefer TFLite file (for example the accurate model's float32 twin, whose
flip average is built in), run on the device runtime. By default the teachers answer once, on
the unaugmented training faces, before training, and the answers are kept in the run folder for
``--resume``; consistent teachers answer on every augmented face as the student
sees it, which costs their inference at every step. With several teachers their probabilities
are averaged (an ensemble teacher). The student then learns ``weight * teacher + (1 - weight) *
labels`` (the labels being the one-hot classes, or FER+'s vote distributions in probability mode).
"""

import os

import numpy as np

from edgefer.core.files import write_with
from edgefer.core.progress import progress
from edgefer.core.spec import check_labels
from edgefer.data.datasets import Split
from edgefer.device.runtime import Classifier


class Teachers:
    """The teachers as one callable: faces (N, 48, 48, 1), values 0-255, in; their mean
    probabilities (N, classes) out. An interpreter answers one call at a time."""

    def __init__(self, teacher_paths, labels: list, threads=None):
        self.teachers = [Classifier(path, threads=threads) for path in teacher_paths]
        for path, teacher in zip(teacher_paths, self.teachers):
            check_labels(teacher.labels, labels, path, "teacher labels")

    def __call__(self, faces: np.ndarray) -> np.ndarray:
        return np.mean([teacher.predict(faces[..., 0]) for teacher in self.teachers], axis=0).astype(np.float32)


def teacher_probabilities(teacher_paths, images: np.ndarray, labels: list, batch: int = 256) -> np.ndarray:
    """The mean class probabilities of the teachers (TFLite paths) for uint8 faces (N, 48, 48)."""
    teachers = Teachers(teacher_paths, labels)
    starts = range(0, len(images), batch)
    return np.concatenate([teachers(images[i:i + batch, ..., None])
                           for i in progress(starts, total=len(starts), desc="teacher predictions")])


def cached_teacher_probabilities(teacher_paths, images: np.ndarray, labels: list, cache_path: str) -> np.ndarray:
    """``teacher_probabilities``, read from ``cache_path`` (.npy) when it holds one row per face,
    else computed and written there."""
    if os.path.exists(cache_path):
        probs = np.load(cache_path)
        if probs.shape == (len(images), len(labels)):
            return probs
    probs = teacher_probabilities(teacher_paths, images, labels)

    def save(path):
        with open(path, "wb") as f:
            np.save(f, probs)

    write_with(cache_path, save)
    return probs


def distilled(split: Split, teacher: np.ndarray, weight: float) -> Split:
    """``split`` with soft targets ``weight * teacher + (1 - weight) * its own targets``."""
    own = split.targets(teacher.shape[1])
    soft = (weight * teacher + (1 - weight) * own).astype(np.float32)
    return Split(split.images, split.labels, split.ids, soft / soft.sum(axis=1, keepdims=True))
