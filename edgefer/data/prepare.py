"""``edgefer data prepare``: photos and videos with labels -> a dataset of face crops cut by the device's face stage.

SRC is class folders (``SRC/<label>/<photo or video>``) or a CSV (``path,label[,subject][,split]``,
paths relative to the CSV's folder). Every face is found by the default detector and cut with the
crop geometry the device uses, so a model trained on the crops sees faces framed as it will on the
device. The dataset folder holds ``faces/<label>/NNNNNN.png``, ``manifest.csv`` (one row per face:
its file, label, subject, split, source, frame, box, score, detector), ``dataset.json`` (labels,
size, colour, geometry, counts) and ``report.json`` (every input and what became of it). It is
written beside its final place and renamed into it, so a failed run leaves nothing; nothing under
SRC is written. Inputs are taken in sorted order and nothing is random: the same SRC gives the same
dataset.
"""

import csv
import io
import os
import re
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError, WriteError
from edgefer.core.files import check_output_folder, write_json, write_text
from edgefer.core.images import read_image, shown
from edgefer.core.metadata import MAX_LABEL_CHARS, CropGeometry, read_geometry
from edgefer.core.progress import progress
from edgefer.core.spec import SPLITS, is_image_file, is_video_file
from edgefer.data import FER2013_GEOMETRY
from edgefer.data.datasets import PREPARED_FILE
from edgefer.data.prepared import FORMAT_VERSION, MANIFEST_FILE, PREPARED_FORMAT
from edgefer.device.framing import COLORS, aligned_crop

REPORT_FILE = "report.json"
MANIFEST_COLUMNS = ("file", "label", "subject", "split", "source", "frame", "x", "y", "w", "h", "score", "detector")
FACE_CHOICES = ("largest", "all", "single")  # per photo or video frame


@dataclass(frozen=True)
class PrepareOptions:
    """How ``prepare`` cuts and keeps faces."""

    size: int = 48
    color: str = "grayscale"
    faces: str = "largest"  # largest: the largest face; all: every face; single: skip frames with several
    fps: float = 2.0  # video frames sampled per second
    labels: Tuple[str, ...] = ()  # fixes the label order and drops the others (empty: every label found, sorted)
    subject_pattern: str = ""  # a regex on file names whose first group (or match) names the person
    columns: Dict[str, str] = field(default_factory=dict)  # CSV column of path, label, subject, split


@dataclass(frozen=True)
class Item:
    """One input file with what SRC says of it."""

    path: str
    label: str
    subject: str = ""
    split: str = ""


def subject_of(path: str, pattern: str) -> str:
    """The person in ``path``: ``pattern``'s first group (or whole match) on the file name, else the
    file's own name (each file its own person: person-independence is then not guaranteed)."""
    name = os.path.splitext(os.path.basename(path))[0]
    if pattern:
        match = re.search(pattern, os.path.basename(path))
        if match:
            return match.group(1) if match.groups() else match.group(0)
    return name


def folder_items(src: str, pattern: str) -> List[Item]:
    """Class folders: every file below ``SRC/<label>/`` (sub-folders too), in sorted order."""
    items = []
    for label in sorted(os.listdir(src)):
        folder = os.path.join(src, label)
        if label.startswith(".") or not os.path.isdir(folder):
            continue
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if not name.startswith("."):
                    path = os.path.join(root, name)
                    items.append(Item(path, label, subject_of(path, pattern)))
    if not items:
        raise EdgeferError(f"{src}: no class folders with files (expected SRC/<label>/<photo or video>)")
    return items


CSV_ROLES = ("path", "label", "subject", "split")


def csv_items(path: str, columns: Dict[str, str], pattern: str) -> List[Item]:
    """A CSV with a header naming the columns of path and label (and optionally subject and split);
    ``columns`` maps a role to another column name. Paths are relative to the CSV's folder."""
    names = {role: columns.get(role, role) for role in CSV_ROLES}
    if "path" not in columns:
        names["path"] = None  # "path", "image", "file" or "filename", whichever the header has
    base = os.path.dirname(os.path.abspath(path))
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [h.strip() for h in reader.fieldnames or []]
            reader.fieldnames = header
            if names["path"] is None:
                names["path"] = next((c for c in ("path", "image", "file", "filename") if c in header), "path")
            for role in ("path", "label"):
                if names[role] not in header:
                    raise EdgeferError(f"{path}: no column {names[role]!r} for the {role} (columns: {', '.join(header)}; "
                                       f"name it with --column {role}=NAME)")
            items = []
            for row in reader:
                value = (row.get(names["path"]) or "").strip()
                if not value:
                    continue
                file = os.path.normpath(os.path.join(base, value))
                subject = (row.get(names["subject"]) or "").strip() or subject_of(file, pattern)
                items.append(Item(file, (row.get(names["label"]) or "").strip(), subject,
                                  (row.get(names["split"]) or "").strip().lower()))
    except UnicodeDecodeError:
        raise EdgeferError(f"{path}: not a text CSV file") from None
    except csv.Error as exc:
        raise EdgeferError(f"{path}: not a readable CSV file ({exc})") from None
    if not items:
        raise EdgeferError(f"{path}: no rows")
    return items


