"""Frame sources for ``edgefer run``: a camera, picamera2, an image or video file, a folder, a
glob, or the built-in ``sample``. Each yields ``Frame``s: a BGR image, the name of what it came
from, and whether it is an independent still (images of a folder are different pictures, not a
clip, so nothing is tracked or smoothed across them)."""

import glob
import importlib.util
import os
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterator, List, Optional, Sequence

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.images import is_regular_file, read_image, shown
from edgefer.core.spec import is_image_file, is_number, is_video_file


@dataclass(frozen=True)
class Frame:
    """One BGR image; ``source`` names where it came from (a file name, ``sample``,
    ``camera 0``, ``picamera2``); a ``still`` is an independent picture, not part of a clip."""

    image: np.ndarray
    source: str
    still: bool = False


SAMPLE_IMAGE = os.path.join(os.path.dirname(__file__), "samples", "astronaut.jpg")
SAMPLE_FRAMES = 30
LOOP_FPS = 30.0


def sample_frames(count: int = SAMPLE_FRAMES) -> Iterator[np.ndarray]:
    """A short clip made at run time from a public-domain photo (NASA's portrait of astronaut
    Eileen Collins, as shipped by scikit-image): a slow zoom and pan across her smiling face."""
    photo = cv2.imread(SAMPLE_IMAGE)
    if photo is None:
        raise EdgeferError(f"{SAMPLE_IMAGE}: the built-in sample is missing from the installation")
    h, w = photo.shape[:2]
    for i in range(count):
        t = i / max(1, count - 1)
        zoom = 1.0 + 0.25 * t
        matrix = np.float32([[zoom, 0, -w * (zoom - 1) / 2 + 8 * np.sin(2 * np.pi * t)],
                             [0, zoom, -h * (zoom - 1) / 3]])
        yield cv2.warpAffine(photo, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def _video_frames(capture):
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        yield frame
    capture.release()


def _file_frames(path: str) -> Iterator[Frame]:
    name = shown(os.path.basename(path))
    if is_video_file(path):
        if shown(path) != path or not is_regular_file(path):  # OpenCV's video reader takes UTF-8 names of files only
            raise EdgeferError(f"{shown(path)}: a video is read only from a regular file with a UTF-8 name")
        capture = cv2.VideoCapture(path)
        if not capture.isOpened():
            raise EdgeferError(f"{path}: cannot be opened as a video")
        for image in _video_frames(capture):
            yield Frame(image, name)
        return
    yield Frame(read_image(path), name, still=True)


def camera_frames(index, retries=3, retry_delay=1.0):
    """Frames from camera ``index``; a failed read is retried ``retries`` times before the
    stream ends with an error naming the camera."""
    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise EdgeferError(f"camera {index} could not be opened (is it connected, and free?)")
    failures = 0
    try:
        while True:
            ok, frame = capture.read()
            if ok:
                failures = 0
                yield frame
                continue
            failures += 1
            if failures > retries:
                raise EdgeferError(f"camera {index} stopped sending frames after {retries} retries")
            time.sleep(retry_delay)
            capture.release()
            capture = cv2.VideoCapture(index)
    finally:
        capture.release()


def _described(exc: Exception) -> str:
    """An exception's type and first line, for a one-line error."""
    text = str(exc).splitlines()[0] if str(exc).strip() else "no detail"
    return f"{type(exc).__name__}: {text}"


def picamera2_frames():
    """Frames from the Raspberry Pi camera through picamera2 (as BGR)."""
    try:
        from picamera2 import Picamera2
    except ValueError as exc:  # "numpy.dtype size changed": a NumPy other than the one the system's picamera2 was built for
        raise EdgeferError(f"picamera2 cannot be loaded ({str(exc).splitlines()[0]}): this environment's NumPy "
                           f"{np.__version__} is not the one the system's picamera2 was built against; use the "
                           "system's NumPy in this environment (devices/raspberry-pi/install.sh pins it)") from None
    except Exception as exc:  # picamera2 or libcamera missing (ImportError), a library that cannot load (OSError)
        raise EdgeferError(f"picamera2 cannot be imported ({_described(exc)}): install Raspberry Pi OS's "
                           "python3-picamera2 (sudo apt install python3-picamera2) and use a venv made with "
                           "--system-site-packages") from None
    try:
        camera = Picamera2()
    except Exception as exc:  # no camera module connected, or it is in use
        raise EdgeferError(f"no Raspberry Pi camera module could be opened ({_described(exc)}); check the ribbon "
                           "cable, or use a USB camera with --camera 0") from None
    camera.configure(camera.create_video_configuration(main={"size": (640, 480), "format": "RGB888"}))
    camera.start()
    try:
        while True:
            yield camera.capture_array()
    finally:
        camera.stop()


def resolve_paths(source):
    """Files named by a file path, a folder (its images and videos, sorted) or a glob."""
    if os.path.isdir(source):
        names = sorted(f for f in os.listdir(source) if is_image_file(f) or is_video_file(f))
        paths = [os.path.join(source, f) for f in names if is_regular_file(os.path.join(source, f))]  # no FIFO
    elif os.path.exists(source):
        paths = [source]
    else:
        paths = sorted(glob.glob(source))
    if not paths:
        raise EdgeferError(f"{source}: no such file, folder or matching files")
    return paths


class FrameSource:
    """The ``Frame``s of one source, and the files of a folder or glob it had to skip (an
    unreadable file there is named on stderr and passed over; a single named file that cannot be
    read is an error)."""

    def __init__(self, frames: Optional[Iterator[Frame]] = None, paths: Sequence[str] = ()):
        self.skipped: List[str] = []
        self._frames = frames if frames is not None else self._files(list(paths))

    def __iter__(self) -> Iterator[Frame]:
        return self._frames

    def _files(self, paths: List[str]) -> Iterator[Frame]:
        if len(paths) == 1:
            yield from _file_frames(paths[0])
            return
        for path in paths:
            try:
                yield from _file_frames(path)
            except EdgeferError as exc:
                print(f"warning: {exc}; skipped", file=sys.stderr, flush=True)
                self.skipped.append(shown(os.path.basename(path)))


def looping(opener: Callable[[], FrameSource], fps: float = LOOP_FPS) -> FrameSource:
    """A finite source played again and again (``--loop``) until the run is stopped, at no more
    than ``fps`` frames a second, as a camera would deliver them."""
    def frames():
        next_time = time.monotonic()
        while True:
            played = False
            for frame in opener():
                played = True
                time.sleep(max(0.0, next_time - time.monotonic()))
                next_time = max(next_time + 1.0 / fps, time.monotonic() - 1.0)
                yield frame
            if not played:
                return
    return FrameSource(frames())


def default_camera(profile_camera: Optional[str]) -> Optional[str]:
    """The camera a run opens when none is named: the profile's, except that the Pi camera module is
    the default only where picamera2 can be found (a USB camera, index 0, otherwise)."""
    if profile_camera == "picamera2" and importlib.util.find_spec("picamera2") is None:
        return "0"
    return profile_camera


def open_source(camera: Optional[str] = None, source: Optional[str] = None) -> FrameSource:
    """The frames of ``--camera`` (index or 'picamera2') or ``--source``."""
    if camera is not None:
        if camera == "picamera2":
            return FrameSource(Frame(image, "picamera2") for image in picamera2_frames())
        if not is_number(str(camera)):
            raise EdgeferError(f"--camera takes a camera index or 'picamera2', not {camera!r}")
        return FrameSource(Frame(image, f"camera {camera}") for image in camera_frames(int(camera)))
    if source is None or source == "sample":
        return FrameSource(Frame(image, "sample") for image in sample_frames())
    if is_number(str(source)):
        return FrameSource(Frame(image, f"camera {source}") for image in camera_frames(int(source)))
    return FrameSource(paths=resolve_paths(source))
