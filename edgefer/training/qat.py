"""Quantization-aware fine-tuning: a trained model sees int8 rounding while it trains.

``quantization_aware(model)`` rebuilds a trained classifier around the same layers (so the same
weights) with the rounding an int8 TFLite file applies: every convolution and dense kernel is
rounded per output channel to 127 steps a side, and every tensor the converter keeps (after
each activation, each projection, each residual add, the pooled and dense outputs) is rounded
to 256 steps over a range tracked as a moving average of batch minima and maxima. Gradients
pass straight through the rounding. Batch normalisation stays frozen, as the converter folds
its statistics into the kernels. After fine-tuning, the float model holds the adapted weights
and is quantized as usual. The rounding follows EfficientNet-Lite's graph (convolution, batch
normalisation, ReLU6), so other backbones are refused.
"""

import os
import shutil
import sys

import keras
import numpy as np
import tensorflow as tf

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_folder, write_json
from edgefer.core.spec import check_labels
from edgefer.data.datasets import stratified_indices
from edgefer.training.backbones import get_backbone
from edgefer.training.config import TrainConfig
from edgefer.training.evaluate import write_split_metrics
from edgefer.training.int8_grid import STEM, fake_quant_kernel
from edgefer.training.model import load_model
from edgefer.training.records import EpochRecord
from edgefer.training.runs import MODEL_FILE, resolve_run
from edgefer.training.train import TEACHER_CACHE, make_dataset, training_dataset, training_splits


class ActivationQuantizer(keras.layers.Layer):
    """Rounds a tensor to 256 levels over a moving-average [min, max] range that includes 0."""

    def __init__(self, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def build(self, input_shape):
        self.range_min = self.add_weight(shape=(), initializer="zeros", trainable=False, name="range_min")
        self.range_max = self.add_weight(shape=(), initializer="zeros", trainable=False, name="range_max")
        self.seen = self.add_weight(shape=(), initializer="zeros", trainable=False, name="seen")

    def call(self, x, training=False):
        if training:
            batch_min = tf.minimum(tf.reduce_min(x), 0.0)
            batch_max = tf.maximum(tf.reduce_max(x), 0.0)
            m = self.momentum * self.seen
            self.range_min.assign(m * self.range_min + (1 - m) * batch_min)
            self.range_max.assign(m * self.range_max + (1 - m) * batch_max)
            self.seen.assign(1.0)
        return tf.quantization.fake_quant_with_min_max_vars(x, self.range_min, self.range_max, num_bits=8)


class QuantizedKernel(keras.layers.Layer):
    """Calls a Conv2D, DepthwiseConv2D or Dense layer with its kernel rounded to int8 per channel.

    The stem convolution sees three identical gray channels; the exported model sums its kernel
    over them, so that summed kernel is what gets rounded here.
    """

    def __init__(self, layer, activation=None, **kwargs):
        super().__init__(name=f"{layer.name}_int8", **kwargs)
        self.inner = layer
        self.activation = activation or layer.activation

    def call(self, x):
        layer = self.inner
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            y = keras.ops.depthwise_conv(x, fake_quant_kernel(layer.kernel, axis=2), layer.strides,
                                         layer.padding, layer.data_format, layer.dilation_rate)
        elif isinstance(layer, keras.layers.Conv2D):
            kernel = layer.kernel
            if layer.name == STEM:
                x, kernel = x[..., :1], tf.reduce_sum(kernel, axis=2, keepdims=True)
            y = keras.ops.conv(x, fake_quant_kernel(kernel, axis=3), layer.strides, layer.padding,
                               layer.data_format, layer.dilation_rate)
        else:
            y = keras.ops.matmul(x, fake_quant_kernel(layer.kernel, axis=1))
        if layer.use_bias:
            y = y + layer.bias
        return self.activation(y)


def _input_layer_names(inbound):
    """Names of the layers whose outputs appear in a layer's ``inbound_nodes`` config."""
    if isinstance(inbound, dict):
        history = inbound.get("config", {}).get("keras_history") if inbound.get("class_name") == "__keras_tensor__" \
            else None
        return [history[0]] if history else [n for v in inbound.values() for n in _input_layer_names(v)]
    if isinstance(inbound, (list, tuple)):
        return [n for v in inbound for n in _input_layer_names(v)]
    return []


def _feeds_activation(model):
    """Names of the layers whose output goes straight into an Activation layer (read from the
    functional model's public config)."""
    return {name for layer in model.get_config()["layers"] if layer["class_name"] == "Activation"
            for name in _input_layer_names(layer["inbound_nodes"])}


def quantization_aware(model):
    """A model sharing ``model``'s layers and weights that computes with int8 rounding."""
    backbone = model.get_layer("backbone")
    fused = _feeds_activation(backbone)
    backbone_names = {layer.name for layer in backbone.layers}
    for layer in backbone.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False

    def call(layer, *args, **kwargs):
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
            if layer.name in backbone_names:  # batch normalisation follows
                return QuantizedKernel(layer)(*args)
            if layer.activation is keras.activations.softmax:  # int8 logits, then softmax
                logits = QuantizedKernel(layer, keras.activations.linear)(*args)
                return keras.ops.softmax(ActivationQuantizer(name=f"{layer.name}_range")(logits))
            return ActivationQuantizer(name=f"{layer.name}_range")(QuantizedKernel(layer)(*args))
        out = layer(*args, **kwargs)
        if isinstance(layer, keras.layers.Resizing):
            return keras.ops.round(out)  # the int8 file resizes on the input's pixel grid
        keeps_tensor = isinstance(layer, (keras.layers.Activation, keras.layers.Add,
                                          keras.layers.GlobalAveragePooling2D))
        if isinstance(layer, keras.layers.BatchNormalization) and layer.name not in fused:
            keeps_tensor = True
        return ActivationQuantizer(name=f"{layer.name}_range")(out) if keeps_tensor else out

    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call, recursive=True)


