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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--split", default="val")
    parser.add_argument("--ferplus-mode", default="seven", choices=FERPLUS_MODES,
                        help="FER+ labels: seven (majority in FER2013's classes) suits the FER2013 models")
    args = parser.parse_args()
    dataset = load_dataset(args.data, (args.split,), args.ferplus_mode)
    part = dataset.split(args.split)
    probs = []
    for path in args.models:
        classifier = Classifier(path, threads=1)
        check_labels(dataset.labels, classifier.labels, args.data, "dataset labels")
        probs.append(classifier.predict(part.images))
        print(f"{os.path.basename(path)}: {(probs[-1].argmax(1) == part.labels).mean():.4f}", flush=True)
    mean = np.mean(probs, axis=0)
    print(f"mean of {len(probs)}: {(mean.argmax(1) == part.labels).mean():.4f} ({dataset.name} {args.split}, n = {len(part)})")


if __name__ == "__main__":
    main()
