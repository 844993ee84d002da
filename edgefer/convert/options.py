"""What ``edgefer quantize`` is asked to do, checked before any model is loaded."""

import os
from dataclasses import dataclass
from typing import Optional, Sequence

from edgefer.core.errors import EdgeferError
from edgefer.core.metadata import INTEROP_TOOLS, IO_TYPES, MODES

MAX_ZOOM_CROP = 8  # pixels from each side of a 48x48 face: at most a third of it cut away


@dataclass(frozen=True)
class QuantizeOptions:
    """How to convert: which ``modes``, the int8 file's ``io_type``, the flip average built in
    (``zoom_crop``: pixels cut from each side of the unmirrored face), kernels snapped to the int8
    grid first, Edge TPU compilation, the file name stem, the crop geometry file, a file for another
    tool (``interop``), and other runs (``members``) whose
    predictions the file averages with the main run's (with ``mirror_members``, predictions on the
    face's mirror image: a flip average spread over different networks at one pass each)."""

    modes: Sequence[str] = MODES
    io_type: str = "int8"
    flip_average: bool = False
    zoom_crop: int = 0
    snap_weights: bool = False
    edgetpu: bool = False
    name: Optional[str] = None
    members: Sequence[str] = ()
    mirror_members: bool = False
    geometry: Optional[str] = None  # a crop-geometry file (edgefer framing fit) for the files' metadata
    interop: Optional[str] = None  # also make a file for this tool (INTEROP_TOOLS) from the float32 file

    def sees_mirror(self, index: int) -> bool:
        """Whether the file's network number ``index`` (0: MODEL, then the members) sees the mirror image alone."""
        return self.mirror_members and index > 0

    def __post_init__(self):
        for mode in self.modes:
            if mode not in MODES:
                raise EdgeferError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        if not self.modes:
            raise EdgeferError(f"--modes names no mode; choose from {', '.join(MODES)}")
        if self.io_type not in IO_TYPES:
            raise EdgeferError(f"unknown io type {self.io_type!r}; choose from {', '.join(IO_TYPES)}")
        if self.zoom_crop and not self.flip_average:
            raise EdgeferError("--zoom-crop changes the unmirrored pass of the flip average; add --flip-average")
        if self.mirror_members and not self.members:
            raise EdgeferError("--mirror-members needs another run to average with: add --with RUN")
        if self.mirror_members and self.flip_average:
            raise EdgeferError("--mirror-members and --flip-average both mirror the face; choose one")
        if self.name is not None and (not self.name.strip() or self.name in (".", "..") or self.name.startswith(".")
                                      or any(sep in self.name for sep in ("/", "\\", os.sep))):
            raise EdgeferError(f"--name {self.name!r}: a file name stem, without a folder (the files go into --out)")
        if self.interop and self.interop not in INTEROP_TOOLS:
            raise EdgeferError(f"unknown interop tool {self.interop!r}; choose from {', '.join(INTEROP_TOOLS)}")
        if self.interop and "float32" not in self.modes:
            raise EdgeferError(f"--interop {self.interop} is made from the float32 file: add float32 to --modes")
        if not 0 <= self.zoom_crop <= MAX_ZOOM_CROP:
            raise EdgeferError(f"--zoom-crop must be 0 to {MAX_ZOOM_CROP} pixels of the 48x48 face, not {self.zoom_crop}")
