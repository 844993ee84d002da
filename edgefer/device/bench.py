"""``edgefer bench``: classifier and whole-pipeline latency on this device."""

import os
import platform
import time

import numpy as np

from edgefer.device.faces import crop_face
from edgefer.device.pipeline import EmotionPipeline
from edgefer.device.runtime import Classifier
from edgefer.device.sources import sample_frames


def percentiles(seconds):
    """{p50, p95, p99, mean} in milliseconds."""
    ms = np.asarray(seconds) * 1e3
    return {"p50": round(float(np.percentile(ms, 50)), 3), "p95": round(float(np.percentile(ms, 95)), 3),
            "p99": round(float(np.percentile(ms, 99)), 3), "mean": round(float(ms.mean()), 3)}


def bench(model_path, delegate=None, threads=None, runs=200, warmup=10):
    """Latencies after ``warmup`` untimed runs: one classifier invoke on a real face crop, and the
    whole pipeline (detect, crop, classify, track) on a frame holding one face."""
    classifier = Classifier(model_path, delegate=delegate, threads=threads)
    pipeline = EmotionPipeline(classifier, smooth=1)
    frame = next(iter(sample_frames(1)))
    faces = pipeline.process(frame)
    face = crop_face(frame, faces[0]["box"], classifier.face_size) if faces else \
        np.zeros((classifier.face_size, classifier.face_size), np.uint8)
    classifier.predict(face)  # leaves this face in the input tensor for the timed invokes
    for _ in range(warmup):
        classifier.timed_invoke()
        pipeline.process(frame)
    invoke = [classifier.timed_invoke() for _ in range(runs)]
    whole = []
    for _ in range(runs):
        start = time.perf_counter()
        pipeline.process(frame)
        whole.append(time.perf_counter() - start)
    pipeline_ms = percentiles(whole)
    return {
        "model": os.path.abspath(model_path),
        "size_mb": round(classifier.size_bytes / 1e6, 3),
        "runtime": classifier.runtime,
        "delegate": delegate or "none",
        "threads": threads,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "runs": runs,
        "faces_in_frame": len(faces),
        "classifier_ms": percentiles(invoke),
        "pipeline_ms": pipeline_ms,
        "faces_per_second": round(1000.0 * max(1, len(faces)) / pipeline_ms["p50"], 1),
    }