def set_ranges(qat_model, images, batch_size=64):
    """Start every tracked range from the model's activations on ``images`` (uint8 faces)."""
    for start in range(0, len(images), batch_size):
        qat_model(images[start:start + batch_size, ..., None].astype("float32"), training=True)


def finetune(source_run, run_dir, epochs=2, lr=2e-5, batch_size=64, seed=0):
    """Fine-tune the trained run ``source_run`` with int8 rounding into the new run ``run_dir``
    (same data, labels and loss); returns the float model's validation metrics."""
    keras_path, config = resolve_run(source_run)
    if get_backbone(config["backbone"]).source != "kimm":
        raise EdgeferError(f"{source_run}: int8-aware fine-tuning models EfficientNet-Lite backbones only, "
                           f"not {config['backbone']}")
    if os.path.exists(os.path.join(run_dir, MODEL_FILE)):
        raise EdgeferError(f"{run_dir}: already holds a model; choose another --out")
    cfg = TrainConfig.from_saved(config["train"])
    keras.utils.set_random_seed(seed)
    check_output_folder(run_dir)
    source_cache = os.path.join(os.path.dirname(keras_path), TEACHER_CACHE)
    if cfg.teachers and os.path.exists(source_cache):  # the source run's teachers' answers, not asked again
        shutil.copyfile(source_cache, os.path.join(run_dir, TEACHER_CACHE))
    dataset, train_split, val_split, weights = training_splits(cfg, run_dir)
    labels = dataset.labels
    check_labels(labels, config["labels"], cfg.data, "dataset labels")
    steps = int(np.ceil(len(train_split) / batch_size))

    settings = {"source": os.path.abspath(keras_path), "epochs": epochs, "lr": lr, "batch_size": batch_size,
                "seed": seed}
    write_json(os.path.join(run_dir, "config.json"), {**config, "quantization_aware": settings})

    model = load_model(keras_path)
    qat_model = quantization_aware(model)
    set_ranges(qat_model, train_split.images[stratified_indices(train_split.labels, 512, seed)])
    schedule = keras.optimizers.schedules.CosineDecay(lr, steps * epochs, alpha=0.01)
    qat_model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing),
        metrics=["accuracy"],
    )
    train_ds = training_dataset(cfg, train_split, labels, weights, batch_size, seed)
    val_ds = make_dataset(val_split, len(labels), np.ones(len(labels)), 256)
    title = f"int8-aware fine-tuning of {config['backbone']} on {dataset.name}"
    record = EpochRecord(run_dir, [], -1.0, title, kept=model)  # keeps the float model, not the rounding one
    qat_model.fit(train_ds, validation_data=val_ds, epochs=epochs, callbacks=[record],
                  verbose=1 if sys.stderr.isatty() else 2)

    best = load_model(os.path.join(run_dir, MODEL_FILE))
    return write_split_metrics(best, dataset, cfg.data, "val", run_dir, config["backbone"])

