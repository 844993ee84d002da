"""A model file that MediaPipe Tasks' ImageClassifier loads as it is, made from an edgefer float32 file.

MediaPipe feeds an image classifier RGB images (uint8 or float32, three channels) normalised as
the standard metadata says; edgefer's networks take one grey channel. The interop file is the
same graph with one fixed 1x1 convolution in front that turns RGB into grey with the weights
OpenCV uses (0.299, 0.587, 0.114): they sum to 1, so the per-channel normalisation
``(x - mean) / scale`` MediaPipe applies gives the grey normalisation the network expects. It
carries standard TFLite Model Metadata and edgefer's own archive (labels.txt among it).

Usage: python -m edgefer.convert.interop FLOAT32_FILE OUT_FILE
"""

import os
import sys
from dataclasses import replace

import numpy as np
from tensorflow.lite.python import schema_py_generated as tflite_schema

from edgefer.convert.standard_metadata import packed, set_standard_metadata, unpacked
from edgefer.core.errors import EdgeferError
from edgefer.core.files import write_bytes
from edgefer.core.metadata import flatbuffer_bytes, read_metadata, with_metadata

GREY_WEIGHTS = (0.299, 0.587, 0.114)  # R, G, B


def _constant(model, values: np.ndarray, name: str) -> int:
    """A new constant float32 tensor holding ``values``; returns its index."""
    buffer = tflite_schema.BufferT()
    buffer.data = np.frombuffer(values.astype(np.float32).tobytes(), np.uint8)
    model.buffers.append(buffer)
    tensor = tflite_schema.TensorT()
    tensor.shape, tensor.type, tensor.name = list(values.shape), tflite_schema.TensorType.FLOAT32, name
    tensor.buffer = len(model.buffers) - 1
    graph = model.subgraphs[0]
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _conv_code(model) -> int:
    """The index of the CONV_2D operator code, added when the model has none."""
    for index, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == tflite_schema.BuiltinOperator.CONV_2D:
            return index
    code = tflite_schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = tflite_schema.BuiltinOperator.CONV_2D
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def add_rgb_input(model: tflite_schema.ModelT) -> None:
    """Give the float32 ``model`` an RGB input, turned grey by a fixed 1x1 convolution."""
    graph = model.subgraphs[0]
    grey = graph.tensors[graph.inputs[0]]
    if grey.type != tflite_schema.TensorType.FLOAT32 or list(grey.shape)[-1] != 1:
        raise EdgeferError("the interop file is made from a float32 file with a one-channel input")
    image = tflite_schema.TensorT()
    image.shape, image.type, image.name = [*list(grey.shape)[:-1], 3], tflite_schema.TensorType.FLOAT32, "image"
    graph.tensors.append(image)
    image_index = len(graph.tensors) - 1
    weights = _constant(model, np.array(GREY_WEIGHTS, np.float32).reshape(1, 1, 1, 3), "rgb_to_grey/weights")
    bias = _constant(model, np.zeros(1, np.float32), "rgb_to_grey/bias")
    options = tflite_schema.Conv2DOptionsT()
    options.padding, options.strideW, options.strideH = tflite_schema.Padding.VALID, 1, 1
    op = tflite_schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = _conv_code(model), [image_index, weights, bias], [graph.inputs[0]]
    op.builtinOptionsType, op.builtinOptions = tflite_schema.BuiltinOptions.Conv2DOptions, options
    graph.operators.insert(0, op)
    for signature in model.signatureDefs or []:
        for tensor_map in signature.inputs:
            if tensor_map.tensorIndex == graph.inputs[0]:
                tensor_map.tensorIndex, tensor_map.name = image_index, "image"
    graph.inputs = [image_index]


def mediapipe_file(float32_path: str, out_path: str, name: str) -> str:
    """Write the interop file of the edgefer float32 file at ``float32_path`` to ``out_path``."""
    metadata = read_metadata(float32_path)
    if metadata.mode not in (None, "float32"):
        raise EdgeferError(f"{float32_path}: is not a float32 file ({metadata.mode}); the interop file is made from the "
                           "float32 file")
    interop = replace(metadata, color="rgb", interop="mediapipe")
    model = unpacked(flatbuffer_bytes(float32_path))
    add_rgb_input(model)
    set_standard_metadata(model, interop, name)
    write_bytes(out_path, with_metadata(packed(model), interop))
    return out_path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.strip().splitlines()[-1])
    source, target = sys.argv[1:]
    print(mediapipe_file(source, target, os.path.basename(source).rsplit("_float32", 1)[0]))
