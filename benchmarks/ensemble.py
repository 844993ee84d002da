"""What averaging several models would give: each TFLite file's accuracy and their mean's, on one split.

Usage: python benchmarks/ensemble.py DATA MODEL MODEL [MODEL ...] [--split val] [--ferplus-mode seven]

Choices are made on validation (FER2013 PublicTest), so ``val`` is the default split.
"""

import argparse
import os

import numpy as np

from edgefer.core.spec import check_labels
from edgefer.data.datasets import FERPLUS_MODES, load_dataset
from edgefer.device.runtime import Classifier


def scoring_parser(description: str, members: str) -> argparse.ArgumentParser:
    """The arguments of a script that scores several ``members`` on one split: DATA, the
    members, --split (validation by default) and --ferplus-mode."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("data")
    parser.add_argument(members, nargs="+")
    parser.add_argument("--split", default="val")
    parser.add_argument("--ferplus-mode", default="seven", choices=FERPLUS_MODES,
                        help="FER+ labels: seven (majority in FER2013's classes) suits the FER2013 models")
    return parser


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy of class probabilities against labels."""
    return float((probs.argmax(1) == labels).mean())


def file_probabilities(path: str, dataset, part, data: str) -> np.ndarray:
    """A TFLite file's class probabilities on the faces of ``part`` (one thread), after checking
    that its labels are the dataset's."""
    classifier = Classifier(path, threads=1)
    check_labels(dataset.labels, classifier.labels, data, "dataset labels")
    return classifier.predict(part.images)


def main():
    args = scoring_parser(__doc__.splitlines()[0], "models").parse_args()
    dataset = load_dataset(args.data, (args.split,), args.ferplus_mode)
    part = dataset.split(args.split)
    probs = []
    for path in args.models:
        probs.append(file_probabilities(path, dataset, part, args.data))
        print(f"{os.path.basename(path)}: {accuracy(probs[-1], part.labels):.4f}", flush=True)
    mean = np.mean(probs, axis=0)
    print(f"mean of {len(probs)}: {accuracy(mean, part.labels):.4f} ({dataset.name} {args.split}, n = {len(part)})")


if __name__ == "__main__":
    main()
