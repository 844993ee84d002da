"""int8 weight grid: the per-channel rounding the TFLite converter applies to every kernel.

A model whose kernels already lie on that grid keeps its weights exactly through int8
conversion, so its float and int8 files differ only by the rounding of activations.
"""

import keras
import tensorflow as tf

STEM = "conv_stem_conv2d"


def fake_quant_kernel(kernel, axis):
    """Symmetric per-channel int8 rounding of a kernel (channels along ``axis``), straight-through."""
    reduce_axes = [i for i in range(len(kernel.shape)) if i != axis % len(kernel.shape)]
    scale = tf.stop_gradient(tf.maximum(tf.reduce_max(tf.abs(kernel), axis=reduce_axes, keepdims=True), 1e-8) / 127.0)
    scaled = kernel / scale
    return (scaled + tf.stop_gradient(tf.round(scaled) - scaled)) * scale


def snap_to_int8_grid(model):
    """Round every kernel of ``model`` to the values its int8 file will hold, in place, so that
    the float model and its int8 file share their weights exactly."""
    backbone = model.get_layer("backbone")
    for layer in backbone.layers + model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            layer.kernel.assign(fake_quant_kernel(layer.kernel, axis=2))
        elif isinstance(layer, keras.layers.Conv2D) and layer.name == STEM:
            summed = fake_quant_kernel(tf.reduce_sum(layer.kernel, axis=2, keepdims=True), axis=3)
            layer.kernel.assign(tf.repeat(summed / layer.kernel.shape[2], layer.kernel.shape[2], axis=2))
        elif isinstance(layer, keras.layers.Conv2D):
            layer.kernel.assign(fake_quant_kernel(layer.kernel, axis=3))
        elif isinstance(layer, keras.layers.Dense):
            layer.kernel.assign(fake_quant_kernel(layer.kernel, axis=1))
