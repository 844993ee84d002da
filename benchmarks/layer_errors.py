"""Where int8 rounding hurts: each quantized layer's output error, in int8 steps.

Usage: python benchmarks/layer_errors.py RUN_DIR DATA [--calibration MANIFEST] [--images 200]
        [--snap-weights] [--out layer-errors.csv]

TensorFlow's quantization debugger runs every int8 op of the exported model (no flip average)
on the float model's inputs to that op and compares the outputs on the first N validation
faces. The error is reported as root-mean-square error / output scale: rounding alone gives
about 0.29 (a uniform error over one step); a layer far above that loses precision in its
weights or its range.
"""

import argparse
import contextlib
import csv
import io
import math

import tensorflow as tf

from edgefer.convert.quantize import converter_for, resolve_run, run_normalisation
from edgefer.data.calibration import calibration_images, read_manifest
from edgefer.data.datasets import load_dataset
from edgefer.device.runtime import normalise
from edgefer.training.int8_grid import snap_to_int8_grid
from edgefer.training.model import export_model, load_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("data")
    parser.add_argument("--calibration", default="calibration/fer2013-stratified-512.txt")
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--snap-weights", action="store_true")
    parser.add_argument("--out", default="layer-errors.csv")
    args = parser.parse_args()

    keras_path, config = resolve_run(args.run_dir)
    dataset = load_dataset(args.data, ("train", "val"))
    _, ids = read_manifest(args.calibration)
    calibration = calibration_images(dataset, ids, args.calibration)
    model = load_model(keras_path)
    if args.snap_weights:
        snap_to_int8_grid(model)
    norm = run_normalisation(config)
    converter = converter_for(export_model(model, config["backbone"]), "int8", calibration, "int8", norm)
    faces = dataset.split("val").images[: args.images]

    def debug_data():
        for face in faces:
            yield [normalise(face, norm)[None, :, :, None]]

    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its SavedModel signature
        debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=debug_data)
        debugger.run()
    dump = io.StringIO()
    debugger.layer_statistics_dump(dump)
    rows = list(csv.DictReader(io.StringIO(dump.getvalue())))
    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["op", "tensor", "scale", "rmse_in_steps", "max_abs_error"])
        for row in rows:
            steps = math.sqrt(float(row["mean_squared_error"])) / float(row["scale"])
            tensor = row["tensor_name"].split(";")[0]
            writer.writerow([row["op_name"], tensor, row["scale"], f"{steps:.3f}", row["max_abs_error"]])
            print(f"{row['op_name']:<18} {steps:6.3f}  {tensor[-70:]}")
    print(f"{dataset.name} val, first {len(faces)} faces; written to {args.out}")


if __name__ == "__main__":
    main()
