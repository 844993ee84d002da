"""What your own data buys: person-independent K-fold transfer training against the shipped model as is.

Usage:
    python benchmarks/own_data.py SRC --work FOLDER [--labels a,b,c] [--column label=emotion]
        [--subject-pattern REGEX] [--folds 5] [--model fer2013-lite0] [--out result.json]

One command for the whole study: ``edgefer data prepare SRC`` (the device's face stage cuts every
face), then ``edgefer train DATASET --weights MODEL --folds K`` (each fold's held-out people are
its test split; resumable, finished folds are kept), then the shipped MODEL used as is on the same
held-out faces: its float32 twin and its int8 file, each answer restricted to the set's labels
(the largest probability among the labels the set has; a set label the model lacks is never
predicted). Faces the detector missed are in neither figure (the prepare report counts them).
Prints a markdown table and writes the figures as JSON.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

from edgefer.core.metrics import classification_metrics, confusion_metrics, mean_interval
from edgefer.data.datasets import load_dataset
from edgefer.device.bench import machine
from edgefer.device.bundled import bundled_pair
from edgefer.device.runtime import Classifier


def edgefer(*args):
    subprocess.run([sys.executable, "-m", "edgefer", *args], check=True)


def restricted_predictions(classifier, faces, labels):
    """The classifier's label for each face among ``labels`` only, as indices into ``labels``."""
    probs = classifier.predict(faces)
    known = [classifier.labels.index(label) if label in classifier.labels else None for label in labels]
    columns = np.stack([probs[:, k] if k is not None else np.full(len(faces), -1.0) for k in known], axis=1)
    return columns.argmax(axis=1)


def as_is_folds(model, dataset_path, run, folds):
    """Per-fold test metrics of the shipped model's float32 twin and int8 file, used as is."""
    twin, int8 = (Classifier(path) for path in bundled_pair(model))
    results = {"float32": [], "int8": []}
    for fold in range(1, folds + 1):
        split_file = os.path.join(run, f"fold-{fold}", "splits.json")
        dataset = load_dataset(dataset_path, split_file=split_file)
        test = dataset.split("test")
        for kind, classifier in (("float32", twin), ("int8", int8)):
            predicted = restricted_predictions(classifier, test.images, dataset.labels)
            results[kind].append(classification_metrics(test.labels, predicted, dataset.labels))
    return results


def summary(per_fold):
    """Mean and interval of accuracy and macro-F1, and recall per class over all folds' faces."""
    labels = list(per_fold[0]["per_class"])
    pooled = np.sum([np.asarray(m["confusion"]) for m in per_fold], axis=0)
    recall = {label: figures["recall"] for label, figures in confusion_metrics(pooled, labels)["per_class"].items()}
    return {"accuracy": mean_interval([m["accuracy"] for m in per_fold]),
            "macro_f1": mean_interval([m["macro_f1"] for m in per_fold]),
            "per_fold_accuracy": [round(m["accuracy"], 4) for m in per_fold],
            "per_fold_macro_f1": [round(m["macro_f1"], 4) for m in per_fold],
            "recall": recall, "n": int(pooled.sum())}


def table(rows, labels):
    def interval(value):
        return f"{value['mean']:.3f} ({value['low']:.3f}-{value['high']:.3f})"

    lines = ["| model | accuracy (95% CI over folds) | macro-F1 (95% CI) | " + " | ".join(f"recall {label}" for label in labels)
             + " |", "|---|---|---|" + "---|" * len(labels)]
    for name, figures in rows:
        lines.append(f"| {name} | {interval(figures['accuracy'])} | {interval(figures['macro_f1'])} | "
                     + " | ".join(f"{figures['recall'][label]:.2f}" for label in labels) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("src")
    parser.add_argument("--work", required=True, help="Folder for the prepared dataset and the runs.")
    parser.add_argument("--labels", default="")
    parser.add_argument("--column", action="append", default=[])
    parser.add_argument("--subject-pattern", default="")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--model", default="fer2013-lite0")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    dataset, run = os.path.join(args.work, "dataset"), os.path.join(args.work, f"cv-{args.model}")
    if not os.path.exists(dataset):
        options = [*sum((["--column", c] for c in args.column), []),
                   *(["--labels", args.labels] if args.labels else []),
                   *(["--subject-pattern", args.subject_pattern] if args.subject_pattern else [])]
        edgefer("data", "prepare", args.src, "--out", dataset, *options)
    edgefer("train", dataset, "--weights", args.model, "--folds", str(args.folds), "--out", run)

    with open(os.path.join(run, "cv.json")) as f:
        cv = json.load(f)
    fold_metrics = [json.load(open(os.path.join(run, f"fold-{k}", "test", "metrics.json")))
                    for k in range(1, args.folds + 1)]
    as_is = as_is_folds(args.model, dataset, run, args.folds)
    labels = list(fold_metrics[0]["per_class"])
    rows = [(f"{args.model} as is (float32 twin)", summary(as_is["float32"])),
            (f"{args.model} as is (int8, the device's file)", summary(as_is["int8"])),
            (f"transfer from {args.model}, {args.folds}-fold by person (Keras float)", summary(fold_metrics))]
    with open(os.path.join(dataset, "report.json")) as f:
        report = json.load(f)
    result = {"source": os.path.abspath(args.src), "dataset": dataset, "labels": labels, "folds": args.folds,
              "faces": cv["n"], "inputs": report["inputs"], "skipped": report["skipped"],
              "machine": machine(), "models": {name: figures for name, figures in rows}}
    print(f"{args.src}: {cv['n']} faces of {report['inputs']} inputs, skipped {report['skipped']}; "
          f"{args.folds} folds by person\n")
    print(table(rows, labels))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
