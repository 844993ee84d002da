"""MediaPipe's BlazeFace face detectors on the device's TFLite interpreter, decoded here.

Each model is a single-shot detector: for every anchor it outputs a face score (a logit) and
16 numbers, the box centre offset, its width and height, then six keypoints (the person's right
eye, left eye, nose tip, mouth centre, right ear, left ear), all in input pixels relative to the
anchor's centre. Anchors follow MediaPipe's SSD anchor calculator with fixed anchor size, so
only their centres matter. Frames are letterboxed (resized, never stretched, then padded to a
square, with an extra black border for the short-range model so that faces filling the frame or
cut by its edges still look like faces to it), and overlapping detections are merged by
MediaPipe's weighted non-maximum suppression.
"""

import os
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from edgefer.device.runtime import make_interpreter

MODEL_FOLDER = os.path.join(os.path.dirname(__file__), "models")
KEYPOINTS = ("right_eye", "left_eye", "nose", "mouth", "right_ear", "left_ear")


@dataclass(frozen=True)
class BlazeFaceSpec:
    """One BlazeFace variant: its file, input side, anchor layout, score threshold, and the black
    border around the frame, as a fraction of its longer side, that it sees."""

    file: str
    input_size: int
    strides: Tuple[int, ...]  # one per anchor layer; layers of equal stride share a grid
    anchors_per_layer: int  # 2 with MediaPipe's interpolated anchor, else 1
    min_score: float
    border: float = 0.0


SPECS = {
    "blazeface-full": BlazeFaceSpec("blazeface_full_range.tflite", 192, (4,), 1, 0.5),
    "blazeface-short": BlazeFaceSpec("blazeface_short_range.tflite", 128, (8, 16, 16, 16), 2, 0.5, border=0.15),
}


@dataclass(frozen=True)
class Detection:
    """A face in frame pixels: ``box`` [x, y, w, h], ``score`` in [0, 1], ``keypoints`` as
    {name: (x, y)} (empty for detectors without keypoints), and the ``detector`` that found it
    (its crop geometry frames the face)."""

    box: List[int]
    score: float
    keypoints: dict
    detector: str = ""


def anchor_centres(spec: BlazeFaceSpec) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1], in the order of the model's outputs."""
    centres = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        same = 0
        while layer < len(spec.strides) and spec.strides[layer] == stride:
            same += 1
            layer += 1
        cells = int(np.ceil(spec.input_size / stride))
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, same * spec.anchors_per_layer, axis=0))
    return np.concatenate(centres).astype(np.float32)


