"""Face detection and face crops for the device (OpenCV only, no downloads).

The detector is OpenCV's bundled frontal-face Haar cascade, found in the installed OpenCV
(pip wheels) or in the distribution's OpenCV data folder (Raspberry Pi OS, Debian).
"""

import glob
import os

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError

CASCADE_NAME = "haarcascade_frontalface_alt2.xml"
_CASCADE_FOLDERS = ("/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades", "/usr/local/share/opencv4/haarcascades")


def cascade_path():
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


class FaceDetector:
    """Finds faces in a BGR or grayscale frame; returns [x, y, w, h] boxes, largest first."""

    def __init__(self, min_size=40, scale_factor=1.1, min_neighbors=6):
        self.cascade = cv2.CascadeClassifier(cascade_path())
        self.min_size, self.scale_factor, self.min_neighbors = int(min_size), scale_factor, min_neighbors

    def detect(self, frame):
        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        boxes = self.cascade.detectMultiScale(
            cv2.equalizeHist(gray), scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
        )
        boxes = [list(map(int, b)) for b in (boxes if len(boxes) else [])]
        return sorted(boxes, key=lambda b: -b[2] * b[3])


def crop_face(frame, box, size=48, margin=0.1):
    """The face in ``box`` grown by ``margin`` on each side, as a size x size grayscale uint8 crop.
    Parts of the grown box outside the frame are filled by replicating the border."""
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    x, y, w, h = box
    pad_w, pad_h = int(round(w * margin)), int(round(h * margin))
    x0, y0, x1, y1 = x - pad_w, y - pad_h, x + w + pad_w, y + h + pad_h
    border = max(0, -x0, -y0, x1 - gray.shape[1], y1 - gray.shape[0])
    if border:
        gray = cv2.copyMakeBorder(gray, border, border, border, border, cv2.BORDER_REPLICATE)
        x0, y0, x1, y1 = x0 + border, y0 + border, x1 + border, y1 + border
    crop = gray[y0:y1, x0:x1]
    if crop.size == 0:
        raise EdgeferError(f"face box {box} lies outside the frame")
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA).astype(np.uint8)
