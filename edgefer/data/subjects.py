"""Person-independent splits: every face of one person (``subject``) on one side only.

``subject_folds`` cuts the subjects into K folds of about equal size and label mix (largest subject
first, each to the fold it unbalances least); a held-out share is one fold of ``round(1 / share)``.
Deterministic for a seed.
"""

from dataclasses import replace
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


def person_splits(dataset, folds: int = 0, fold: int = 0, val_share: float = 0.2, seed: int = 0):
    """A prepared dataset with train, val and (for a fold) test splits that share no person: the
    manifest's own splits where it names val (and no folds are asked for), else fold ``fold`` of
    ``folds`` as test and ``val_share`` of the other people as val."""
    if "val" in dataset.splits and not folds:
        return dataset
    pool = dataset.split("train")
    splits = {}
    if folds:
        held = subject_folds(pool.subjects, pool.labels, folds, seed)[fold - 1]
        splits["test"] = pool.subset(held)
        pool = pool.subset(np.setdiff1d(np.arange(len(pool)), held))
    kept, val = subject_holdout(pool.subjects, pool.labels, val_share, seed)
    splits["train"], splits["val"] = pool.subset(kept), pool.subset(val)
    return replace(dataset, splits=splits)


def split_record(dataset) -> dict:
    """What a run's ``splits.json`` keeps: each split's people and face files, to check and reuse the split."""
    return {name: {"faces": len(part), "subjects": sorted(set(part.subjects or [])), "files": list(part.ids)}
            for name, part in dataset.splits.items()}