def read_items(src: str, options: PrepareOptions) -> List[Item]:
    """The inputs SRC names: a CSV file, or class folders."""
    if not os.path.exists(src):
        raise EdgeferError(f"{src}: not found")
    if os.path.isfile(src):
        if not src.lower().endswith(".csv"):
            raise EdgeferError(f"{src}: expected a CSV file or a folder of class folders")
        return csv_items(src, options.columns, options.subject_pattern)
    return folder_items(src, options.subject_pattern)


def chosen_labels(items: Sequence[Item], wanted: Sequence[str]) -> List[str]:
    """``wanted`` in its order, else every label found, sorted; each a usable name."""
    labels = list(wanted) or sorted({item.label for item in items if item.label})
    for label in labels:
        if not label.strip() or not label.isprintable() or len(label) > MAX_LABEL_CHARS:
            raise EdgeferError(f"label {label!r} must be printable and at most {MAX_LABEL_CHARS} characters")
    if len(set(labels)) != len(labels):
        raise EdgeferError(f"--labels names a label twice ({', '.join(labels)})")
    if len(labels) < 2:
        raise EdgeferError(f"a classifier needs at least two labels, found {labels or 'none'}")
    return labels


def _frames(path: str, fps: float) -> Iterator[Tuple[int, np.ndarray]]:
    """(frame number, BGR image): the photo as frame 0, or a video sampled at ``fps``."""
    if not is_video_file(path):
        yield 0, read_image(path)
        return
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise EdgeferError("cannot be opened as a video")
    rate = capture.get(cv2.CAP_PROP_FPS)
    step = max(1, int(round(rate / fps))) if rate and rate > 0 else 1
    number = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            if number % step == 0:
                yield number, image
            number += 1
    finally:
        capture.release()
    if number == 0:
        raise EdgeferError("no frame could be read from the video")


def _area(detection) -> float:
    return float(detection.box[2] * detection.box[3])


class Preparer:
    """The face stage and the crop geometry, applied to one input at a time."""

    def __init__(self, options: PrepareOptions, geometry: Dict[str, CropGeometry]):
        from edgefer.device.faces import make_detector

        self.options, self.geometry = options, geometry
        self.finder = make_detector()

    def faces(self, image: np.ndarray) -> Tuple[list, int]:
        """(the detections kept, how many were found) in one frame."""
        found = sorted(self.finder.detect(image), key=_area, reverse=True)
        if self.options.faces == "all" or not found:
            return found, len(found)
        if self.options.faces == "single" and len(found) > 1:
            return [], len(found)
        return found[:1], len(found)

    def crop(self, image: np.ndarray, detection) -> np.ndarray:
        return aligned_crop(image, detection, self.geometry[detection.detector], self.options.size, self.options.color)


def _skip_reason(item: Item, labels: List[str]) -> Optional[str]:
    if shown(item.path) != item.path:
        return "name not UTF-8"
    if not os.path.exists(item.path):
        return "missing file"
    if not os.path.isfile(item.path):
        return "not a regular file"
    if not (is_image_file(item.path) or is_video_file(item.path)):
        return "not a photo or video"
    if item.label not in labels:
        return "unknown label" if item.label else "no label"
    if item.split and item.split not in SPLITS:
        return "unknown split"
    return None


def prepare(src: str, out: str, options: PrepareOptions = PrepareOptions()) -> dict:
    """Prepare the dataset ``out`` from ``src``; returns the report (also in ``out/report.json``)."""
    if options.color not in COLORS:
        raise EdgeferError(f"unknown colour {options.color!r}; choose {', '.join(COLORS)}")
    if options.faces not in FACE_CHOICES:
        raise EdgeferError(f"unknown face choice {options.faces!r}; choose {', '.join(FACE_CHOICES)}")
    src_real, out_real = os.path.realpath(src), os.path.realpath(out)
    if out_real == src_real or out_real.startswith(src_real + os.sep) or src_real.startswith(out_real + os.sep):
        raise EdgeferError(f"{out}: the dataset must lie outside SRC ({src}), which is only read")
    if os.path.exists(out_real) and (not os.path.isdir(out_real) or os.listdir(out_real)):
        raise EdgeferError(f"{out}: already exists; choose a new folder (nothing was written)")
    items = read_items(src, options)
    labels = chosen_labels(items, options.labels)
    geometry = read_geometry(FER2013_GEOMETRY)
    preparer = Preparer(options, geometry)
    parent = os.path.dirname(out_real)
    check_output_folder(parent)
    work = tempfile.mkdtemp(prefix=f".{os.path.basename(out_real)}.edgefer-{os.getpid()}-", dir=parent)
    try:
        report = _write_dataset(work, src, items, labels, preparer)
        if os.path.isdir(out_real):
            os.rmdir(out_real)  # empty, checked above
        os.replace(work, out_real)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    print(summary_sentence(report, out), file=sys.stderr, flush=True)
    return report


