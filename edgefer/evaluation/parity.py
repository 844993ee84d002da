"""``edgefer parity``: how far a quantized TFLite model drifts from its float twin, per class.

Runs both files through the device runtime (no TensorFlow) on one named split and writes
``report.json``, ``report.md``, both confusion matrices and a grid of disagreements.
"""

import os
from dataclasses import dataclass
from typing import Optional

import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_folder, write_json, write_text
from edgefer.core.metrics import classification_metrics
from edgefer.core.plots import confusion_png, image_grid_png
from edgefer.core.spec import check_labels
from edgefer.data.datasets import load_dataset, stratified_indices
from edgefer.device.runtime import Classifier
from edgefer.evaluation.scoring import probabilities


@dataclass(frozen=True)
class ParityOptions:
    """Where and how to compare: the ``split``, an optional stratified ``limit``, the gate
    ``max_drop`` in percentage points, the report folder, interpreter threads and, on FER+,
    which labels to read (``edgefer.data.datasets.FERPLUS_MODES``)."""

    split: str = "test"
    limit: int = 0
    max_drop: float = 1.0
    out_dir: str = "parity"
    threads: Optional[int] = None
    ferplus_mode: str = "majority"
    split_file: Optional[str] = None  # a run's splits.json, for a prepared dataset


def bootstrap_drop_ci(correct_float, correct_quant, resamples=2000, seed=0):
    """95% paired-bootstrap interval of the accuracy drop, in percentage points."""
    rng = np.random.default_rng(seed)
    n = len(correct_float)
    diff = correct_float.astype(np.float64) - correct_quant.astype(np.float64)
    drops = [diff[rng.integers(0, n, n)].mean() * 100 for _ in range(resamples)]
    return [float(np.percentile(drops, 2.5)), float(np.percentile(drops, 97.5))]


def compare(probs_float, probs_quant, y_true, labels):
    """The parity figures for two probability arrays on the same images."""
    pred_f, pred_q = probs_float.argmax(1), probs_quant.argmax(1)
    correct_f, correct_q = pred_f == y_true, pred_q == y_true
    delta = np.abs(probs_float - probs_quant)
    return {
        "n": int(len(y_true)),
        "accuracy_float": float(correct_f.mean()),
        "accuracy_quant": float(correct_q.mean()),
        "drop_pp": float((correct_f.mean() - correct_q.mean()) * 100),
        "drop_pp_ci95": bootstrap_drop_ci(correct_f, correct_q),
        "agreement": float((pred_f == pred_q).mean()),
        "mean_abs_dprob": float(delta.mean()),
        "max_abs_dprob": float(delta.max()),
        "float": classification_metrics(y_true, pred_f, labels),
        "quant": classification_metrics(y_true, pred_q, labels),
    }


def per_class_table(report, labels):
    """{label: {precision/recall/f1 _float and _quant, support}} side by side."""
    table = {}
    for label in labels:
        f, q = report["float"]["per_class"][label], report["quant"]["per_class"][label]
        table[label] = {**{f"{k}_float": f[k] for k in ("precision", "recall", "f1")},
                        **{f"{k}_quant": q[k] for k in ("precision", "recall", "f1")}, "support": f["support"]}
    return table


