"""``edgefer run``: stream frames through the pipeline, print JSON lines, write or show results."""

import collections
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Iterable, Optional, TextIO

import cv2

from edgefer.core.errors import EdgeferError
from edgefer.core.spec import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from edgefer.device.annotate import draw_faces
from edgefer.device.pipeline import EmotionPipeline
from edgefer.device.sources import Frame


@dataclass(frozen=True)
class RunOptions:
    """What a run does with its results: JSON lines, an ``output`` image or video, a window,
    and a frame limit (0 = until the source ends)."""

    as_json: bool = False
    output: Optional[str] = None
    display: bool = False
    max_frames: int = 0


class OutputWriter:
    """Writes annotated frames to an image file (the latest frame) or a video file."""

    def __init__(self, path, fps=15.0):
        if not path.lower().endswith(IMAGE_EXTENSIONS + VIDEO_EXTENSIONS):
            raise EdgeferError(f"{path}: --output must end in an image ({', '.join(IMAGE_EXTENSIONS)}) "
                               f"or video ({', '.join(VIDEO_EXTENSIONS)}) extension")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.path, self.fps, self.video = path, fps, None

    def write(self, frame):
        if self.path.lower().endswith(IMAGE_EXTENSIONS):
            if not cv2.imwrite(self.path, frame):
                raise EdgeferError(f"{self.path}: could not write the image")
            return
        if self.video is None:
            fourcc = cv2.VideoWriter_fourcc(*("mp4v" if self.path.lower().endswith((".mp4", ".m4v", ".mov")) else "MJPG"))
            self.video = cv2.VideoWriter(self.path, fourcc, self.fps, (frame.shape[1], frame.shape[0]))
            if not self.video.isOpened():
                raise EdgeferError(f"{self.path}: could not open a video writer")
        self.video.write(frame)

    def close(self):
        if self.video is not None:
            self.video.release()


def run_stream(frames: Iterable[Frame], pipeline: EmotionPipeline, *, options: RunOptions = RunOptions(),
               out: TextIO = sys.stdout) -> dict:
    """Process ``frames`` until they end, ``max_frames`` is reached or Ctrl-C; returns a summary
    dict (frames, faces, mean FPS, emotion histogram)."""
    as_json, output, display, max_frames = options.as_json, options.output, options.display, options.max_frames
    writer = OutputWriter(output) if output else None
    histogram = collections.Counter()
    frames_done = faces_seen = 0
    fps = None
    start = time.perf_counter()
    try:
        for index, frame in enumerate(frames):
            if max_frames and index >= max_frames:
                break
            tick = time.perf_counter()
            faces = pipeline.process(frame.image, still=frame.still)
            now = time.perf_counter()
            fps = 1.0 / max(1e-6, now - tick) if fps is None else 0.9 * fps + 0.1 / max(1e-6, now - tick)
            frames_done += 1
            faces_seen += len(faces)
            histogram.update(face["emotion"] for face in faces)
            if as_json:
                line = {"frame": index, **({"source": frame.source} if frame.source else {}),
                        "time": round(now - start, 4), "faces": faces}
                out.write(json.dumps(line) + "\n")
                out.flush()
            if writer or display:
                annotated = draw_faces(frame.image.copy(), faces, fps)
                if writer:
                    writer.write(annotated)
                if display:
                    cv2.imshow("edgefer", annotated)
                    if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                        break
    except KeyboardInterrupt:
        pass
    finally:
        if writer:
            writer.close()
        if display:
            cv2.destroyAllWindows()
    elapsed = time.perf_counter() - start
    return {"frames": frames_done, "faces": faces_seen, "mean_fps": round(frames_done / elapsed, 2) if elapsed else 0.0,
            "emotions": dict(histogram.most_common())}
