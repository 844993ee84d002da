"""``edgefer run``: stream frames through the pipeline, print JSON lines, write or show results.

Ctrl-C, SIGTERM and SIGHUP (a closed terminal or ssh session) end a run the same way: the
frames so far are kept, the output file is finished and the summary printed. An ``--output``
file appears only complete: a video is written beside its path, read back to check that every
frame is in it, then moved into place (or copied into a pipe or device).
"""

import collections
import contextlib
import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Iterable, Optional, TextIO

import cv2
import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.files import atomic_path, check_output_file
from edgefer.core.spec import OUTPUT_IMAGE_EXTENSIONS, OUTPUT_VIDEO_CODECS
from edgefer.device.annotate import draw_faces
from edgefer.device.drift import DriftMonitor
from edgefer.device.pipeline import EmotionPipeline
from edgefer.device.rates import Rates
from edgefer.device.serve import LiveServer
from edgefer.device.sources import Frame


@dataclass(frozen=True)
class RunOptions:
    """What a run does with its results: JSON lines, an ``output`` image or video, a window,
    a frame limit (0 = until the source ends), and a status line on stderr every
    ``status_every`` seconds (0 = none; what a service's journal gets instead of a line a frame)."""

    as_json: bool = False
    output: Optional[str] = None
    display: bool = False
    max_frames: int = 0
    status_every: float = 0.0


class StatusLines:
    """Every ``every`` seconds one ``status:`` line on stderr: the frames, faces and emotions
    since the last one, and the rates."""

    def __init__(self, every: float, err: TextIO = sys.stderr, shadow: Optional[DriftMonitor] = None):
        self.every, self.err, self.shadow = every, err, shadow
        self.since = time.perf_counter()
        self.frames, self.faces, self.emotions = 0, 0, collections.Counter()

    def add(self, faces: list, now: float, rates: Rates) -> None:
        self.frames += 1
        self.faces += len(faces)
        self.emotions.update(face.emotion for face in faces)
        if now - self.since >= self.every:
            status = {"seconds": round(now - self.since, 1), "frames": self.frames, "faces": self.faces,
                      **rates.as_dict(), "emotions": dict(self.emotions.most_common())}
            if self.shadow:
                figures = self.shadow.figures()
                status["drift"] = {key: figures[key] for key in ("faces_compared", "agreement", "agreement_ci95")}
            self.err.write("status: " + json.dumps(status) + "\n")
            self.err.flush()
            self.since, self.frames, self.faces, self.emotions = now, 0, 0, collections.Counter()


def check_output_path(path: str) -> None:
    """Refuse an ``--output`` whose extension cannot be written, or that is a folder."""
    extension = os.path.splitext(path)[1].lower()
    if extension not in OUTPUT_IMAGE_EXTENSIONS + tuple(OUTPUT_VIDEO_CODECS):
        raise EdgeferError(f"{path}: --output must end in an image ({', '.join(OUTPUT_IMAGE_EXTENSIONS)}) "
                           f"or video ({', '.join(OUTPUT_VIDEO_CODECS)}) extension")
    check_output_file(path)


class OutputWriter:
    """Collects annotated frames for an image file (the last frame) or a video file, written to
    ``temporary`` and checked by ``finish``; video frames of another size are fitted to the first."""

    def __init__(self, path: str, temporary: str, fps: float = 15.0):
        self.path, self.temporary, self.fps = path, temporary, fps
        self.extension = os.path.splitext(path)[1].lower()
        self.video, self.size, self.last, self.frames = None, None, None, 0

    def write(self, frame: np.ndarray) -> None:
        self.frames += 1
        if self.extension in OUTPUT_IMAGE_EXTENSIONS:
            self.last = frame
            return
        if self.size is None:
            self.size = (frame.shape[1], frame.shape[0])
        elif (frame.shape[1], frame.shape[0]) != self.size:
            frame = fit_frame(frame, self.size)
        if self.video is None:
            self.video = cv2.VideoWriter(self.temporary, cv2.VideoWriter_fourcc(*OUTPUT_VIDEO_CODECS[self.extension]),
                                         self.fps, self.size)
            if not self.video.isOpened():
                raise EdgeferError(f"{self.path}: could not open a video writer")
        self.video.write(frame)

    def finish(self) -> dict:
        """Complete the file and check it; returns {"path", "frames"} of what was written."""
        if self.frames == 0:
            raise EdgeferError(f"{self.path}: no frame was processed, so nothing was written")
        if self.video is None:
            if not cv2.imwrite(self.temporary, self.last):
                raise EdgeferError(f"{self.path}: could not write the image")
            return {"path": self.path, "frames": 1}
        self.video.release()
        written = count_frames(self.temporary)
        if written != self.frames:
            raise EdgeferError(f"{self.path}: only {written} of {self.frames} frames could be written "
                               "(is the disk full?); nothing was kept")
        return {"path": self.path, "frames": written}


