"""``edgefer train DATASET --folds K``: K-fold cross-validation by person on a prepared dataset.

Fold k holds out the k-th of K person-independent parts (``data.subjects.subject_folds``) as its
test split; the rest is split again by person into train and val (which picks the epoch). Each fold
is a whole run in ``RUN/fold-k`` (resumable; a finished fold is not trained again) and is scored on
its held-out people in ``RUN/fold-k/test``; ``RUN/cv.json`` gathers them: per fold and mean
accuracy and macro-F1 with 95% confidence intervals, and recall per class over all held-out faces.
"""

import os
from dataclasses import replace

import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_folder, read_json, write_json
from edgefer.core.metrics import confusion_metrics, mean_interval
from edgefer.training.train import train

CV_FILE = "cv.json"


def fold_folder(run_dir: str, fold: int) -> str:
    return os.path.join(run_dir, f"fold-{fold}")


def cross_validate(cfg, run_dir: str) -> dict:
    """Train every fold of ``cfg.folds`` not finished yet; returns (and writes) the summary."""
    if cfg.folds < 2:
        raise EdgeferError(f"cross-validation needs at least 2 folds, not {cfg.folds}")
    check_output_folder(run_dir)
    results = []
    for fold in range(1, cfg.folds + 1):
        folder = fold_folder(run_dir, fold)
        done = os.path.join(folder, "test", "metrics.json")
        if not os.path.exists(done):
            train(replace(cfg, fold=fold), folder, resume=os.path.exists(os.path.join(folder, "state.json")))
        results.append(read_json(done))
    summary = summarise(results, cfg)
    write_json(os.path.join(run_dir, CV_FILE), summary)
    return summary


def summarise(results: list, cfg) -> dict:
    """Per-fold and mean figures of the folds' test metrics, and per-class recall over all of them."""
    labels = list(results[0]["per_class"])
    pooled = np.sum([np.asarray(r["confusion"]) for r in results], axis=0)
    overall = confusion_metrics(pooled, labels)
    return {
        "dataset": results[0]["dataset"], "path": results[0]["path"], "split": f"{cfg.folds}-fold by person",
        "weights": cfg.weights, "folds": cfg.folds, "seed": cfg.seed,
        "n": int(pooled.sum()),
        "accuracy": mean_interval([r["accuracy"] for r in results]),
        "macro_f1": mean_interval([r["macro_f1"] for r in results]),
        "per_fold": [{"fold": i + 1, "n": r["n"], "accuracy": r["accuracy"], "macro_f1": r["macro_f1"]}
                     for i, r in enumerate(results)],
        "pooled": {k: overall[k] for k in ("accuracy", "macro_f1", "per_class", "confusion")},
    }