def markdown(report):
    """report.md text."""
    r = report
    lo, hi = r["drop_pp_ci95"]
    lines = [
        f"# Accuracy parity: {os.path.basename(r['quant_model'])} vs {os.path.basename(r['float_model'])}",
        "",
        f"Data: {r['dataset']} `{r['split']}` split, n = {r['n']} ({r['data_path']}). Runtime: {r['runtime']}.",
        "",
        "| | float | quantized |",
        "|---|---:|---:|",
        f"| top-1 accuracy | {r['accuracy_float']:.4f} | {r['accuracy_quant']:.4f} |",
        f"| macro F1 | {r['float']['macro_f1']:.4f} | {r['quant']['macro_f1']:.4f} |",
        f"| size (MB) | {r['size_mb_float']:.2f} | {r['size_mb_quant']:.2f} |",
        f"| latency per face (ms) | {r['latency_ms_float']:.2f} | {r['latency_ms_quant']:.2f} |",
        "",
        f"Drop: **{r['drop_pp']:+.2f} pp** (95% paired bootstrap CI {lo:+.2f} to {hi:+.2f}); limit {r['max_drop_pp']:.2f} pp: "
        f"**{'PASS' if r['passed'] else 'FAIL'}**.",
        f"Top-1 agreement {r['agreement']:.4f}; mean |dp| {r['mean_abs_dprob']:.4f}, max |dp| {r['max_abs_dprob']:.4f}.",
        "",
        "| class | support | P float | P quant | R float | R quant | F1 float | F1 quant |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, c in r["per_class"].items():
        lines.append(f"| {label} | {c['support']} | {c['precision_float']:.3f} | {c['precision_quant']:.3f} | "
                     f"{c['recall_float']:.3f} | {c['recall_quant']:.3f} | {c['f1_float']:.3f} | {c['f1_quant']:.3f} |")
    lines += ["", "![float confusion](confusion_float.png) ![quantized confusion](confusion_quant.png)", "",
              "![disagreements](disagreements.png)", ""] if r.get("plots", True) else \
        ["", "Plots not drawn: matplotlib is not installed (pip install 'edgefer[plots]').", ""]
    return "\n".join(lines)


def write_predictions(path, part, labels, probs_float, probs_quant):
    """One row per image: id, true label, both predictions and the quantized probabilities."""
    lines = [",".join(["id", "true", "float", "quant"] + [f"p_quant_{label}" for label in labels])]
    for i, image_id in enumerate(part.ids):
        lines.append(",".join([image_id, labels[part.labels[i]], labels[probs_float[i].argmax()],
                               labels[probs_quant[i].argmax()]] + [f"{p:.6f}" for p in probs_quant[i]]))
    write_text(path, "\n".join(lines) + "\n")


def dataset_name(name: str, ferplus_mode: str) -> str:
    """The dataset as reports name it: FER+ with the labels read (``ferplus majority``)."""
    return f"{name} {ferplus_mode}" if name == "ferplus" else name


def parity(float_path: str, quant_path: str, data: str, *, options: ParityOptions = ParityOptions()) -> dict:
    """Compare the two models on ``options.split`` of ``data``; writes the report files into
    ``options.out_dir`` and returns the report dict (``passed`` is False over ``max_drop``)."""
    split, limit, max_drop, out_dir, threads = (options.split, options.limit, options.max_drop, options.out_dir,
                                                options.threads)
    check_output_folder(out_dir, create=False)
    float_model, quant_model = Classifier(float_path, threads=threads), Classifier(quant_path, threads=threads)
    if float_model.metadata.mode not in (None, "float32") and quant_model.metadata.mode == "float32":
        raise EdgeferError(f"{float_path} is the {float_model.metadata.mode} file and {quant_path} the float32 one: "
                           "give the float32 file first (FLOAT QUANT)")
    check_labels(quant_model.labels, float_model.labels, quant_path)
    dataset = load_dataset(data, (split,), options.ferplus_mode, options.split_file)
    check_labels(dataset.labels, float_model.labels, data, "dataset labels")
    part = dataset.split(split)
    if limit:
        part = part.subset(stratified_indices(part.labels, limit, seed=0))
    probs_f, seconds_f = probabilities(float_model, part.images, "float model")
    probs_q, seconds_q = probabilities(quant_model, part.images, "quantized model")
    labels = float_model.labels
    report = compare(probs_f, probs_q, part.labels, labels)
    report.update({
        "split": split, "dataset": dataset_name(dataset.name, options.ferplus_mode),
        "data_path": os.path.abspath(os.path.expanduser(data)),
        "float_model": os.path.abspath(float_path), "quant_model": os.path.abspath(quant_path),
        "runtime": quant_model.runtime, "threads": threads,
        "size_mb_float": float_model.size_bytes / 1e6, "size_mb_quant": quant_model.size_bytes / 1e6,
        "latency_ms_float": seconds_f * 1e3, "latency_ms_quant": seconds_q * 1e3,
        "max_drop_pp": float(max_drop), "passed": bool(report["drop_pp"] <= max_drop),
    })
    report["per_class"] = per_class_table(report, labels)

    check_output_folder(out_dir)
    drawn = []
    for kind in ("float", "quant"):
        drawn.append(confusion_png(report[kind]["confusion"], labels, os.path.join(out_dir, f"confusion_{kind}.png"),
                      f"{kind} model on {dataset.name} {split} (n={report['n']}, acc={report[f'accuracy_{kind}']:.3f})"))
    all_disagreeing = np.flatnonzero(probs_f.argmax(1) != probs_q.argmax(1))
    disagree = all_disagreeing[:32]
    captions = [f"true {labels[part.labels[i]]}\nf:{labels[probs_f[i].argmax()]} q:{labels[probs_q[i].argmax()]}"
                for i in disagree]
    drawn.append(image_grid_png(part.images[disagree], captions, os.path.join(out_dir, "disagreements.png"),
                                f"{len(disagree)} of {len(all_disagreeing)} images where the models disagree"))
    report["plots"] = all(drawn)
    write_predictions(os.path.join(out_dir, "predictions.csv"), part, labels, probs_f, probs_q)
    write_json(os.path.join(out_dir, "report.json"), report)
    write_text(os.path.join(out_dir, "report.md"), markdown(report))
    return report
