"""Face detectors for the device, behind one name each: ``blazeface`` (the default: both
BlazeFace models, for faces near and far), ``blazeface-full`` (faces metres away),
``blazeface-short`` (faces within about 2 m) and ``haar`` (OpenCV's cascade, no keypoints).
Large frames are detected on a bounded-size copy; ``tiles`` adds overlapping tiles for crowds
in large frames."""

import glob
import os
from typing import List, Optional

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.device.blazeface import SPECS, BlazeFaceDetector, Detection, box_iou, largest_first, xywh_corners

DEFAULT_DETECTOR = "blazeface"
DETECTORS = (DEFAULT_DETECTOR, *SPECS, "haar")
MIN_FACE = {"blazeface": 16, "blazeface-full": 16, "blazeface-short": 16, "haar": 40}  # default smallest face, pixels
SAME_FACE_IOU = 0.3  # detections overlapping more than this are one face
MAX_DETECT_SIDE = 1920  # frames are detected on a copy no larger than this, boxes mapped back
CASCADE_NAME = "haarcascade_frontalface_alt2.xml"
_CASCADE_FOLDERS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades",
                    "/usr/local/share/opencv4/haarcascades")


def cascade_path() -> str:
    """Path of the frontal-face cascade XML, or a one-line error when OpenCV ships none."""
    folders = [getattr(getattr(cv2, "data", None), "haarcascades", "")] + list(_CASCADE_FOLDERS)
    for folder in folders:
        candidate = os.path.join(folder, CASCADE_NAME)
        if folder and os.path.exists(candidate):
            return candidate
    found = glob.glob(f"/usr/**/{CASCADE_NAME}", recursive=True)
    if found:
        return found[0]
    raise EdgeferError(f"OpenCV's {CASCADE_NAME} was not found; install opencv-python-headless<5 "
                       "or the distribution's opencv-data package")


class HaarDetector:
    """OpenCV's frontal-face Haar cascade; ``Detection``s without keypoints, largest first."""

    name = "haar"

    def __init__(self, min_size: int = 40, scale_factor: float = 1.1, min_neighbors: int = 6):
        self.cascade = cv2.CascadeClassifier(cascade_path())
        self.min_size, self.scale_factor, self.min_neighbors = int(min_size), scale_factor, min_neighbors

    def detect(self, frame: np.ndarray) -> List[Detection]:
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        boxes = self.cascade.detectMultiScale(
            cv2.equalizeHist(gray), scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
        )
        return largest_first([Detection([int(v) for v in b], 1.0, {}, self.name) for b in (boxes if len(boxes) else [])])


class NearAndFarDetector:
    """Both BlazeFace models on every frame: the full-range model's faces (small faces metres
    away, crowds), and the short-range model's faces that none of them overlaps (large, soft or
    cut faces close to the camera). Each detection names the model that found it."""

    name = DEFAULT_DETECTOR

    def __init__(self, min_score: Optional[float] = None, threads: Optional[int] = None):
        self.far = BlazeFaceDetector("blazeface-full", min_score=min_score, threads=threads)
        self.near = BlazeFaceDetector("blazeface-short", min_score=min_score, threads=threads)

    def detect(self, frame: np.ndarray) -> List[Detection]:
        found = self.far.detect(frame)
        for detection in self.near.detect(frame):
            if not _overlaps_any(detection, found):
                found.append(detection)
        return largest_first(found)


def _moved(detection: Detection, scale: float, dx: float = 0.0, dy: float = 0.0) -> Detection:
    """A detection scaled by ``scale`` and then shifted by (dx, dy)."""
    x, y, w, h = detection.box
    box = [int(round(x * scale + dx)), int(round(y * scale + dy)), int(round(w * scale)), int(round(h * scale))]
    points = {k: (round(px * scale + dx, 1), round(py * scale + dy, 1)) for k, (px, py) in detection.keypoints.items()}
    return Detection(box, detection.score, points, detection.detector)


def _overlaps_any(detection: Detection, others: List[Detection], threshold: float = SAME_FACE_IOU) -> bool:
    """Whether ``detection`` overlaps one of ``others`` by more than ``threshold`` (the same face)."""
    return bool(others) and box_iou(xywh_corners([detection.box])[0], xywh_corners([d.box for d in others])).max() > threshold


def merge_detections(detections: List[Detection], threshold: float = SAME_FACE_IOU) -> List[Detection]:
    """Keep the best-scored of every group of detections overlapping by more than ``threshold``."""
    kept = []
    for detection in sorted(detections, key=lambda d: -d.score):
        if not _overlaps_any(detection, kept, threshold):
            kept.append(detection)
    return largest_first(kept)


class FaceFinder:
    """A detector run on a bounded-size copy of the frame, and with ``tiles`` > 0 also on
    ``tiles`` x ``tiles`` overlapping tiles (a quarter of a tile's side shared with the next),
    the detections merged; faces smaller than ``min_size`` pixels are left out."""

    def __init__(self, detector, min_size: int = 0, tiles: int = 0, max_side: int = MAX_DETECT_SIDE):
        self.detector, self.min_size, self.tiles, self.max_side = detector, int(min_size), int(tiles), int(max_side)
        self.name = detector.name

    def detect(self, frame: np.ndarray) -> List[Detection]:
        h, w = frame.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA) \
            if scale < 1.0 else frame
        found = [_moved(d, 1 / scale) for d in self.detector.detect(small)]
        if self.tiles > 0:
            found += self._tiled(small, 1 / scale)
            found = merge_detections(found)
        return [d for d in found if min(d.box[2:]) >= self.min_size]

    def _tiled(self, image: np.ndarray, back: float) -> List[Detection]:
        h, w = image.shape[:2]
        tile_w, tile_h = int(np.ceil(w / (self.tiles - (self.tiles - 1) / 4))), \
            int(np.ceil(h / (self.tiles - (self.tiles - 1) / 4)))
        found = []
        for row in range(self.tiles):
            for col in range(self.tiles):
                x0 = min(w - tile_w, int(col * tile_w * 3 / 4))
                y0 = min(h - tile_h, int(row * tile_h * 3 / 4))
                tile = image[max(0, y0): y0 + tile_h, max(0, x0): x0 + tile_w]
                found += [_moved(d, back, max(0, x0) * back, max(0, y0) * back) for d in self.detector.detect(tile)]
        return found


def make_detector(name: str = DEFAULT_DETECTOR, min_score: Optional[float] = None, min_size: Optional[int] = None,
                  tiles: int = 0, threads: Optional[int] = None) -> FaceFinder:
    """The detector called ``name`` (see ``DETECTORS``), wrapped for large frames and tiles."""
    if name not in DETECTORS:
        raise EdgeferError(f"unknown detector {name!r}; choose one of {', '.join(DETECTORS)}")
    min_size = MIN_FACE[name] if min_size is None else min_size
    if name == "haar":
        detector = HaarDetector(min_size=min_size)
    elif name == DEFAULT_DETECTOR:
        detector = NearAndFarDetector(min_score=min_score, threads=threads)
    else:
        detector = BlazeFaceDetector(name, min_score=min_score, threads=threads)
    return FaceFinder(detector, min_size, tiles)
