"""One frame in, every face with its emotion out: detector -> framed crop -> classifier -> tracker."""

import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from edgefer.core.metadata import CropGeometry
from edgefer.device.blazeface import Detection
from edgefer.device.drift import DriftMonitor
from edgefer.device.faces import FaceFinder
from edgefer.device.framing import LEGACY_MARGIN, crop_for
from edgefer.device.runtime import Classifier
from edgefer.device.tracking import FaceTracker


@dataclass(frozen=True)
class Face:
    """One labelled face of a frame: its track ``id``, its [x, y, w, h] ``box`` in frame pixels, the
    top ``emotion`` and its ``score``, every label's (smoothed) score, and the detector's keypoints."""

    id: int
    box: List[int]
    emotion: str
    score: float
    scores: Dict[str, float]
    keypoints: Dict[str, Tuple[float, float]] = field(default_factory=dict)

    def as_json(self) -> dict:
        """The face as ``run --json`` prints it."""
        line = {"id": self.id, "box": self.box, "emotion": self.emotion, "score": self.score, "scores": self.scores}
        if self.keypoints:
            line["keypoints"] = {name: list(point) for name, point in self.keypoints.items()}
        return line


class EmotionPipeline:
    """Holds the classifier, the face detector and the tracker for a stream of frames."""

    def __init__(self, classifier: Classifier, detector: FaceFinder, margin: float = LEGACY_MARGIN, smooth: int = 5):
        self.classifier, self.detector = classifier, detector
        self.geometries: Dict[str, CropGeometry] = classifier.metadata.crop
        if not self.geometries:
            print(f"warning: {classifier.path} carries no crop geometry; faces are cut as the detector's box grown by "
                  f"{margin:g} of its side on each side (quantize with --geometry, or edgefer framing fit --into)",
                  file=sys.stderr, flush=True)
        self.margin = margin
        self.tracker = FaceTracker(window=smooth)
        self.shadow: Optional[DriftMonitor] = None  # the float model checking the int8 one (run --drift)
        self.seconds = {"detector": 0.0, "classifier": 0.0}  # of the last frame

    def crop(self, frame: np.ndarray, detection: Detection) -> np.ndarray:
        """The classifier's input for ``detection``: cut with its detector's geometry, else by the margin."""
        return crop_for(frame, detection, self.geometries.get(detection.detector), self.classifier.face_size, self.margin,
                        self.classifier.color)

    def process(self, frame: np.ndarray, still: bool = False) -> List[Face]:
        """The faces in ``frame``, labelled. A ``still`` is an independent picture: nothing is
        tracked or smoothed into it."""
        tracker = FaceTracker(window=1) if still else self.tracker  # a still leaves the video's tracker alone
        start = time.perf_counter()
        detections = self.detector.detect(frame)
        self.seconds = {"detector": time.perf_counter() - start, "classifier": 0.0}
        if not detections:
            tracker.update([], [])
            return []
        crops = [self.crop(frame, d) for d in detections]
        start = time.perf_counter()
        probs = self.classifier.predict(crops)
        self.seconds["classifier"] = time.perf_counter() - start
        if self.shadow:
            self.shadow.observe(crops, probs)
        labels = self.classifier.labels
        faces = []
        for detection, (track_id, scores) in zip(detections, tracker.update([d.box for d in detections], probs)):
            best = int(scores.argmax())
            faces.append(Face(track_id, detection.box, labels[best], round(float(scores[best]), 4),
                              {label: round(float(p), 4) for label, p in zip(labels, scores)}, dict(detection.keypoints)))
        return faces
