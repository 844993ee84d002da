"""Would per-class offsets on a model's log-probabilities, fitted on validation, raise its accuracy?

Usage: python benchmarks/class_offsets.py DATA MODEL [MODEL ...] [--split val] [--folds 10]

A model trained on soft targets (teachers, FER+ votes) may lean towards some classes more than
the split's labels do; adding one offset per class to the log-probabilities corrects such a lean
at no cost on the device. Offsets fitted on the whole split flatter themselves, so each model is
also scored by two-fold cross-validation: fitted on a random half, scored on the other half,
``--folds`` times each way. Only a gain that holds on the unseen halves is real.
"""

import os

import numpy as np
from ensemble import scoring_parser

from edgefer.data.datasets import load_dataset
from edgefer.evaluation.scoring import accuracy, file_probabilities

GRID = np.linspace(-1, 1, 41)


def fit_offsets(log_probs: np.ndarray, labels: np.ndarray, rounds: int = 3) -> np.ndarray:
    """Per-class offsets that maximise accuracy, one class at a time over GRID, ``rounds`` times."""
    offsets = np.zeros(log_probs.shape[1])
    for _ in range(rounds):
        for c in range(len(offsets)):
            scores = []
            for value in GRID:
                offsets[c] = value
                scores.append(accuracy(log_probs + offsets, labels))
            offsets[c] = GRID[int(np.argmax(scores))]
    return offsets


def cross_validated_gain(log_probs: np.ndarray, labels: np.ndarray, folds: int) -> np.ndarray:
    """Accuracy gains on held-out halves, offsets fitted on the other half (2 x ``folds`` values)."""
    rng = np.random.default_rng(0)
    gains = []
    for _ in range(folds):
        order = rng.permutation(len(labels))
        halves = order[: len(order) // 2], order[len(order) // 2:]
        for fit_on, score_on in (halves, halves[::-1]):
            offsets = fit_offsets(log_probs[fit_on], labels[fit_on])
            gains.append(accuracy(log_probs[score_on] + offsets, labels[score_on])
                         - accuracy(log_probs[score_on], labels[score_on]))
    return np.array(gains)


def main():
    parser = scoring_parser(__doc__.splitlines()[0], "models")
    parser.add_argument("--folds", type=int, default=10, help="Random half splits (each scored both ways).")
    args = parser.parse_args()
    dataset = load_dataset(args.data, (args.split,), args.ferplus_mode)
    part = dataset.split(args.split)
    print(f"{args.data} {args.split}, n = {len(part)}; offsets for {', '.join(dataset.labels)}")
    for path in args.models:
        log_probs = np.log(np.clip(file_probabilities(path, dataset, part.images), 1e-9, 1))
        offsets = fit_offsets(log_probs, part.labels)
        gains = cross_validated_gain(log_probs, part.labels, args.folds)
        print(f"{os.path.basename(path)}: {accuracy(log_probs, part.labels):.4f}, "
              f"with offsets fitted on the whole split {accuracy(log_probs + offsets, part.labels):.4f} "
              f"(offsets {np.array2string(offsets, precision=2)}); on held-out halves "
              f"{100 * gains.mean():+.2f} points (sd {100 * gains.std():.2f}, {len(gains)} halves)", flush=True)


if __name__ == "__main__":
    main()
