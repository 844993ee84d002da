"""Metrics files for a model's predictions on one named split: metrics.json and confusion.png."""

import os

import numpy as np

from edgefer.core.files import check_output_folder, write_json
from edgefer.core.metrics import classification_metrics
from edgefer.core.plots import confusion_png


def write_metrics(probs, y_true, labels, out_dir, source, model_name):
    """Write ``metrics.json`` and ``confusion.png`` into ``out_dir``; ``source`` names the
    dataset, its path and the split. Returns the metrics dict."""
    metrics = {**source, **classification_metrics(y_true, np.argmax(probs, axis=1), labels)}
    check_output_folder(out_dir)
    write_json(os.path.join(out_dir, "metrics.json"), metrics)
    title = f"{model_name} on {source['dataset']} {source['split']} (n={metrics['n']}, acc={metrics['accuracy']:.3f})"
    confusion_png(metrics["confusion"], labels, os.path.join(out_dir, "confusion.png"), title)
    return metrics
