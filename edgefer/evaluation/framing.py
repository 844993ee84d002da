"""Fit and check the crop geometry: where a detector frames FER2013's faces.

Each 48x48 face is staged as a real frame would show it: enlarged ``STAGE_SCALE`` times and
placed in the middle of a grey canvas ``CANVAS`` times its size. The detector runs on that
frame; the median box size and centre, in fractions of the face, are the geometry. The check
runs the whole device path (detect, align, crop, classify) on staged faces of another split
and compares its accuracy with the classifier's on the 48x48 faces themselves.
"""

import os
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_file, write_json
from edgefer.core.metadata import CropGeometry, read_geometry, read_metadata, update_metadata
from edgefer.core.metrics import classification_metrics
from edgefer.core.progress import progress
from edgefer.core.spec import check_labels
from edgefer.data.datasets import load_dataset, stratified_indices
from edgefer.device.blazeface import SPECS
from edgefer.device.bundled import resolve_model
from edgefer.device.faces import FaceFinder, make_detector
from edgefer.device.framing import LEGACY_MARGIN, crop_for, face_centre
from edgefer.device.runtime import Classifier

STAGE_SCALE = 4
CANVAS = 2.0
CANVAS_GREY = 128


def stage(face: np.ndarray) -> Tuple[np.ndarray, int, int]:
    """(BGR frame, face offset, face side): the face enlarged and centred on a grey canvas."""
    side = face.shape[0] * STAGE_SCALE
    big = cv2.resize(face, (side, side), interpolation=cv2.INTER_NEAREST)
    canvas_side = int(side * CANVAS)
    offset = (canvas_side - side) // 2
    canvas = np.full((canvas_side, canvas_side), CANVAS_GREY, np.uint8)
    canvas[offset:offset + side, offset:offset + side] = big
    return cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR), offset, side


def _staged_detection(face: np.ndarray, finder: FaceFinder):
    """(detection, offset, side) for the detection whose centre lies on the staged face, or None."""
    frame, offset, side = stage(face)
    for detection in finder.detect(frame):
        x, y, w, h = detection.box
        if offset <= x + w / 2 <= offset + side and offset <= y + h / 2 <= offset + side:
            return frame, detection, offset, side
    return frame, None, offset, side


def fit_geometry(faces: np.ndarray, finder: FaceFinder) -> Tuple[CropGeometry, dict]:
    """The median geometry of ``finder``'s boxes on staged ``faces``; returns it and a summary
    (faces tried, found, spread of the measurements)."""
    sizes, centres = [], []
    for face in progress(faces, total=len(faces), desc=f"fitting {finder.name}"):
        _, detection, offset, side = _staged_detection(face, finder)
        if detection is None:
            continue
        cx, cy = face_centre(detection)
        sizes.append(max(detection.box[2:]) / side)
        centres.append(((cx - offset) / side, (cy - offset) / side))
    if len(sizes) < max(10, len(faces) // 10):
        raise EdgeferError(f"{finder.name} found only {len(sizes)} of {len(faces)} staged faces; cannot fit a geometry")
    centre = np.median(np.array(centres), axis=0)
    geometry = CropGeometry(finder.name, round(float(np.median(sizes)), 4),
                            (round(float(centre[0]), 4), round(float(centre[1]), 4)))
    summary = {"faces": len(faces), "found": len(sizes), "box_size_iqr": np.percentile(sizes, [25, 75]).round(4).tolist(),
               "centre_iqr": np.percentile(np.array(centres), [25, 75], axis=0).round(4).tolist()}
    return geometry, summary


def framing_check(classifier: Classifier, faces: np.ndarray, labels: np.ndarray, finder: FaceFinder,
                  geometries: Dict[str, CropGeometry]) -> dict:
    """Accuracy on the 48x48 faces and through the device path on staged faces (an undetected
    face counts as wrong), with the detection rate; each face is cut with the geometry of the
    detector that found it."""
    direct = classifier.predict(faces).argmax(1)
    recut = np.full(len(faces), -1)
    for i, face in enumerate(progress(faces, total=len(faces), desc="detect, align, crop, classify")):
        frame, detection, _, _ = _staged_detection(face, finder)
        if detection is not None:
            crop = crop_for(frame, detection, geometries.get(detection.detector), classifier.face_size, LEGACY_MARGIN)
            recut[i] = classifier.predict(crop)[0].argmax()
    found = recut >= 0
    names = classifier.labels
    return {
        "n": int(len(faces)),
        "detector": finder.name,
        "geometry": {name: geometry.to_metadata() for name, geometry in geometries.items()},
        "detection_rate": float(found.mean()),
        "accuracy_direct": classification_metrics(labels, direct, names)["accuracy"],
        "accuracy_direct_detected": float((direct[found] == labels[found]).mean()) if found.any() else 0.0,
        "accuracy_device_path": float((recut == labels).mean()),
        "accuracy_device_path_detected": float((recut[found] == labels[found]).mean()) if found.any() else 0.0,
    }


def fit_all(data: str, out_path: str, limit: int = 2000, models: Sequence[str] = ()) -> dict:
    """Fit every BlazeFace variant on ``limit`` stratified training faces of ``data``; write the
    geometry JSON to ``out_path`` and into each model file's metadata (``crop``)."""
    check_output_file(out_path)
    for model in models:
        read_metadata(model)
    dataset = load_dataset(data, ("train",))
    train = dataset.split("train")
    faces = train.images[stratified_indices(train.labels, limit, seed=0)]
    geometries, fitted = {}, {}
    for name in SPECS:
        geometries[name], fitted[name] = fit_geometry(faces, make_detector(name, min_size=0))
    crop = {name: geometry.to_metadata() for name, geometry in geometries.items()}
    result = {"crop": crop, "fitted_on": {"dataset": dataset.name, "split": "train", "faces": fitted}}
    write_json(out_path, result)
    for model in models:
        update_metadata(model, crop=geometries)
    return result


def check_split(data: str, model_path: Optional[str], geometry_path: Optional[str], detector: str, split: str,
                limit: int = 0) -> dict:
    """``framing_check`` on ``split`` of ``data`` with the model's geometry (or the file's)."""
    classifier = Classifier(resolve_model(model_path))
    dataset = load_dataset(data, (split,))
    check_labels(dataset.labels, classifier.labels, data, "dataset labels")
    part = dataset.split(split)
    if limit:
        part = part.subset(stratified_indices(part.labels, limit, seed=0))
    geometries = read_geometry(geometry_path) if geometry_path else classifier.metadata.crop
    report = framing_check(classifier, part.images, part.labels, make_detector(detector, min_size=0), geometries)
    return {"dataset": dataset.name, "split": split, "model": os.path.basename(classifier.path), **report}
