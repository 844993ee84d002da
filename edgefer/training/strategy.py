"""Pick the tf.distribute strategy for the training host: all GPUs when there are several."""

import keras
import tensorflow as tf


def choose_strategy():
    """MirroredStrategy over several visible GPUs, else the default device. Mixed precision is
    switched on whenever a GPU is visible."""
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    if len(gpus) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
