"""Person-independent splits: every face of one person (``subject``) on one side only.

``subject_folds`` cuts the subjects into K folds of about equal size and label mix (largest subject
first, each to the fold it unbalances least); a held-out share is one fold of ``round(1 / share)``.
Deterministic for a seed.
"""

from typing import List, Sequence, Tuple

import numpy as np

from edgefer.core.errors import EdgeferError


def subject_folds(subjects: Sequence[str], labels: np.ndarray, k: int, seed: int = 0) -> List[np.ndarray]:
    """``k`` arrays of row indices (sorted), each a set of whole subjects; together every row once."""
    names, rows = np.unique(np.asarray(subjects, dtype=str), return_inverse=True)
    if k < 2:
        raise EdgeferError(f"subject folds need at least 2 folds, not {k}")
    if len(names) < k:
        raise EdgeferError(f"{len(names)} people cannot be split into {k} person-independent parts")
    labels = np.asarray(labels)
    classes = int(labels.max()) + 1
    per_subject = np.zeros((len(names), classes))
    np.add.at(per_subject, (rows, labels), 1)
    totals = np.maximum(per_subject.sum(axis=0), 1)
    order = np.random.default_rng(seed).permutation(len(names))
    order = order[np.argsort(-per_subject[order].sum(axis=1), kind="stable")]  # largest first, ties shuffled
    folds = np.zeros((k, classes))
    fold_of = np.zeros(len(names), dtype=int)
    for s in order:
        rise = (((folds + per_subject[s]) / totals) ** 2 - (folds / totals) ** 2).sum(axis=1)  # what it unbalances
        fold_of[s] = int(np.argmin(rise + 1e-9 * folds.sum(axis=1)))
        folds[fold_of[s]] += per_subject[s]
    return [np.flatnonzero(fold_of[rows] == f) for f in range(k)]


def subject_holdout(subjects: Sequence[str], labels: np.ndarray, share: float, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """(kept rows, held-out rows): about ``share`` of the rows, as whole subjects."""
    k = max(2, int(round(1 / share)))
    held = subject_folds(subjects, labels, k, seed)[0]
    return np.setdiff1d(np.arange(len(labels)), held), held


def shared_subjects(*parts: Sequence[str]) -> List[str]:
    """The subjects found in more than one of ``parts`` (empty for a person-independent split)."""
    seen, shared = set(), set()
    for part in parts:
        names = set(part)
        shared |= seen & names
        seen |= names
    return sorted(shared)
