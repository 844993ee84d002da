"""``edgefer bench``: classifier, detector and whole-pipeline latency on this device."""

import os
import platform
import time
from dataclasses import replace
from typing import Callable, Optional

import numpy as np

from edgefer.device.assemble import assemble
from edgefer.device.profiles import DeviceSettings
from edgefer.device.sources import sample_frames


def percentiles(seconds) -> dict:
    """{p50, p95, p99, mean} in milliseconds."""
    ms = np.asarray(seconds) * 1e3
    return {"p50": round(float(np.percentile(ms, 50)), 3), "p95": round(float(np.percentile(ms, 95)), 3),
            "p99": round(float(np.percentile(ms, 99)), 3), "mean": round(float(ms.mean()), 3)}


def timed(call: Callable[[], object], runs: int, warmup: int) -> dict:
    """Percentiles of ``runs`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


INT8_DOT_PRODUCT = {"avx512_vnni": "AVX-512 VNNI", "avx_vnni": "AVX-VNNI", "asimddp": "Arm dot product"}


def cpu_description(info: Optional[str] = None) -> tuple:
    """(CPU model name, its int8 dot-product instructions or "none") from ``info``, the text of
    /proc/cpuinfo (read when not given, where it exists)."""
    if info is None:
        try:
            with open("/proc/cpuinfo") as f:
                info = f.read()
        except OSError:
            return platform.processor() or "unknown CPU", "unknown"
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {k.strip().lower(): v.strip() for k, v in fields.items()}
    name = fields.get("model name") or fields.get("cpu part") or "unknown CPU"
    flags = set((fields.get("flags") or fields.get("features") or "").split())
    found = [label for flag, label in INT8_DOT_PRODUCT.items() if flag in flags]
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None
    return name, ", ".join(found) or (f"none ({vector})" if vector else "none")


def machine() -> str:
    """The host a benchmark ran on: architecture, CPU, cores, int8 dot-product instructions, OS."""
    name, dot = cpu_description()
    return (f"{platform.machine()}, {name}, {os.cpu_count()} cores, int8 dot product: {dot}, "
            f"{platform.system()} {platform.release()}")


def bench(settings: DeviceSettings, runs: int = 200, warmup: int = 10) -> dict:
    """Latencies: one classifier invoke on the sample's real face crop, the face detector alone,
    and the whole pipeline (detect, crop, classify, track) on the sample frame with one face."""
    pipeline = assemble(replace(settings, smooth=1))
    classifier, finder = pipeline.classifier, pipeline.detector
    frame = next(iter(sample_frames(1)))
    detections = finder.detect(frame)
    size = classifier.face_size
    face = pipeline.crop(frame, detections[0]) if detections else np.zeros((size, size), np.uint8)
    classifier.predict(face)  # leaves this face in the input tensor for the timed invokes
    pipeline_ms = timed(lambda: pipeline.process(frame), runs, warmup)
    return {
        "model": os.path.abspath(settings.model_path),
        "size_mb": round(classifier.size_bytes / 1e6, 3),
        "runtime": classifier.runtime,
        "delegate": settings.delegate or "none",
        "threads": settings.threads,
        "detector": settings.detector,
        "machine": machine(),
        "runs": runs,
        "frame": list(frame.shape[:2][::-1]),
        "faces_in_frame": len(detections),
        "classifier_ms": timed(classifier.interpreter.invoke, runs, warmup),
        "detector_ms": timed(lambda: finder.detect(frame), runs, warmup),
        "pipeline_ms": pipeline_ms,
        "faces_per_second": round(1000.0 * max(1, len(detections)) / pipeline_ms["p50"], 1),
    }


def latency_record(runs: int) -> dict:
    """The classifier p50 of every bundled model on 1 and 2 threads, measured in one run, with the
    machine: what ``edgefer models`` shows beside each model (``bench --all-models --record``)."""
    from edgefer.device.bundled import bundled_models
    from edgefer.device.profiles import DeviceSettings

    record = {"machine": machine(), "runs": runs, "measure": "classifier p50, one invoke on one face (ms)", "models": {}}
    for model in bundled_models():
        record["models"][model["name"]] = {
            f"{threads}_thread{'s' if threads > 1 else ''}": bench(DeviceSettings(model["path"], threads=threads), runs)
            ["classifier_ms"]["p50"] for threads in (1, 2)}
    return record
