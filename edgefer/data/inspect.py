"""``edgefer data inspect``: counts per split and class, figures, and cross-split duplicates."""

import hashlib
import os

import numpy as np

from edgefer.core.files import check_output_folder
from edgefer.core.plots import class_balance_png, image_grid_png
from edgefer.data.datasets import SPLITS, load_dataset


def pixel_hashes(images):
    """One hash per image of its exact pixels."""
    return [hashlib.sha1(image.tobytes()).hexdigest() for image in images]


def cross_split_duplicates(dataset):
    """How many images of each later split have pixels identical to an image in an earlier one."""
    hashes = {s: set(pixel_hashes(part.images)) for s, part in dataset.splits.items()}
    out = {}
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1:]:
            if a in hashes and b in hashes:
                in_both = [h for h in pixel_hashes(dataset.splits[b].images) if h in hashes[a]]
                out[f"{b}_in_{a}"] = len(in_both)
    return out


def sample_grid(dataset, path, per_class=4, seed=0):
    """A few random training images of every class, labelled (the paper's Fig. 1)."""
    split_name = "train" if "train" in dataset.splits else next(iter(dataset.splits))
    part = dataset.splits[split_name]
    rng = np.random.default_rng(seed)
    images, captions = [], []
    for c, label in enumerate(dataset.labels):
        members = np.flatnonzero(part.labels == c)
        for i in rng.choice(members, min(per_class, len(members)), replace=False):
            images.append(part.images[i])
            captions.append(label)
    image_grid_png(images, captions, path, f"{dataset.name} {split_name}: {per_class} random images per class",
                   columns=per_class * 2)


def inspect_dataset(path, out_dir, ferplus_mode="majority"):
    """Load every split, write class_balance.png and samples.png to ``out_dir``; return the report."""
    check_output_folder(out_dir, create=False)
    dataset = load_dataset(path, SPLITS, ferplus_mode)
    check_output_folder(out_dir)
    counts = dataset.counts()
    class_balance_png(counts, os.path.join(out_dir, "class_balance.png"), f"{dataset.name}: images per class and split")
    sample_grid(dataset, os.path.join(out_dir, "samples.png"))
    return {
        "dataset": dataset.name,
        "path": os.path.abspath(os.path.expanduser(path)),
        "labels": dataset.labels,
        "counts": counts,
        "totals": {s: sum(c.values()) for s, c in counts.items()},
        "duplicates": cross_split_duplicates(dataset),
        "figures": [os.path.join(out_dir, "class_balance.png"), os.path.join(out_dir, "samples.png")],
    }


def format_counts(report):
    """The report as a plain-text table for the terminal."""
    splits = list(report["counts"])
    lines = [f"{report['dataset']} ({report['path']})", "class".ljust(10) + "".join(s.rjust(9) for s in splits)]
    for label in report["labels"]:
        lines.append(label.ljust(10) + "".join(str(report["counts"][s][label]).rjust(9) for s in splits))
    lines.append("total".ljust(10) + "".join(str(report["totals"][s]).rjust(9) for s in splits))
    lines.append("duplicates by pixel hash: " + ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in report["duplicates"].items()))
    lines.append("figures: " + ", ".join(report["figures"]))
    return "\n".join(lines)
