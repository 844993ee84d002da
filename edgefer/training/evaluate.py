"""``edgefer evaluate``: a trained Keras run scored on one named split."""

import os

from edgefer.core.files import check_output_folder
from edgefer.core.spec import check_labels
from edgefer.data.datasets import load_dataset
from edgefer.evaluation.reports import write_metrics
from edgefer.training.model import load_model, predict
from edgefer.training.runs import SPLITS_FILE, resolve_run


def write_split_metrics(model, dataset, data: str, split: str, out_dir: str, model_name: str) -> dict:
    """Score ``model`` on ``split`` of the loaded ``dataset`` (read from ``data``): metrics.json and
    confusion.png into ``out_dir``; returns the metrics."""
    part = dataset.split(split)
    source = {"dataset": dataset.name, "path": os.path.abspath(data), "split": split}
    return write_metrics(predict(model, part.images), part.labels, dataset.labels, out_dir, source, model_name)


def evaluate_run(run_path: str, data: str, split: str, out_dir: str = None, ferplus_mode: str = "majority",
                 split_file: str = None) -> dict:
    """Write metrics.json and confusion.png for the run's model on ``split`` of ``data``
    (into ``out_dir``, by default ``eval-<split>`` beside the model); returns the metrics. A
    prepared dataset is split as ``split_file`` says, by default as the run itself split it."""
    keras_path, config = resolve_run(run_path)
    out_dir = out_dir or os.path.join(os.path.dirname(keras_path), f"eval-{split}")
    check_output_folder(out_dir, create=False)
    own_splits = os.path.join(os.path.dirname(keras_path), SPLITS_FILE)
    if split_file is None and os.path.exists(own_splits):
        split_file = own_splits
    dataset = load_dataset(data, (split,), ferplus_mode, split_file)
    check_labels(dataset.labels, config["labels"], data, "dataset labels")
    model = load_model(keras_path)
    return write_split_metrics(model, dataset, data, split, out_dir, model.name)
