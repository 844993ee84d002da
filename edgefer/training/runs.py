"""Run folders: the one rule for finding a trained model and its config.

A run folder holds ``config.json`` (labels, backbone, preprocessing, training settings) and
``model.keras``; commands accept the folder or the model file inside it.
"""

import os

from edgefer.core.errors import EdgeferError
from edgefer.core.files import read_json

MODEL_FILE = "model.keras"
SPLITS_FILE = "splits.json"  # prepared datasets: which people and faces each split of the run holds
CONFIG_FILE = "config.json"


def resolve_run(path: str) -> tuple:
    """(model.keras path, config dict) from a run folder or a model file inside one."""
    folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
    keras_path = os.path.join(path, MODEL_FILE) if os.path.isdir(path) else path
    config_path = os.path.join(folder, CONFIG_FILE)
    if not os.path.exists(keras_path):
        raise EdgeferError(f"{keras_path}: model file not found")
    if not os.path.exists(config_path):
        raise EdgeferError(f"{config_path}: the run's config.json (labels, preprocessing) is missing")
    config = read_json(config_path)
    if not isinstance(config, dict) or not isinstance(config.get("labels"), list):
        raise EdgeferError(f"{config_path}: not an edgefer run config (no labels list)")
    return keras_path, config


def run_name(keras_path: str) -> str:
    """A run's name: the folder its model file lives in."""
    return os.path.basename(os.path.dirname(os.path.abspath(keras_path)))
