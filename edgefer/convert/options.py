"""What ``edgefer quantize`` is asked to do, checked before any model is loaded."""

from dataclasses import dataclass
from typing import Optional, Sequence

from edgefer.core.errors import EdgeferError

MODES = ("float32", "float16", "dynamic", "int8")
IO_TYPES = ("int8", "uint8", "float32")


@dataclass(frozen=True)
class QuantizeOptions:
    """How to convert: which ``modes``, the int8 file's ``io_type``, the flip average built in,
    kernels snapped to the int8 grid first, Edge TPU compilation, the file name stem, and other
    runs (``members``) whose predictions the file averages with the main run's."""

    modes: Sequence[str] = MODES
    io_type: str = "int8"
    flip_average: bool = False
    snap_weights: bool = False
    edgetpu: bool = False
    name: Optional[str] = None
    members: Sequence[str] = ()

    def __post_init__(self):
        for mode in self.modes:
            if mode not in MODES:
                raise EdgeferError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        if not self.modes:
            raise EdgeferError(f"--modes names no mode; choose from {', '.join(MODES)}")
        if self.io_type not in IO_TYPES:
            raise EdgeferError(f"unknown io type {self.io_type!r}; choose from {', '.join(IO_TYPES)}")
