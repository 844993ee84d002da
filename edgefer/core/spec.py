"""The face and file spec shared by every layer: what a face is, how splits are named, which
files are images or videos, and the one label check."""

from edgefer.core.errors import EdgeferError

FACE_SIZE = 48  # every model takes a FACE_SIZE x FACE_SIZE grayscale face, values 0-255
SPLITS = ("train", "val", "test")  # FER2013: Training, PublicTest, PrivateTest
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".pgm", ".tif", ".tiff")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm")
MAX_PIXELS = 100_000_000  # the largest image read (10000 x 10000); a bigger one is refused before it is decoded
# what ``--output`` can write: images, and videos with the codec each container gets
OUTPUT_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
OUTPUT_VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def is_number(text: str) -> bool:
    """Only the digits 0-9 (``str.isdigit`` also takes ``²``, which ``int`` refuses)."""
    return text.isascii() and text.isdigit()


def is_image_file(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def is_video_file(name: str) -> bool:
    return name.lower().endswith(VIDEO_EXTENSIONS)


def check_labels(found: list, expected: list, where: str, what: str = "labels") -> None:
    """Refuse, in one line naming ``where``, ``found`` labels that differ from ``expected``."""
    if list(found) != list(expected):
        raise EdgeferError(f"{where}: {what} {list(found)} differ from the model's {list(expected)}")
