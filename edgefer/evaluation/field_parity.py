"""``edgefer parity FLOAT INT8 --source``: label-free parity on your own photos, videos or camera.

The faces come through the device's own face stage (detector, alignment, the crop geometry in
the int8 file) and each crop goes through both models: agreement with its 95% interval, the
largest per-class probability difference (mean, 95th percentile), the flips per class (int8 label
x float label), the int8 input and output saturation, and a contact sheet of the faces that flip,
largest difference first. No labels are needed: this is what to run on a few hundred frames of
your own camera before trusting a new model file. The same ``DriftMonitor`` as ``run --drift``
(every face compared), so the two report the same figures on the same faces.
"""

import os
import time
from dataclasses import dataclass, replace
from typing import Iterable, Optional

from edgefer.core.files import check_output_folder, write_json, write_text
from edgefer.core.plots import confusion_png, image_grid_png
from edgefer.core.progress import progress
from edgefer.device.assemble import assemble
from edgefer.device.drift import DriftMonitor
from edgefer.device.profiles import DeviceSettings
from edgefer.device.runtime import Classifier
from edgefer.device.sources import Frame


@dataclass(frozen=True)
class FieldOptions:
    """The gate (``min_agreement``), the report folder and a frame limit (0: until the source ends)."""

    min_agreement: float = 0.95
    out_dir: str = "parity"
    max_frames: int = 0


def field_parity(float_path: str, settings: DeviceSettings, frames: Iterable[Frame], source: str,
                 options: FieldOptions = FieldOptions()) -> dict:
    """Compare ``settings.model_path`` (the int8 file) with the float model on every face of
    ``frames``; writes report.json, report.md, flips.png and flip_matrix.png into ``options.out_dir``."""
    check_output_folder(options.out_dir, create=False)
    pipeline = assemble(replace(settings, drift_model=None))
    monitor = DriftMonitor(Classifier(float_path, threads=settings.threads), pipeline.classifier, every=1,
                           keep_flips=True)
    pipeline.shadow = monitor
    frames_done, start = 0, time.perf_counter()
    for index, frame in enumerate(progress(frames, desc="comparing faces")):
        if options.max_frames and index >= options.max_frames:
            break
        pipeline.process(frame.image, still=frame.still)
        frames_done += 1
    figures = monitor.figures()
    report = {"source": source, "frames": frames_done, "seconds": round(time.perf_counter() - start, 2),
              "float_model": os.path.abspath(float_path), "quant_model": os.path.abspath(settings.model_path),
              "runtime": pipeline.classifier.runtime, "detector": settings.detector, **figures,
              "skipped": getattr(frames, "skipped", []), "min_agreement": options.min_agreement,
              "passed": bool(figures["faces_compared"] and figures["agreement"] >= options.min_agreement)}
    write_report(report, monitor, options.out_dir)
    return report


def write_report(report: dict, monitor: DriftMonitor, out_dir: str) -> None:
    check_output_folder(out_dir)
    labels = report["labels"]
    kept = monitor.kept
    captions = [f"int8 {labels[q]}\nfloat {labels[f]}\n|dp| {d:.2f}" for d, _, q, f in kept]
    drawn = [
        image_grid_png([crop for _, crop, _, _ in kept], captions, os.path.join(out_dir, "flips.png"),
                       f"{len(kept)} of {monitor.compared - monitor.agree} faces where the models disagree, "
                       "largest difference first"),
        confusion_png(report["flip_matrix"], labels, os.path.join(out_dir, "flip_matrix.png"),
                      f"int8 label (rows) x float label (columns), {report['faces_compared']} faces"),
    ]
    report["plots"] = all(drawn)
    write_json(os.path.join(out_dir, "report.json"), report)
    write_text(os.path.join(out_dir, "report.md"), markdown(report))


def markdown(report: dict) -> str:
    low, high = report["agreement_ci95"]
    saturation = report["saturation"]
    lines = [
        f"# Field parity: {os.path.basename(report['quant_model'])} vs {os.path.basename(report['float_model'])}",
        "",
        f"Source: {report['source']} ({report['frames']} frames, {report['faces_compared']} faces found by "
        f"{report['detector']}; no labels). Runtime: {report['runtime']}.",
        "",
        f"Top-1 agreement **{report['agreement']:.4f}** (95% CI {low:.4f}-{high:.4f}); limit {report['min_agreement']:g}: "
        f"**{'PASS' if report['passed'] else 'FAIL'}**.",
        f"Largest per-class probability difference: mean {report['max_difference_mean']:.4f}, "
        f"95th percentile {report['max_difference_p95']:.3f}.",
        f"int8 saturation (values at -128 or 127): input {_share(saturation['input'])}, "
        f"output {_share(saturation['output'])}.",
        "",
        "| int8 label | faces | flipped | to (float label: faces) |",
        "|---|---:|---:|---|",
    ]
    for q, row in enumerate(report["flip_matrix"]):
        flips = {report["labels"][f]: n for f, n in enumerate(row) if f != q and n}
        lines.append(f"| {report['labels'][q]} | {sum(row)} | {sum(flips.values())} | "
                     + ", ".join(f"{label}: {n}" for label, n in flips.items()) + " |")
    lines += ["", "![faces that flip](flips.png) ![flip matrix](flip_matrix.png)", ""] if report.get("plots") else \
        ["", "Plots not drawn: matplotlib is not installed (pip install 'edgefer[plots]').", ""]
    return "\n".join(lines)


def _share(value: Optional[float]) -> str:
    return "n/a (float tensor)" if value is None else f"{value:.4%}"
