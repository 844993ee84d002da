"""Load FER2013 (CSV or image folders) and FER+ into one shape: splits of 48x48 uint8 faces.

Split vocabulary, fixed by the dataset card: ``train`` = Training, ``val`` = PublicTest,
``test`` = PrivateTest. Every loader returns a ``FaceDataset``; bad input raises ``EdgeferError``
with a one-line message naming the file and the problem.
"""

import csv
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.images import read_image, shown
from edgefer.core.progress import progress
from edgefer.core.spec import FACE_SIZE, IMAGE_EXTENSIONS, SPLITS, is_image_file, is_number

FER2013_LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
FER2013_CSV_ORDER = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
FER2013_CSV_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
FERPLUS_LABELS = ["angry", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
# label.csv vote columns, in file order, named in our vocabulary
FERPLUS_VOTES = ["neutral", "happy", "surprise", "sad", "angry", "disgust", "fear", "contempt", "unknown", "not-a-face"]
FERPLUS_FOLDERS = {"FER2013Train": "train", "FER2013Valid": "val", "FER2013Test": "test"}
PREPARED_FILE = "dataset.json"  # marks a folder written by ``edgefer data prepare``
FOLDER_SPLITS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}


@dataclass
class Split:
    """One split: ``images`` (N, S, S) uint8 grey or (N, S, S, 3) RGB (FER2013 and FER+: 48x48 grey),
    ``labels`` (N,) int, ``ids`` (N,) str, for FER+ in probability mode ``soft`` (N, C) float vote
    distributions, and for prepared datasets ``subjects`` (N,) str, the person in each face."""

    images: np.ndarray
    labels: np.ndarray
    ids: list
    soft: np.ndarray = None
    subjects: list = None

    def __len__(self):
        return len(self.labels)

    def targets(self, n_classes):
        """(N, n_classes) float32 training targets: ``soft`` when there is one, else the one-hot labels."""
        return self.soft if self.soft is not None else np.eye(n_classes, dtype=np.float32)[self.labels]

    def subset(self, index):
        index = np.asarray(index, dtype=int)
        soft = None if self.soft is None else self.soft[index]
        subjects = None if self.subjects is None else [self.subjects[i] for i in index]
        return Split(self.images[index], self.labels[index], [self.ids[i] for i in index], soft, subjects)


@dataclass
class FaceDataset:
    """A named dataset: its label list and its splits (a subset of train / val / test); its faces'
    side, colour and, for a prepared dataset, the crop geometry they were cut with."""

    name: str
    path: str
    labels: list
    splits: dict = field(default_factory=dict)
    face_size: int = FACE_SIZE
    color: str = "grayscale"
    crop: dict = None  # prepared datasets: {detector: geometry as in the model metadata}

    @property
    def prepared(self) -> bool:
        return self.crop is not None

    def split(self, name):
        if name not in SPLITS:
            raise EdgeferError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        if name not in self.splits or len(self.splits[name]) == 0:
            raise EdgeferError(f"{self.path}: split {name!r} has no images")
        return self.splits[name]

    def counts(self):
        """{split: {label: count}} for every split present."""
        return {
            s: {label: int((part.labels == i).sum()) for i, label in enumerate(self.labels)}
            for s, part in self.splits.items()
        }


def to_face(image):
    """Any decoded image (gray, BGR or BGRA) -> 48x48 grayscale uint8."""
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    if image.shape != (FACE_SIZE, FACE_SIZE):
        image = cv2.resize(image, (FACE_SIZE, FACE_SIZE), interpolation=cv2.INTER_AREA)
    return image


def read_face(path):
    """Read one image file as a 48x48 grayscale face, or raise a one-line error."""
    image = read_image(path, cv2.IMREAD_UNCHANGED)
    if image.dtype != np.uint8:
        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
    return to_face(image)


def read_faces(paths, desc="reading images"):
    """Decode many image files in parallel threads; returns (N, 48, 48) uint8."""
    images = np.zeros((len(paths), FACE_SIZE, FACE_SIZE), np.uint8)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for i, face in enumerate(progress(pool.map(read_face, paths), total=len(paths), desc=desc)):
            images[i] = face
    return images


def _class_folders(folder, labels):
    """Yield (label index, image path) for the class folders in ``folder``."""
    for name in sorted(os.listdir(folder)):
        sub = os.path.join(folder, name)
        if not os.path.isdir(sub):
            continue
        if name not in labels:
            raise EdgeferError(f"{sub}: unknown class folder {name!r} (expected one of {', '.join(labels)})")
        for file in sorted(os.listdir(sub)):
            if file.startswith("."):
                continue
            if shown(file) != file:  # ids and manifests are UTF-8 text
                print(f"warning: {shown(os.path.join(sub, file))}: the name is not UTF-8; skipped", file=sys.stderr)
                continue
            yield labels.index(name), os.path.join(sub, file)


def _split_from_files(entries, desc):
    """Build a Split from [(label, path)]; ids are file names without extension."""
    for _, path in entries:
        if not is_image_file(path):
            raise EdgeferError(f"{path}: not an image file (expected {', '.join(IMAGE_EXTENSIONS)})")
    paths = [p for _, p in entries]
    labels = np.array([label for label, _ in entries], dtype=np.int64)
    ids = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    return Split(read_faces(paths, desc), labels, ids)


