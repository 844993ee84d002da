"""Fit and check the crop geometry: where a detector frames FER2013's faces.

Each 48x48 face is staged as a real frame would show it: enlarged ``STAGE_SCALE`` times and
placed in the middle of a grey canvas ``CANVAS`` times its size. The detector runs on that
frame; the median box size and centre, in fractions of the face, are the geometry. The check
runs the whole device path (detect, align, crop, classify) on staged faces of another split
and compares its accuracy with the classifier's on the 48x48 faces themselves.
"""

from typing import Optional, Tuple

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.metrics import classification_metrics
from edgefer.core.progress import progress
from edgefer.device.faces import FaceFinder
from edgefer.device.framing import CropGeometry, crop_for, face_centre
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
                  geometry: Optional[CropGeometry]) -> dict:
    """Accuracy on the 48x48 faces and through the device path on staged faces (an undetected
    face counts as wrong), with the detection rate."""
    direct = classifier.predict(faces).argmax(1)
    recut = np.full(len(faces), -1)
    for i, face in enumerate(progress(faces, total=len(faces), desc="detect, align, crop, classify")):
        frame, detection, _, _ = _staged_detection(face, finder)
        if detection is not None:
            crop = crop_for(frame, detection, geometry, classifier.face_size, 0.1)
            recut[i] = classifier.predict(crop)[0].argmax()
    found = recut >= 0
    names = classifier.labels
    return {
        "n": int(len(faces)),
        "detector": finder.name,
        "geometry": geometry.to_metadata() if geometry else None,
        "detection_rate": float(found.mean()),
        "accuracy_direct": classification_metrics(labels, direct, names)["accuracy"],
        "accuracy_device_path": float((recut == labels).mean()),
        "accuracy_device_path_detected": float((recut[found] == labels[found]).mean()) if found.any() else 0.0,
    }
