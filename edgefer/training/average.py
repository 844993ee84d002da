"""``edgefer average``: one model whose weights are the mean of several trained ones.

Runs fine-tuned from the same start (a run and its continuations, the epochs a run kept with
``--keep-epochs``) lie close together in weight space; their mean is often better than each of
them and costs no more to run (a "model soup", or stochastic weight averaging).
"""

import os

import numpy as np

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_folder, write_json, write_with
from edgefer.core.spec import check_labels
from edgefer.data.datasets import load_dataset
from edgefer.training.evaluate import write_split_metrics
from edgefer.training.model import check_finite, load_model
from edgefer.training.runs import CONFIG_FILE, MODEL_FILE, resolve_run


def read_weights(path: str, shapes: list) -> list:
    """The weight arrays in ``path``: an epoch's .npz (from ``--keep-epochs``) or a run (folder or
    model.keras); they must have the network's ``shapes``."""
    if path.endswith(".npz"):
        try:
            with np.load(path) as saved:
                weights = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        except (OSError, ValueError, KeyError) as exc:
            raise EdgeferError(f"{path}: not an epoch's weights ({exc})".splitlines()[0]) from None
    else:
        weights = load_model(resolve_run(path)[0]).get_weights()
    if [w.shape for w in weights] != shapes:
        raise EdgeferError(f"{path}: its weights do not fit the first run's network (another backbone, size or head)")
    check_finite(weights, path)
    return weights


def run_of(path: str) -> str:
    """The run a source belongs to: the run itself, or for a kept epoch (RUN/epochs/epoch-NN.npz) its run folder."""
    return os.path.dirname(os.path.dirname(os.path.abspath(path))) if path.endswith(".npz") else path


def average_runs(sources: list, run_dir: str, data: str) -> dict:
    """Write a run folder holding the mean of ``sources``' weights (the first source's run gives
    the network and config), scored on ``data``'s val split; returns the metrics."""
    keras_path, config = resolve_run(run_of(sources[0]))
    for name in (MODEL_FILE, CONFIG_FILE):
        if os.path.exists(os.path.join(run_dir, name)):
            raise EdgeferError(f"{run_dir}: already holds {name}; choose another --out")
    dataset = load_dataset(data, ("val",), config.get("train", {}).get("ferplus_mode", "majority"))
    check_labels(dataset.labels, config["labels"], data, "dataset labels")
    model = load_model(keras_path)
    shapes = [w.shape for w in model.get_weights()]
    weights = [read_weights(path, shapes) for path in sources]
    check_output_folder(run_dir)
    model.set_weights([np.mean(arrays, axis=0).astype(arrays[0].dtype) for arrays in zip(*weights)])
    write_json(os.path.join(run_dir, CONFIG_FILE), {**config, "averaged_from": [os.path.normpath(p) for p in sources]})
    write_with(os.path.join(run_dir, MODEL_FILE), model.save)
    return write_split_metrics(model, dataset, data, "val", run_dir, model.name)