def load_fer2013_folders(path, splits=SPLITS):
    """FER2013 image folders: Kaggle's ``train/`` + ``test/`` (PublicTest_/PrivateTest_ prefixes)
    or plain ``train/ val|validation/ test/`` class folders."""
    labels = FER2013_LABELS
    subdirs = {d.lower(): d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d))}
    kaggle = "test" in subdirs and not ({"val", "valid", "validation"} & set(subdirs))
    entries = {s: [] for s in SPLITS}
    for lower, name in subdirs.items():
        if lower not in FOLDER_SPLITS:
            continue
        for label, file in _class_folders(os.path.join(path, name), labels):
            split = FOLDER_SPLITS[lower]
            if kaggle and split == "test":
                base = os.path.basename(file)
                split = "val" if base.startswith("PublicTest_") else "test" if base.startswith("PrivateTest_") else None
                if split is None:
                    raise EdgeferError(f"{file}: test image without a PublicTest_ or PrivateTest_ prefix")
            entries[split].append((label, file))
    dataset = FaceDataset("fer2013", path, labels)
    for split in splits:
        if not entries[split]:
            raise EdgeferError(f"{path}: split {split!r} has no images")
        dataset.splits[split] = _split_from_files(entries[split], f"reading {split}")
    return dataset


def load_fer2013_csv(path, splits=SPLITS):
    """The challenge's ``fer2013.csv``: columns emotion, pixels, Usage."""
    wanted = ["emotion", "pixels", "Usage"]
    rows = {s: [] for s in SPLITS}
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # spreadsheet programs add a byte-order mark
            reader = csv.reader(f)
            header = [h.strip() for h in next(reader, [])]
            if header[:3] != wanted:
                raise EdgeferError(f"{path}: expected columns {','.join(wanted)}, found {','.join(header) or 'nothing'}")
            for line, row in enumerate(reader, start=2):
                if not row:  # a blank line, or the extra \r of a file saved with \r\r\n line ends
                    continue
                if len(row) < 3:
                    raise EdgeferError(f"{path} line {line}: expected 3 fields, found {len(row)}")
                emotion, pixels, usage = row[0], row[1], row[2].strip()
                if usage not in FER2013_CSV_USAGE:
                    raise EdgeferError(f"{path} line {line}: unknown Usage {usage!r}")
                rows[FER2013_CSV_USAGE[usage]].append((line, emotion, pixels))
    except UnicodeDecodeError:
        raise EdgeferError(f"{path}: not a text CSV file") from None
    except csv.Error as exc:
        raise EdgeferError(f"{path}: not a readable CSV file ({exc})") from None
    dataset = FaceDataset("fer2013", path, FER2013_LABELS)
    for split in splits:
        if not rows[split]:
            raise EdgeferError(f"{path}: split {split!r} has no images")
        n = len(rows[split])
        images = np.zeros((n, FACE_SIZE, FACE_SIZE), np.uint8)
        labels = np.zeros(n, np.int64)
        for i, (line, emotion, pixels) in enumerate(rows[split]):
            values = pixels.split()
            if len(values) != FACE_SIZE * FACE_SIZE:
                raise EdgeferError(f"{path} line {line}: pixels has {len(values)} values, expected {FACE_SIZE * FACE_SIZE}")
            if not is_number(emotion.strip()) or int(emotion) >= len(FER2013_CSV_ORDER):
                raise EdgeferError(f"{path} line {line}: emotion {emotion!r} is not a class number 0-6")
            try:
                images[i] = np.array(values, dtype=np.int64).clip(0, 255).reshape(FACE_SIZE, FACE_SIZE)
            except ValueError:
                raise EdgeferError(f"{path} line {line}: pixels are not integers") from None
            labels[i] = FER2013_LABELS.index(FER2013_CSV_ORDER[int(emotion)])
        dataset.splits[split] = Split(images, labels, [f"row{line - 2:05d}" for line, _, _ in rows[split]])
    return dataset


FERPLUS_MODES = ("majority", "plurality", "probability", "seven")


