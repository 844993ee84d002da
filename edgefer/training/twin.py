"""Rebuild a trainable Keras classifier from a float32 model file edgefer made (a bundled model's twin).

The twin is all a user has of a shipped model once its run's Keras weights are gone, so transfer
learning (``edgefer train --weights fer2013-lite0``) starts from it. Its convolutions carry their
BatchNorm folded in (kernel and bias), and the grey-to-RGB copy is folded into the stem (the kernel
summed over the three channels, see ``export_model``); the rebuild puts each kernel back in the
network's layer order, a third of the stem's kernel on each channel, and the folded bias into an
identity BatchNorm (gamma 1, mean 0, variance 1 - epsilon). The rebuilt model computes the
file's function (checked by ``check_rebuild``).
"""

import os
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from edgefer.core.errors import EdgeferError
from edgefer.core.metadata import read_metadata
from edgefer.device.bundled import bundled_names, float_model
from edgefer.device.runtime import Classifier
from edgefer.training.model import build_classifier, predict

WEIGHTED_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


def twin_path(weights: str) -> Optional[str]:
    """The float32 model file ``train --weights`` names: a .tflite path, or a bundled model's name
    (its twin); None for every other kind of weights."""
    if weights.endswith(".tflite") or (not os.path.exists(weights) and weights in bundled_names()):
        return float_model(weights)
    return None


def _weighted_ops(path):
    """[(op name, [constant arrays])] of the file's convolutions and dense layers, in graph order,
    the mirror image's permutation (``flip``) left out."""
    interpreter = tf.lite.Interpreter(path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    found = []
    for op in interpreter._get_ops_details():  # noqa: SLF001  the only way to list ops in the Python API
        if op["op_name"] not in WEIGHTED_OPS:
            continue
        if any("/flip" in tensors[i]["name"] for i in op["outputs"]):
            continue
        found.append((op["op_name"], [interpreter.get_tensor(i) for i in op["inputs"][1:] if i >= 0]))
    return found


def _targets(model):
    """The model's layers that hold weights, in order: backbone layers, then the head's."""
    layers = []
    for layer in model.layers:
        if layer.name == "backbone":
            layers += [inner for inner in layer.layers if inner.weights]
        elif layer.weights:
            layers.append(layer)
    return layers


def classifier_from_twin(path: str) -> keras.Model:
    """The classifier whose float32 model file is ``path`` (flip-averaged files give the plain
    network), ready to train."""
    if not os.path.exists(path):
        raise EdgeferError(f"{path}: model file not found")
    metadata = read_metadata(path)
    if metadata.mode != "float32" or metadata.members or not metadata.backbone:
        raise EdgeferError(f"{path}: transfer starts from a float32 file of one trained network "
                           f"(this one is {metadata.mode or 'unknown'}{', an ensemble' if metadata.members else ''})")
    ops = _weighted_ops(path)
    head_conv = next((arrays[0] for _, arrays in reversed(ops) if arrays[0].ndim == 4), None)
    model = build_classifier(metadata.backbone, list(metadata.labels), "none", metadata.image_size,
                             head_kernel=int(head_conv.shape[1]) if head_conv is not None else 3)
    targets = _targets(model)
    convs = [layer for layer in targets if not isinstance(layer, keras.layers.BatchNormalization)]
    if len(ops) not in (len(convs), 2 * len(convs)):
        raise EdgeferError(f"{path}: {len(ops)} weighted operations do not fit {metadata.backbone}'s {len(convs)}")
    pending_bias = None
    weighted = iter(ops[:len(convs)])
    for layer in targets:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, variance = (np.asarray(w) for w in layer.get_weights())
            layer.set_weights([np.ones_like(gamma), pending_bias, np.zeros_like(mean),
                               np.full_like(variance, 1 - layer.epsilon)])
            pending_bias = None
            continue
        _, arrays = next(weighted)
        kernel, bias = arrays[0], arrays[1] if len(arrays) > 1 else None
        shapes = [tuple(w.shape) for w in layer.weights]
        if isinstance(layer, keras.layers.Dense):
            values = [kernel.T, bias]
        else:  # TFLite kernels are OHWI (depthwise 1HWC); Keras' are HWIO (depthwise HWC1)
            kernel = kernel.transpose(1, 2, 3, 0)
            if kernel.shape[2] * 3 == shapes[0][2]:  # the stem, summed over the grey input's copies
                kernel = np.repeat(kernel / 3, 3, axis=2)
            values = [kernel, bias] if len(shapes) == 2 else [kernel]
            if len(shapes) == 1:
                pending_bias = bias
        if [tuple(v.shape) for v in values] != shapes:
            raise EdgeferError(f"{path}: weights {[tuple(v.shape) for v in values]} do not fit layer {layer.name} {shapes}")
        layer.set_weights(values)
    return model


def transfer_classifier(path: str, labels, face_size: int, channels: int, image_size: int) -> keras.Model:
    """A classifier for ``labels`` and (face_size, face_size, channels) faces that starts from the
    network in the float32 file ``path``. Every layer's weights are the file's; in the last layer,
    a label the file knows keeps its weights and a new label starts fresh. The BatchNorm layers
    stay as the file has them (inference mode): they hold the folded biases, not statistics a
    batch could update."""
    source = classifier_from_twin(path)
    metadata = read_metadata(path)
    head_kernel = source.get_layer("head_conv").kernel.shape[0]
    model = build_classifier(metadata.backbone, labels, "none", image_size, head_kernel,
                             face_size=face_size, channels=channels)
    for layer in model.layers:
        if layer.name == "backbone":
            for inner in layer.layers:
                if inner.weights:
                    inner.set_weights(source.get_layer("backbone").get_layer(inner.name).get_weights())
                if isinstance(inner, keras.layers.BatchNormalization):
                    inner.trainable = False
        elif layer.name == "emotion":
            layer.set_weights(_known_label_weights(layer, source.get_layer("emotion"), labels, metadata.labels))
        elif layer.weights:
            layer.set_weights(source.get_layer(layer.name).get_weights())
    return model


def _known_label_weights(layer, source, labels, known):
    """The new last layer's kernel and bias: the source's column for each label it knows, the
    layer's fresh initial values for the others."""
    kernel, bias = (np.array(w) for w in layer.get_weights())
    source_kernel, source_bias = source.get_weights()
    for i, label in enumerate(labels):
        if label in known:
            kernel[:, i], bias[i] = source_kernel[:, known.index(label)], source_bias[known.index(label)]
    return [kernel, bias]


def check_rebuild(model: keras.Model, path: str, faces: np.ndarray) -> float:
    """The largest probability difference between the rebuilt ``model`` (with the file's flip
    averaging) and the file itself on ``faces`` (N, 48, 48) uint8."""
    classifier = Classifier(path)
    metadata = classifier.metadata
    got = predict(model, faces, flip_average=metadata.flip_average, zoom_crop=metadata.zoom_crop)
    return float(np.abs(got - classifier.predict(faces)).max())