@dataclass(frozen=True)
class Letterbox:
    """How a frame becomes a model input: resized by ``scale`` (x, y) and shifted by ``offset``
    (left, top) input pixels inside a black square of ``size``."""

    size: int
    scale: Tuple[float, float]
    offset: Tuple[int, int]

    @classmethod
    def fit(cls, shape: Sequence[int], size: int, border: float = 0.0) -> "Letterbox":
        """The letterbox of a frame of ``shape`` with a black border of ``border`` of its longer side."""
        h, w = shape[:2]
        fit = size / (max(h, w) * (1 + 2 * border))
        width, height = max(1, round(w * fit)), max(1, round(h * fit))
        return cls(size, (width / w, height / h), ((size - width) // 2, (size - height) // 2))

    def apply(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        width, height = max(1, round(w * self.scale[0])), max(1, round(h * self.scale[1]))
        shrink = width < w
        image = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        left, top = self.offset
        return cv2.copyMakeBorder(image, top, self.size - height - top, left, self.size - width - left,
                                  cv2.BORDER_CONSTANT, value=0)

    def to_frame(self, xs: np.ndarray, ys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Input pixels back to frame pixels."""
        return (xs - self.offset[0]) / self.scale[0], (ys - self.offset[1]) / self.scale[1]


def letterbox(frame: np.ndarray, size: int, border: float = 0.0) -> np.ndarray:
    """The frame resized to fit ``size`` (never stretched) and padded to a square with black."""
    return Letterbox.fit(frame.shape, size, border).apply(frame)


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray, input_size: int,
           min_score: float) -> Tuple[np.ndarray, np.ndarray]:
    """(scores (K,), boxes (K, 16)) above ``min_score``; each box row is centre x, centre y,
    width, height, then six (x, y) keypoints, all as fractions of the input side."""
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores.reshape(-1).astype(np.float64), -100.0, 100.0)))
    keep = scores >= min_score
    values = raw_boxes.reshape(-1, 16)[keep] / input_size
    centres = anchors[keep]
    values[:, 0:2] += centres
    values[:, 4::2] += centres[:, :1]
    values[:, 5::2] += centres[:, 1:]
    return scores[keep], values


def _corners(values: np.ndarray) -> np.ndarray:
    return np.stack([values[:, 0] - values[:, 2] / 2, values[:, 1] - values[:, 3] / 2,
                     values[:, 0] + values[:, 2] / 2, values[:, 1] + values[:, 3] / 2], axis=1)


def xywh_corners(boxes) -> np.ndarray:
    """[x, y, w, h] boxes (the pipeline's) as [x0, y0, x1, y1] rows (what ``box_iou`` takes)."""
    return np.array([[x, y, x + w, y + h] for x, y, w, h in boxes], dtype=np.float64).reshape(-1, 4)


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one [x0, y0, x1, y1] box with each row of ``others``."""
    x0, y0 = np.maximum(box[0], others[:, 0]), np.maximum(box[1], others[:, 1])
    x1, y1 = np.minimum(box[2], others[:, 2]), np.minimum(box[3], others[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(scores: np.ndarray, values: np.ndarray, threshold: float = 0.3) -> List[Tuple[float, np.ndarray]]:
    """MediaPipe's weighted suppression: the best remaining detection takes every detection
    overlapping it by more than ``threshold`` and becomes their score-weighted mean (box and
    keypoints); it keeps its own score."""
    order = np.argsort(-scores)
    scores, values = scores[order], values[order]
    corners = _corners(values)
    merged = []
    remaining = np.arange(len(scores))
    while len(remaining):
        overlaps = box_iou(corners[remaining[0]], corners[remaining])
        cluster = remaining[overlaps > threshold]
        weights = scores[cluster][:, None]
        merged.append((float(scores[remaining[0]]), (values[cluster] * weights).sum(0) / weights.sum()))
        remaining = remaining[overlaps <= threshold]
    return merged


class BlazeFaceDetector:
    """Finds faces with a BlazeFace model; returns ``Detection``s, largest first."""

    def __init__(self, variant: str = "blazeface-full", min_score: float = None, threads: int = None):
        self.spec = SPECS[variant]
        self.name = variant
        self.interpreter, _ = make_interpreter(os.path.join(MODEL_FOLDER, self.spec.file), threads=threads)
        self.input = self.interpreter.get_input_details()[0]
        outputs = sorted(self.interpreter.get_output_details(), key=lambda d: d["shape"][-1])
        self.scores_output, self.boxes_output = outputs[0]["index"], outputs[1]["index"]
        self.anchors = anchor_centres(self.spec)
        self.min_score = self.spec.min_score if min_score is None else min_score

    def raw(self, frame: np.ndarray, box: Letterbox) -> Tuple[np.ndarray, np.ndarray]:
        """The model's raw (boxes, scores) for a BGR frame, letterboxed to its input by ``box``."""
        image = box.apply(frame)
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB if image.ndim == 3 else cv2.COLOR_GRAY2RGB)
        self.interpreter.set_tensor(self.input["index"], (rgb.astype(np.float32) / 127.5 - 1.0)[None])
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.boxes_output)[0], self.interpreter.get_tensor(self.scores_output)[0]

    def detect(self, frame: np.ndarray) -> List[Detection]:
        size = self.spec.input_size
        box = Letterbox.fit(frame.shape, size, self.spec.border)
        found = []
        for score, values in weighted_nms(*decode(*self.raw(frame, box), self.anchors, size, self.min_score)):
            xs, ys = box.to_frame(values[0::2] * size, values[1::2] * size)  # centre, size and keypoints
            w, h = values[2] * size / box.scale[0], values[3] * size / box.scale[1]
            cx, cy = xs[0], ys[0]
            keypoints = {name: (round(float(xs[2 + i]), 1), round(float(ys[2 + i]), 1)) for i, name in enumerate(KEYPOINTS)}
            box_xywh = [int(round(cx - w / 2)), int(round(cy - h / 2)), int(round(w)), int(round(h))]
            found.append(Detection(box_xywh, round(score, 4), keypoints, self.name))
        return largest_first(found)


def largest_first(detections: List[Detection]) -> List[Detection]:
    """The detections sorted by box area, largest first."""
    return sorted(detections, key=lambda d: -d.box[2] * d.box[3])