def fit_frame(frame: np.ndarray, size) -> np.ndarray:
    """``frame`` scaled into ``size`` (width, height) without distortion, on black."""
    width, height = size
    scale = min(width / frame.shape[1], height / frame.shape[0])
    resized = cv2.resize(frame, (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale))),
                         interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    canvas[top:top + resized.shape[0], left:left + resized.shape[1]] = resized
    return canvas


def count_frames(path: str) -> int:
    """Frames that can be read back from a video file."""
    capture = cv2.VideoCapture(path)
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    return count


ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_as_interrupt():
    """Within the block, SIGTERM and SIGHUP end the run as Ctrl-C does (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in ENDING_SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run_stream(frames: Iterable[Frame], pipeline: EmotionPipeline, *, options: RunOptions = RunOptions(),
               out: TextIO = sys.stdout, server: Optional[LiveServer] = None) -> dict:
    """Process ``frames`` until they end, ``max_frames`` is reached, Ctrl-C, SIGTERM or SIGHUP; returns a
    summary dict (frames, faces, mean FPS, emotion histogram, what was written)."""
    if options.output:
        check_output_path(options.output)
    with contextlib.ExitStack() as stack:
        temporary = stack.enter_context(atomic_path(options.output)) if options.output else None
        writer = OutputWriter(options.output, temporary) if options.output else None
        summary = _stream(frames, pipeline, options, out, writer, stack, server)
        if writer:
            summary["written"] = writer.finish()
    return summary


def _stream(frames, pipeline, options, out, writer, stack, server) -> dict:
    histogram = collections.Counter()
    frames_done = faces_seen = 0
    busy = 0.0
    rates = Rates()
    status = StatusLines(options.status_every, shadow=pipeline.shadow) if options.status_every else None
    start = time.perf_counter()
    stack.enter_context(signals_as_interrupt())
    try:
        for index, frame in enumerate(frames):
            if options.max_frames and index >= options.max_frames:
                break
            tick = time.perf_counter()
            faces = pipeline.process(frame.image, still=frame.still)
            now = time.perf_counter()
            rates.add(now, now - tick)
            busy += now - tick
            frames_done += 1
            faces_seen += len(faces)
            histogram.update(face.emotion for face in faces)
            if status:
                status.add(faces, now, rates)
            line = {"frame": index, "source": frame.source, "time": round(now - start, 4),
                    "faces": [face.as_json() for face in faces]}
            if options.as_json:
                out.write(json.dumps(line) + "\n")
                out.flush()
            annotated = None
            if writer or options.display or (server and server.options.video):
                annotated = draw_faces(frame.image.copy(), faces, rates)
            if server:
                server.state.publish(line, annotated if server.options.video else None, rates, pipeline.seconds,
                                     pipeline.shadow.figures() if pipeline.shadow else None)
            if annotated is not None:
                if writer:
                    writer.write(annotated)
                if options.display:
                    cv2.imshow("edgefer", annotated)
                    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                        break
    except KeyboardInterrupt:
        pass
    finally:
        if options.display:
            cv2.destroyAllWindows()
    elapsed = time.perf_counter() - start
    summary = {"frames": frames_done, "faces": faces_seen,
               "mean_fps": round(frames_done / elapsed, 2) if elapsed else 0.0,
               "capacity_fps": round(frames_done / busy, 2) if busy else 0.0, "emotions": dict(histogram.most_common())}
    if pipeline.shadow:
        summary["drift"] = pipeline.shadow.figures()
    skipped = getattr(frames, "skipped", [])
    if skipped:
        summary["skipped"] = skipped
    if frames_done == 0 and skipped:
        raise EdgeferError(f"no input could be read ({len(skipped)} skipped)")
    return summary
