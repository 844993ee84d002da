"""Pick the tf.distribute strategy: several GPUs, several workers, or the default device."""

import json
import os

import keras
import tensorflow as tf

from edgefer.errors import EdgeferError


def choose_strategy(name="auto"):
    """``auto``: MirroredStrategy on several GPUs, else the default; ``multiworker``: reads
    TF_CONFIG. Mixed precision is switched on whenever a GPU is visible."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise EdgeferError("--strategy multiworker needs the TF_CONFIG environment variable")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name != "auto":
        raise EdgeferError(f"unknown strategy {name!r}; choose auto or multiworker")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief():
    """True unless TF_CONFIG names this process as a non-chief worker."""
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {})
    return task.get("type", "worker") in ("worker", "chief") and (task.get("type") == "chief" or task.get("index", 0) == 0)