def _write_dataset(folder: str, src: str, items: List[Item], labels: List[str], preparer: Preparer) -> dict:
    options = preparer.options
    rows, inputs, reasons = [], [], Counter()
    for label in labels:
        os.makedirs(os.path.join(folder, "faces", label), exist_ok=True)
    for item in progress(items, total=len(items), desc="preparing faces"):
        record = {"source": shown(os.path.relpath(item.path, src if os.path.isdir(src) else os.path.dirname(src))),
                  "label": item.label}
        reason = _skip_reason(item, labels)
        if reason is None:
            reason, record["frames"], record["faces"], record["several_faces"] = _add_faces(
                folder, item, record["source"], preparer, rows)
        if reason:
            record["skipped"] = reason
            reasons[reason] += 1
        inputs.append(record)
    _write_manifest(folder, rows)
    counts = Counter(row["label"] for row in rows)
    dataset = {
        "format": PREPARED_FORMAT, "version": FORMAT_VERSION, "labels": labels, "size": options.size, "color": options.color,
        "faces_per_frame": options.faces, "video_fps": options.fps, "detector": "blazeface",
        "crop": {name: g.to_metadata() for name, g in preparer.geometry.items()},
        "source": os.path.abspath(src), "faces": len(rows), "counts": {label: counts[label] for label in labels},
        "subjects": len({row["subject"] for row in rows}),
        "splits": dict(sorted(Counter(row["split"] for row in rows if row["split"]).items())),
    }
    write_json(os.path.join(folder, PREPARED_FILE), dataset)
    report = {"source": os.path.abspath(src), "inputs": len(items), "faces": len(rows),
              "inputs_with_faces": sum(1 for r in inputs if r.get("faces")),
              "skipped": dict(sorted(reasons.items())),
              "several_faces": sum(1 for r in inputs if r.get("several_faces")),
              "files": inputs}
    write_json(os.path.join(folder, REPORT_FILE), report)
    return report


def _add_faces(folder: str, item: Item, source: str, preparer: Preparer, rows: list):
    """Cut the faces of one input into ``folder``; (skip reason or None, frames, faces, frames with several faces)."""
    frames = faces = several = 0
    try:
        for number, image in _frames(item.path, preparer.options.fps):
            frames += 1
            kept, found = preparer.faces(image)
            several += found > 1
            for detection in kept:
                crop = preparer.crop(image, detection)
                name = f"{len(rows) + 1:06d}.png"
                file = os.path.join("faces", item.label, name)
                bgr = cv2.cvtColor(crop, cv2.COLOR_RGB2BGR) if crop.ndim == 3 else crop
                if not cv2.imwrite(os.path.join(folder, file), bgr):
                    raise WriteError(f"{os.path.join(folder, file)}: could not write (is the disk full?)")
                x, y, w, h = (int(round(v)) for v in detection.box)
                rows.append({"file": file, "label": item.label, "subject": item.subject, "split": item.split,
                             "source": source, "frame": number, "x": x, "y": y, "w": w, "h": h,
                             "score": f"{detection.score:.4f}", "detector": detection.detector})
                faces += 1
    except WriteError:
        raise
    except EdgeferError:  # the photo or video cannot be read
        return "unreadable file", frames, faces, several
    if faces == 0:
        return ("several faces" if several else "no face"), frames, 0, several
    return None, frames, faces, several


def _write_manifest(folder: str, rows: list) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=MANIFEST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(os.path.join(folder, MANIFEST_FILE), text.getvalue())


def summary_sentence(report: dict, out: str) -> str:
    """One sentence: faces written, inputs used, and what was skipped why."""
    skipped = sum(report["skipped"].values())
    why = "; ".join(f"{n} {reason}" for reason, n in report["skipped"].items())
    several = f"; {report['several_faces']} with several faces" if report["several_faces"] else ""
    return (f"{out}: {report['faces']} faces from {report['inputs_with_faces']} of {report['inputs']} inputs"
            f"{several}; {skipped} skipped" + (f" ({why})" if why else "") + f"; see {os.path.join(out, REPORT_FILE)}")
