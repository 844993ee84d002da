"""Calibration manifests: which training images the int8 converter sees.

A manifest is a text file: ``# key: value`` header lines (dataset, split, strategy, size, seed)
then one image id per line. Only training images are allowed, and training images whose pixels
also occur in the validation or test split are left out.
"""

import os

import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_file, write_text
from edgefer.data.datasets import SPLITS, load_dataset, stratified_indices
from edgefer.data.inspect import pixel_hashes


def choose_calibration(dataset, size, strategy, seed):
    """Ids of ``size`` training images picked ``stratified`` by class or uniformly ``random``."""
    train = dataset.split("train")
    held_out = set()
    for split in ("val", "test"):
        if split in dataset.splits:
            held_out.update(pixel_hashes(dataset.splits[split].images))
    allowed = np.array([i for i, h in enumerate(pixel_hashes(train.images)) if h not in held_out])
    if strategy == "stratified":
        picked = allowed[stratified_indices(train.labels[allowed], size, seed)]
    elif strategy == "random":
        picked = np.sort(np.random.default_rng(seed).choice(allowed, min(size, len(allowed)), replace=False))
    else:
        raise EdgeferError(f"unknown calibration strategy {strategy!r}; choose stratified or random")
    return [train.ids[i] for i in picked]


def write_manifest(path, ids, header):
    """Write the manifest atomically; ``header`` is an ordered {key: value}."""
    lines = ["# edgefer calibration manifest"] + [f"# {k}: {v}" for k, v in header.items()] + list(ids)
    write_text(path, "\n".join(lines) + "\n")


def read_manifest(path):
    """Return (header dict, list of ids); refuses a missing, empty or non-training manifest."""
    if not os.path.exists(path):
        raise EdgeferError(f"{path}: calibration manifest not found")
    header, ids = {}, []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EdgeferError(f"{path}: not a calibration manifest (a text file of image ids: "
                           f"{getattr(exc, 'strerror', None) or exc})".splitlines()[0]) from None
    for line in lines:
        line = line.strip()
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            if value:
                header[key.strip()] = value.strip()
        elif line:
            ids.append(line)
    if not ids:
        raise EdgeferError(f"{path}: calibration manifest lists no images")
    if header.get("split", "train") != "train":
        raise EdgeferError(f"{path}: calibration must come from the train split, not {header['split']!r}")
    return header, ids


def calibration_images(dataset, ids, manifest_path):
    """The training faces named by ``ids``; any id outside the train split is an error."""
    train = dataset.split("train")
    position = {image_id: i for i, image_id in enumerate(train.ids)}
    for image_id in ids:
        if image_id not in position:
            others = [s for s in SPLITS if s in dataset.splits and image_id in set(dataset.splits[s].ids)]
            where = f"it belongs to the {others[0]} split" if others else "it is not in the dataset"
            raise EdgeferError(f"{manifest_path}: id {image_id!r} cannot calibrate: {where}")
    return train.images[[position[i] for i in ids]]


CALIBRATION_FERPLUS_MODE = "plurality"  # FER+: every training image with an emotion may calibrate


def calibrate(data, out, size=512, strategy="stratified", seed=0):
    """Build and write a manifest for the dataset at ``data``; returns its header."""
    if size < 1:
        raise EdgeferError("--size must be at least 1")
    check_output_file(out)
    dataset = load_dataset(data, SPLITS, CALIBRATION_FERPLUS_MODE)
    ids = choose_calibration(dataset, size, strategy, seed)
    header = {"dataset": dataset.name, "split": "train", "strategy": strategy, "size": len(ids), "seed": seed}
    write_manifest(out, ids, header)
    return header
