"""Reading image files safely: any file name the system allows, no decompression bomb, no FIFO.

OpenCV's ``imread`` takes the name as UTF-8 text and crashes the process on a name that is not
(a file called ``\\xff\\xfe.jpg``); here the bytes are read by Python, which handles any name,
and decoded from memory. The image's size is read from its header first (PNG, JPEG, BMP, WebP)
and an image over ``MAX_PIXELS`` is refused before it is decoded: a 300 KB PNG can hold
20000x20000 pixels (2.4 GB once decoded). Only regular files are read: a FIFO would block.
"""

import os
import stat
import struct
from typing import Optional, Tuple

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.spec import MAX_PIXELS


def shown(path: str) -> str:
    """``path`` as it can be printed, whatever bytes its name holds."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def is_regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def header_size(head: bytes) -> Optional[Tuple[int, int]]:
    """(width, height) from the first bytes of a PNG, JPEG, BMP or WebP file, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if head.startswith(b"BM") and len(head) >= 26:
        width, height = struct.unpack("<ii", head[18:26])
        return abs(width), abs(height)
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP" and len(head) >= 30:
        kind = head[12:16]
        if kind == b"VP8X":
            return 1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little")
        if kind == b"VP8L":
            bits = int.from_bytes(head[21:25], "little")
            return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
        if kind == b"VP8 ":
            return struct.unpack("<H", head[26:28])[0] & 0x3FFF, struct.unpack("<H", head[28:30])[0] & 0x3FFF
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(head)
    return None


def _jpeg_size(data: bytes) -> Optional[Tuple[int, int]]:
    """The size in a JPEG's first start-of-frame marker."""
    at = 2
    while at + 9 <= len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    return None


def read_image(path: str, flags: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """The image in the file at ``path``, decoded with ``flags``, or a one-line error."""
    if not os.path.lexists(path):
        raise EdgeferError(f"{shown(path)}: image not found")
    if not is_regular_file(path):
        raise EdgeferError(f"{shown(path)}: not a regular file")
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as exc:
        raise EdgeferError(f"{shown(path)}: cannot be read ({exc.strerror or exc})") from None
    size = header_size(data[:65536].tobytes())
    if size and size[0] * size[1] > MAX_PIXELS:
        raise EdgeferError(f"{shown(path)}: {size[0]}x{size[1]} pixels is over the limit of {MAX_PIXELS:,}")
    image = cv2.imdecode(data, flags) if data.size else None
    if image is None or image.size == 0:
        raise EdgeferError(f"{shown(path)}: not a readable image")
    return image
