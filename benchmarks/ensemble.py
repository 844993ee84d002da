"""What averaging several models would give: each TFLite file's accuracy and their mean's, on one split.

Usage: python benchmarks/ensemble.py DATA MODEL MODEL [MODEL ...] [--split val] [--ferplus-mode seven]

Choices are made on validation (FER2013 PublicTest), so ``val`` is the default split.
"""

import argparse
import os

import numpy as np

from edgefer.data.datasets import FERPLUS_MODES, load_dataset
from edgefer.evaluation.scoring import accuracy, file_probabilities


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


def main():
    args = scoring_parser(__doc__.splitlines()[0], "models").parse_args()
    dataset = load_dataset(args.data, (args.split,), args.ferplus_mode)
    part = dataset.split(args.split)
    probs = []
    for path in args.models:
        probs.append(file_probabilities(path, dataset, part.images))
        print(f"{os.path.basename(path)}: {accuracy(probs[-1], part.labels):.4f}", flush=True)
    mean = np.mean(probs, axis=0)
    print(f"mean of {len(probs)}: {accuracy(mean, part.labels):.4f} ({dataset.name} {args.split}, n = {len(part)})")


if __name__ == "__main__":
    main()
