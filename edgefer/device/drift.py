"""int8 drift where the model runs: the float model as a shadow on the same face crops, no labels needed.

Every ``every``-th face the pipeline labels also goes through the float model, on the very crop
the int8 model saw. The running figures: faces compared, top-1 agreement with its 95% (Wilson)
interval, mean and 95th percentile of the largest per-class probability difference, a flip
matrix (int8 label x float label), and the int8 tensors' saturation: the share of the input and
output values at the int8 limits (-128 or 127), which is where calibration ranges fitted on
training faces clip field faces. Intermediate tensors are not read: the interpreter does not keep
them without slowing every invoke.
"""

import math
import sys
from typing import Callable, List, Optional, Tuple

import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.device.runtime import Classifier

DEFAULT_EVERY = 10  # a face in ten: the float model's cost spread thin (docs/results.md, drift overhead)
DEFAULT_MIN_FACES = 50  # faces compared before --drift-min-agreement may warn
DIFFERENCE_BINS = 1000  # the largest probability differences, kept as a histogram of this resolution
KEPT_FLIPS = 48  # faces kept for a contact sheet: the largest differences among the flips


def check_pair(float_model: Classifier, quant_model: Classifier) -> None:
    """Refuse, in one line, a float model that does not fit the int8 one (labels, face, normalisation,
    network)."""
    for what, a, b in (("labels", float_model.labels, quant_model.labels),
                       ("network", float_model.metadata.backbone, quant_model.metadata.backbone),
                       ("face size", float_model.face_size, quant_model.face_size),
                       ("colour", float_model.color, quant_model.color),
                       ("normalisation", float_model.normalisation, quant_model.normalisation)):
        if a != b:
            raise EdgeferError(f"{float_model.path} and {quant_model.path} differ in {what} ({a} against {b}); "
                               "the drift check needs the float twin of the running model")


def wilson_interval(agree: int, n: int, z: float = 1.96) -> Tuple[float, float]:
    """The 95% Wilson score interval of ``agree`` successes in ``n`` trials."""
    if n == 0:
        return 0.0, 1.0
    p = agree / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _saturated(values: np.ndarray, dtype) -> int:
    info = np.iinfo(dtype)
    return int(np.count_nonzero((values == info.min) | (values == info.max)))


class DriftMonitor:
    """The float model shadowing the int8 one on every ``every``-th face."""

    def __init__(self, float_model: Classifier, quant_model: Classifier, every: int = DEFAULT_EVERY,
                 min_agreement: Optional[float] = None, min_faces: int = DEFAULT_MIN_FACES,
                 warn: Callable[[str], None] = lambda text: print(text, file=sys.stderr, flush=True),
                 keep_flips: bool = False):
        check_pair(float_model, quant_model)
        if every < 1:
            raise EdgeferError(f"--drift-every must be 1 or more, not {every}")
        self.float_model, self.quant_model, self.every = float_model, quant_model, every
        self.min_agreement, self.min_faces, self.warn = min_agreement, min_faces, warn
        self.keep_flips = keep_flips
        classes = len(quant_model.labels)
        self.seen = self.compared = self.agree = 0
        self.flips = np.zeros((classes, classes), np.int64)  # rows: int8 label, columns: float label
        self.differences = np.zeros(DIFFERENCE_BINS, np.int64)
        self.difference_sum = 0.0
        self.saturation = {"input": [0, 0], "output": [0, 0]}  # saturated values, values
        self.kept: List[tuple] = []  # (difference, crop, int8 label, float label) of the flips
        self.warned = False

    def observe(self, crops: List[np.ndarray], quant_probs: np.ndarray) -> None:
        """Compare the float model on the faces of one frame that fall on the sampling step."""
        for crop, probs in zip(crops, quant_probs):
            self.seen += 1
            if (self.seen - 1) % self.every == 0:
                self.compare(crop, probs)

    def compare(self, crop: np.ndarray, quant_probs: np.ndarray) -> None:
        float_probs = self.float_model.predict(crop)[0]
        quant_label, float_label = int(quant_probs.argmax()), int(float_probs.argmax())
        difference = float(np.abs(float_probs - quant_probs).max())
        self.compared += 1
        self.agree += quant_label == float_label
        self.flips[quant_label, float_label] += 1
        self.differences[min(DIFFERENCE_BINS - 1, int(difference * DIFFERENCE_BINS))] += 1
        self.difference_sum += difference
        self._count_saturation(crop, quant_probs)
        if self.keep_flips and quant_label != float_label:
            self.kept.append((difference, crop, quant_label, float_label))
            self.kept = sorted(self.kept, key=lambda kept: -kept[0])[:KEPT_FLIPS]
        self._maybe_warn()

    def _count_saturation(self, crop: np.ndarray, quant_probs: np.ndarray) -> None:
        """The int8 input as fed (the runtime's own quantization) and the output as read (its
        dequantization reversed exactly)."""
        model = self.quant_model
        if model.input["dtype"] != np.float32:
            values = model.quantize_input(np.asarray(crop)[None])
            self.saturation["input"][0] += _saturated(values, values.dtype)
            self.saturation["input"][1] += values.size
        if model.output["dtype"] != np.float32:
            scale, zero = model.output["quantization"]
            raw = np.round(quant_probs / scale + zero).astype(np.int64)
            self.saturation["output"][0] += _saturated(raw, model.output["dtype"])
            self.saturation["output"][1] += raw.size

    def agreement(self) -> float:
        return self.agree / self.compared if self.compared else 1.0

    def _maybe_warn(self) -> None:
        if self.warned or self.min_agreement is None or self.compared < self.min_faces:
            return
        low, high = wilson_interval(self.agree, self.compared)
        if high < self.min_agreement:
            self.warned = True
            self.warn(f"warning: int8 drift: the int8 model agrees with its float twin on {self.agreement():.3f} of "
                      f"{self.compared} faces (95% CI {low:.3f}-{high:.3f}), under --drift-min-agreement "
                      f"{self.min_agreement:g}")

    def percentile_difference(self, q: float) -> float:
        """The ``q`` quantile of the largest probability differences (to 1 / DIFFERENCE_BINS)."""
        if not self.compared:
            return 0.0
        position = int(np.searchsorted(np.cumsum(self.differences), q * self.compared))
        return (position + 1) / DIFFERENCE_BINS

    def figures(self) -> dict:
        """The running figures, JSON-ready."""
        low, high = wilson_interval(self.agree, self.compared)
        labels = self.quant_model.labels

        def share(kind):
            saturated, total = self.saturation[kind]
            return round(saturated / total, 6) if total else None

        return {
            "every": self.every, "faces_seen": self.seen, "faces_compared": self.compared,
            "agreement": round(self.agreement(), 4), "agreement_ci95": [round(low, 4), round(high, 4)],
            "max_difference_mean": round(self.difference_sum / self.compared, 4) if self.compared else 0.0,
            "max_difference_p95": round(self.percentile_difference(0.95), 4),
            "flips": {f"{labels[q]}->{labels[f]}": int(self.flips[q, f])
                      for q in range(len(labels)) for f in range(len(labels)) if q != f and self.flips[q, f]},
            "labels": list(labels), "flip_matrix": self.flips.tolist(),  # rows: int8 label, columns: float label
            "saturation": {"input": share("input"), "output": share("output")},
            "warning": self.warned,
        }