def load_ferplus(path, splits=SPLITS, mode="majority"):
    """FER+ folders with ``label.csv`` vote files. ``mode``:

    - ``majority``: the FER+ authors' rule (their reader, the protocol of their published
      figures): single votes are dropped as noise, and an image is kept only when its most-voted
      emotion then holds more than half of the votes;
    - ``plurality``: every image labelled with its most-voted emotion (ties go to the first label);
    - ``probability``: the same images with the vote distribution as soft targets;
    - ``seven``: ``majority`` in FER2013's seven classes (contempt images dropped too).

    Images whose most-voted answer is unknown or not-a-face are always dropped."""
    if mode not in FERPLUS_MODES:
        raise EdgeferError(f"unknown FER+ label mode {mode!r}; choose {', '.join(FERPLUS_MODES)}")
    order = [FERPLUS_LABELS.index(v) for v in FERPLUS_VOTES[:8]]
    dataset = FaceDataset("ferplus", path, FER2013_LABELS if mode == "seven" else FERPLUS_LABELS)
    for folder, split in FERPLUS_FOLDERS.items():
        if split not in splits:
            continue
        label_file = os.path.join(path, folder, "label.csv")
        if not os.path.exists(label_file):
            raise EdgeferError(f"{label_file}: FER+ label file not found")
        files, soft, clear = _read_votes(label_file, os.path.join(path, folder), order)
        if not files:
            raise EdgeferError(f"{label_file}: split {split!r} has no images")
        soft = np.stack(soft)
        part = _split_from_files([(0, p) for p in files], f"reading {split}")
        part.labels = soft.argmax(axis=1)
        part.soft = soft if mode == "probability" else None
        if mode in ("majority", "seven"):
            part = part.subset(np.flatnonzero(clear))
        if mode == "seven":
            part = _without_contempt(part)
        dataset.splits[split] = part
    return dataset


def _without_contempt(part):
    """A FER+ majority split in FER2013's seven classes: contempt images dropped, labels renumbered."""
    contempt = FERPLUS_LABELS.index("contempt")
    kept = part.subset(np.flatnonzero(part.labels != contempt))
    kept.labels = np.array([FER2013_LABELS.index(FERPLUS_LABELS[i]) for i in kept.labels], dtype=kept.labels.dtype)
    return kept


def _read_votes(label_file, folder, order):
    """(image paths, vote distributions over FERPLUS_LABELS, whether each has a clear majority by
    the FER+ authors' rule) from one FER+ ``label.csv``."""
    files, soft, clear = [], [], []
    try:
        with open(label_file, newline="", encoding="utf-8-sig") as f:
            for line, row in enumerate(csv.reader(f), start=1):
                if len(row) != 12:
                    raise EdgeferError(f"{label_file} line {line}: expected 12 fields (name, box, 10 votes), "
                                       f"found {len(row)}")
                try:
                    votes = np.array(row[2:], dtype=np.float32)
                except ValueError:
                    raise EdgeferError(f"{label_file} line {line}: votes are not numbers") from None
                if not np.isfinite(votes).all() or (votes < 0).any():
                    raise EdgeferError(f"{label_file} line {line}: votes must be counts of 0 or more")
                if votes.sum() == 0 or votes.argmax() >= 8:
                    continue
                dist = np.zeros(len(FERPLUS_LABELS), np.float32)
                dist[order] = votes[:8] / votes[:8].sum()
                files.append(os.path.join(folder, os.path.basename(row[0])))
                soft.append(dist)
                counted = np.where(votes > 1, votes, 0)  # a single vote is noise
                clear.append(bool(counted.max() > counted.sum() / 2))
    except UnicodeDecodeError:
        raise EdgeferError(f"{label_file}: not a text CSV file") from None
    except csv.Error as exc:
        raise EdgeferError(f"{label_file}: not a readable CSV file ({exc})") from None
    return files, soft, clear


def load_dataset(path, splits=SPLITS, ferplus_mode="majority", split_file=None):
    """Detect the dataset form at ``path`` and load the requested splits (a prepared dataset: every
    face, in the splits ``split_file`` (a run's splits.json) or its manifest names, else all in ``train``)."""
    path = os.path.expanduser(str(path))
    if not os.path.exists(path):
        raise EdgeferError(f"{path}: dataset not found")
    if split_file and not os.path.exists(os.path.join(path, PREPARED_FILE)):
        raise EdgeferError(f"{split_file}: a run's splits apply to a prepared dataset (edgefer data prepare), not {path}")
    if os.path.isfile(path):
        if path.lower().endswith(".csv"):
            return load_fer2013_csv(path, splits)
        raise EdgeferError(f"{path}: not a dataset (expected fer2013.csv or a dataset folder)")
    names = set(os.listdir(path))
    if PREPARED_FILE in names:
        from edgefer.data.prepared import load_prepared

        return load_prepared(path, split_file)
    if "FER2013Train" in names or "FER2013Test" in names:
        return load_ferplus(path, splits, ferplus_mode)
    if "fer2013.csv" in names:
        return load_fer2013_csv(os.path.join(path, "fer2013.csv"), splits)
    if {n.lower() for n in names} & set(FOLDER_SPLITS):
        return load_fer2013_folders(path, splits)
    for child in ("fer2013", "ferplus"):  # a folder holding one extracted dataset
        if child in names:
            return load_dataset(os.path.join(path, child), splits, ferplus_mode)
    raise EdgeferError(f"{path}: no FER2013 CSV, FER2013 image folders, FER+ label files or prepared dataset "
                       "(edgefer data prepare) found")


def stratified_indices(labels, n, seed):
    """Indices of a class-stratified random subset of size ``min(n, len(labels))``."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    if n >= len(labels):
        return np.arange(len(labels))
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts / counts.sum() * n).astype(int)
    for i in np.argsort(-(counts / counts.sum() * n - quota))[: n - quota.sum()]:
        quota[i] += 1
    picked = [rng.choice(np.flatnonzero(labels == c), q, replace=False) for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picked))
