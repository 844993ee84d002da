"""A TFLite model file's answers on faces: the one scorer behind parity, the benchmarks and the studies."""

import time
from typing import Optional, Tuple

import numpy as np

from edgefer.core.progress import progress
from edgefer.core.spec import check_labels
from edgefer.device.runtime import Classifier


def probabilities(classifier: Classifier, faces: np.ndarray, desc: Optional[str] = None) -> Tuple[np.ndarray, float]:
    """(class probabilities (N, classes), mean seconds per face) for ``faces``, one invoke per face."""
    probs = np.zeros((len(faces), len(classifier.labels)), np.float32)
    start = time.perf_counter()
    for i in progress(range(len(faces)), total=len(faces), desc=desc):
        probs[i] = classifier.predict(faces[i])[0]
    return probs, (time.perf_counter() - start) / max(1, len(faces))


def file_probabilities(path: str, dataset, faces: np.ndarray, threads: Optional[int] = 1) -> np.ndarray:
    """The probabilities of the model file at ``path`` on ``faces`` of ``dataset``, whose labels it must have."""
    classifier = Classifier(path, threads=threads)
    check_labels(dataset.labels, classifier.labels, dataset.path, "dataset labels")
    return probabilities(classifier, faces, desc=path)[0]


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy of class probabilities (or any per-class scores) against labels."""
    return float((np.asarray(probs).argmax(1) == labels).mean())
