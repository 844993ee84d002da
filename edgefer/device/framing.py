"""Cut the classifier's input from a detected face so it is framed like the training data.

A ``CropGeometry`` says, for one detector, how big its box is and where the face's centre (the
mean of the eyes and the mouth, or the box centre without keypoints) lies inside a training
face's frame (measured on FER2013 Training faces by ``edgefer framing fit``). The crop rotates
the face about that centre so the line between the eyes is level, scales it so the box has
that size, and places the centre there. It travels in the model file's metadata (``crop``). Without one (Haar, older model
files), the crop is the box grown by a fixed margin, as before.
"""

import math
from typing import Optional, Tuple

import cv2
import numpy as np

from edgefer.core.metadata import CropGeometry
from edgefer.device.blazeface import Detection

LEGACY_MARGIN = 0.1


def face_centre(detection: Detection) -> Tuple[float, float]:
    """The mean of the eyes and the mouth, which turns with the face; the box centre without them."""
    points = [detection.keypoints[k] for k in ("right_eye", "left_eye", "mouth") if k in detection.keypoints]
    if len(points) == 3:
        return float(np.mean([p[0] for p in points])), float(np.mean([p[1] for p in points]))
    x, y, w, h = detection.box
    return x + w / 2, y + h / 2


def eye_angle(detection: Detection) -> float:
    """Degrees the eye line is tilted (0 when level, or without eye keypoints)."""
    points = detection.keypoints
    if "right_eye" not in points or "left_eye" not in points:
        return 0.0
    (rx, ry), (lx, ly) = points["right_eye"], points["left_eye"]
    return math.degrees(math.atan2(ly - ry, lx - rx))


COLORS = ("grayscale", "rgb")  # a model's input: one grey channel, or red, green and blue


def in_color(frame: np.ndarray, color: str) -> np.ndarray:
    """A BGR (or grey) frame as ``color``: (H, W) grey or (H, W, 3) RGB."""
    if color == "grayscale":
        return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB) if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def aligned_crop(frame: np.ndarray, detection: Detection, geometry: CropGeometry, size: int = 48,
                 color: str = "grayscale") -> np.ndarray:
    """The face as a ``size`` x ``size`` crop in ``color`` framed by ``geometry``; parts beyond the
    frame repeat its border."""
    centre = face_centre(detection) if geometry.align else (detection.box[0] + detection.box[2] / 2,
                                                            detection.box[1] + detection.box[3] / 2)
    side = max(detection.box[2:]) / geometry.box_size  # the crop's side in frame pixels
    work = int(min(max(size, round(side)), 4 * size))  # cut at up to 4x, then shrink with area averaging
    angle = eye_angle(detection) if geometry.align else 0.0
    matrix = cv2.getRotationMatrix2D(centre, angle, work / side)
    matrix[0, 2] += geometry.centre[0] * work - centre[0]
    matrix[1, 2] += geometry.centre[1] * work - centre[1]
    crop = cv2.warpAffine(in_color(frame, color), matrix, (work, work), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    return crop if work == size else cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def margin_crop(frame: np.ndarray, box, size: int = 48, margin: float = LEGACY_MARGIN,
                color: str = "grayscale") -> np.ndarray:
    """The box grown by ``margin`` of its side on each side, resized to ``size``; parts beyond
    the frame repeat its border (the crop for detectors without a fitted geometry)."""
    x, y, w, h = box
    grown = max(w, h) * (1 + 2 * margin)
    geometry = CropGeometry("box", max(w, h) / grown, (0.5, 0.5), align=False)
    return aligned_crop(frame, Detection(list(box), 1.0, {}), geometry, size, color)


def crop_for(frame: np.ndarray, detection: Detection, geometry: Optional[CropGeometry], size: int,
             margin: float, color: str = "grayscale") -> np.ndarray:
    """``aligned_crop`` with the model's geometry, else ``margin_crop``."""
    if geometry is None:
        return margin_crop(frame, detection.box, size, margin, color)
    return aligned_crop(frame, detection, geometry, size, color)
