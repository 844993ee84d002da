"""FER+'s crowd votes for FER2013's training faces, found by their pixels.

FER+ relabels FER2013's pixels with ten annotators' votes, keyed by the row of the challenge's
CSV; FER2013's image-folder form names its faces by other ids and stores them as JPEG, with
other contrast. So faces are compared by the correlation of their pixels, and each FER2013 face
is paired with the FER+ face it correlates with best when that correlation is at least
``MIN_CORRELATION``. On FER2013 Training below that value the pairs' FER2013 labels agree with
the FER+ majority far less often (0.45 and under, against 0.64 above it): they are other faces.
"""

import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.data.datasets import FER2013_LABELS, FERPLUS_LABELS, Split, load_dataset

MIN_CORRELATION = 0.85


def _unit_rows(images: np.ndarray) -> np.ndarray:
    """Each face as a zero-mean, unit-length pixel vector (a blank face: all zeros)."""
    rows = images.reshape(len(images), -1).astype(np.float32)
    rows -= rows.mean(axis=1, keepdims=True)
    length = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, length, out=np.zeros_like(rows), where=length > 0)


def match_faces(faces: np.ndarray, reference: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """For each face (N, 48, 48) uint8, the index of the same face in ``reference`` (M, 48, 48),
    or -1 when none correlates with it well enough."""
    ours, theirs = _unit_rows(faces), _unit_rows(reference)
    matches = np.full(len(faces), -1, np.int64)
    for start in range(0, len(faces), chunk):
        correlation = ours[start:start + chunk] @ theirs.T
        nearest = correlation.argmax(axis=1)
        close = correlation[np.arange(len(nearest)), nearest] >= MIN_CORRELATION
        matches[start:start + chunk][close] = nearest[close]
    return matches


def ferplus_votes(faces: np.ndarray, ferplus_path: str) -> np.ndarray:
    """The FER+ vote distribution over FER2013's seven classes for each face (N, 48, 48), from the
    FER+ training split at ``ferplus_path``; a row of zeros where the face has no FER+ twin or its
    twin's most-voted emotion is contempt, which FER2013 does not have."""
    part = load_dataset(ferplus_path, ("train",), "probability").split("train")
    if part.soft is None:
        raise EdgeferError(f"{ferplus_path}: not a FER+ dataset (no vote files)")
    seven = part.soft[:, [FERPLUS_LABELS.index(label) for label in FER2013_LABELS]]
    seven[part.soft.argmax(axis=1) == FERPLUS_LABELS.index("contempt")] = 0
    total = seven.sum(axis=1, keepdims=True)
    seven = np.divide(seven, total, out=np.zeros_like(seven), where=total > 0)
    matches = match_faces(faces, part.images)
    votes = np.zeros((len(faces), len(FER2013_LABELS)), np.float32)
    votes[matches >= 0] = seven[matches[matches >= 0]]
    return votes


def with_votes(split: Split, votes: np.ndarray, weight: float) -> Split:
    """``split`` with targets ``weight * votes + (1 - weight) * its own targets`` for the faces
    that have votes (a non-zero row); the others keep their own targets."""
    own = split.targets(votes.shape[1])
    has_votes = votes.sum(axis=1, keepdims=True) > 0
    soft = np.where(has_votes, weight * votes + (1 - weight) * own, own).astype(np.float32)
    return Split(split.images, split.labels, split.ids, soft)
