"""Load a dataset written by ``edgefer data prepare``: its crops, labels, subjects and splits."""

import csv
import os

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.files import read_json
from edgefer.core.images import read_image
from edgefer.core.metadata import CropGeometry
from edgefer.core.spec import SPLITS
from edgefer.data.datasets import PREPARED_FILE, FaceDataset, Split

PREPARED_FORMAT = "edgefer-prepared-dataset"  # dataset.json's "format"
FORMAT_VERSION = 1
MANIFEST_FILE = "manifest.csv"


def _face(path: str, size: int, color: str) -> np.ndarray:
    image = read_image(path, cv2.IMREAD_GRAYSCALE if color == "grayscale" else cv2.IMREAD_COLOR)
    if image.shape[:2] != (size, size):
        raise EdgeferError(f"{path}: {image.shape[1]}x{image.shape[0]}, but the dataset's faces are {size}x{size}")
    return image if color == "grayscale" else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def split_files(split_file: str) -> dict:
    """{face file: split} from a run's ``splits.json``."""
    record = read_json(split_file)
    try:
        return {file: split for split, part in record.items() if split in SPLITS for file in part["files"]}
    except (TypeError, KeyError, AttributeError):
        raise EdgeferError(f"{split_file}: not a run's splits.json (split -> faces, subjects, files)") from None


def load_prepared(path: str, split_file: str = None) -> FaceDataset:
    """Every face of the prepared dataset at ``path``; split as ``split_file`` (a run's
    ``splits.json``) says, else as its manifest says, else all in ``train``."""
    where = os.path.join(path, PREPARED_FILE)
    info = read_json(where)
    if not isinstance(info, dict) or info.get("format") != PREPARED_FORMAT or info.get("version") != FORMAT_VERSION:
        raise EdgeferError(f"{where}: not a prepared dataset of version {FORMAT_VERSION} (edgefer data prepare)")
    try:
        labels, size, color = list(info["labels"]), int(info["size"]), info["color"]
        for name, values in info["crop"].items():
            CropGeometry.from_metadata(values, f"{where}: crop {name}")
    except (KeyError, TypeError, ValueError, AttributeError):
        raise EdgeferError(f"{where}: needs labels, size, color and crop") from None
    manifest = os.path.join(path, MANIFEST_FILE)
    try:
        with open(manifest, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
    except FileNotFoundError:
        raise EdgeferError(f"{manifest}: not found") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise EdgeferError(f"{manifest}: not a readable CSV file ({exc})".splitlines()[0]) from None
    missing = {"file", "label", "subject"} - set(reader.fieldnames or [])
    if missing:
        raise EdgeferError(f"{manifest}: lacks the column{'s' if len(missing) > 1 else ''} {', '.join(sorted(missing))}")
    chosen = split_files(split_file) if split_file else None
    parts = {}
    for line, row in enumerate(rows, start=2):
        if row.get("label") not in labels:
            raise EdgeferError(f"{manifest} line {line}: label {row.get('label')!r} is not one of {', '.join(labels)}")
        if chosen is not None and row["file"] not in chosen:
            continue
        split = chosen[row["file"]] if chosen is not None else row.get("split") or "train"
        if split not in SPLITS:
            raise EdgeferError(f"{manifest} line {line}: unknown split {split!r}")
        parts.setdefault(split, []).append(row)
    if not parts:
        raise EdgeferError(f"{manifest}: no faces")
    dataset = FaceDataset(os.path.basename(os.path.normpath(path)), path, labels, face_size=size, color=color,
                          crop=dict(info["crop"]))
    for split, part in parts.items():
        images = np.stack([_face(os.path.join(path, row["file"]), size, color) for row in part])
        dataset.splits[split] = Split(images, np.array([labels.index(row["label"]) for row in part], dtype=np.int64),
                                      [row["file"] for row in part], subjects=[row["subject"] for row in part])
    return dataset
