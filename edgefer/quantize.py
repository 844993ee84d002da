"""``edgefer quantize``: Keras model -> TFLite files (float32, float16, dynamic, int8) with metadata."""

import contextlib
import io
import os
import shutil
import subprocess

import numpy as np
import tensorflow as tf

from edgefer.calibration import calibration_images, read_manifest
from edgefer.datasets import load_dataset
from edgefer.errors import EdgeferError
from edgefer.files import read_json, write_bytes, write_json, write_text
from edgefer.int8_grid import snap_to_int8_grid
from edgefer.model import export_model, load_model, predict
from edgefer.model_metadata import with_metadata
from edgefer.op_report import format_op_report, op_report
from edgefer.runtime import Classifier, normalise

MODES = ("float32", "float16", "dynamic", "int8")
IO_TYPES = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}
FLOAT_TOLERANCE = 1e-4


def resolve_run(model_path):
    """(model.keras path, config dict) from a run folder or a model file inside one."""
    run_dir = model_path if os.path.isdir(model_path) else os.path.dirname(model_path) or "."
    keras_path = os.path.join(model_path, "model.keras") if os.path.isdir(model_path) else model_path
    config_path = os.path.join(run_dir, "config.json")
    if not os.path.exists(keras_path):
        raise EdgeferError(f"{keras_path}: model file not found")
    if not os.path.exists(config_path):
        raise EdgeferError(f"{config_path}: the run's config.json (labels, preprocessing) is missing")
    return keras_path, read_json(config_path)


def converter_for(model, mode, calibration=None, io_type="int8", normalisation=None):
    """A TFLite converter for ``model`` set up for one quantization ``mode``; int8 calibrates on
    the uint8 ``calibration`` faces, normalised as the model expects."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if mode == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif mode == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif mode == "int8":
        def representative():
            for face in calibration:
                yield [normalise(face, normalisation)[None, :, :, None]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = IO_TYPES[io_type]
        converter.inference_output_type = IO_TYPES[io_type]
    elif mode != "float32":
        raise EdgeferError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    return converter


def convert(model, mode, calibration=None, io_type="int8", normalisation=None):
    """TFLite bytes for ``model`` in one quantization ``mode`` (see ``converter_for``)."""
    converter = converter_for(model, mode, calibration, io_type, normalisation)
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its SavedModel signature
        return converter.convert()


def model_metadata(config, mode, io_type, manifest_header, manifest_path, flip_average=False, snap_weights=False):
    """What the device needs to know, stored inside each .tflite file."""
    metadata = {
        "labels": config["labels"],
        "face_size": config["face_size"],
        "color": config.get("color", "grayscale"),
        "input_range": [0, 255],
        "backbone": config["backbone"],
        "image_size": config["image_size"],
        "normalisation": config["normalisation"],
        "preprocessing": f"grayscale face crop resized to {config['face_size']}x{config['face_size']}, values 0-255, "
        "normalised as (x - mean) / scale before the model; the model resizes to "
        f"{config['image_size']}x{config['image_size']} and copies to 3 channels",
        "mode": mode,
        "io": io_type if mode == "int8" else "float32",
        "dataset": config["dataset"]["name"],
        "flip_average": flip_average,
        "weights_on_int8_grid": snap_weights,
    }
    if mode == "int8":
        metadata["calibration"] = {"manifest": os.path.basename(manifest_path), **manifest_header}
    return metadata


def check_float_twin(model, tflite_path, faces, flip_average=False):
    """Max |prob difference| between the Keras model and its float32 TFLite file."""
    expected = predict(model, faces, flip_average=flip_average)
    difference = float(np.abs(expected - Classifier(tflite_path).predict(faces)).max())
    if difference >= FLOAT_TOLERANCE:
        raise EdgeferError(f"{tflite_path}: float32 file differs from the Keras model by {difference:.2e} "
                           f"(limit {FLOAT_TOLERANCE:g})")
    return difference


def run_edgetpu_compiler(tflite_path, out_dir):
    """Compile for the Edge TPU when ``edgetpu_compiler`` is installed; returns a status line."""
    compiler = shutil.which("edgetpu_compiler")
    if compiler is None:
        return "edgetpu_compiler is not installed; skipped Edge TPU compilation"
    result = subprocess.run([compiler, "-s", "-o", out_dir, tflite_path], capture_output=True, text=True)
    log_path = os.path.splitext(tflite_path)[0] + "_edgetpu.log"
    write_text(log_path, result.stdout + result.stderr)
    if result.returncode != 0:
        raise EdgeferError(f"edgetpu_compiler failed on {tflite_path}; see {log_path}")
    return f"Edge TPU model written; compiler log in {log_path}"


def quantize(model_path, data, manifest_path, out_dir, modes=MODES, io_type="int8", edgetpu=False, name=None,
             flip_average=False, snap_weights=False, echo=print):
    """Write ``<name>_<mode>.tflite`` for each mode into ``out_dir``; returns {mode: path}.

    With ``snap_weights`` every file is made from the model with its kernels rounded to the
    int8 grid (``edgefer.int8_grid``), so float32 and int8 files hold the same weights."""
    keras_path, config = resolve_run(model_path)
    modes = list(modes)
    for mode in modes:
        if mode not in MODES:
            raise EdgeferError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    manifest_header, ids = read_manifest(manifest_path)
    dataset = load_dataset(data, ("train", "val"))
    if dataset.labels != config["labels"]:
        raise EdgeferError(f"{data}: labels {dataset.labels} do not match the model's {config['labels']}")
    calibration = calibration_images(dataset, ids, manifest_path)
    model = load_model(keras_path)
    if snap_weights:
        snap_to_int8_grid(model)
    export = export_model(model, config["backbone"], flip_average)
    name = name or os.path.basename(os.path.dirname(os.path.abspath(keras_path)))
    os.makedirs(out_dir, exist_ok=True)

    written = {}
    for mode in modes:
        echo(f"converting {mode} ...")
        tflite = convert(export, mode, calibration, io_type, config["normalisation"])
        path = os.path.join(out_dir, f"{name}_{mode}.tflite")
        metadata = model_metadata(config, mode, io_type, manifest_header, manifest_path, flip_average,
                                  snap_weights)
        write_bytes(path, with_metadata(tflite, metadata))
        report = op_report(path)
        write_json(os.path.splitext(path)[0] + ".ops.json", report)
        echo(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, {report['ops']} ops")
        if mode == "int8":
            echo(format_op_report(report))
            if edgetpu:
                echo(run_edgetpu_compiler(path, out_dir))
        written[mode] = path
    if "float32" in written:
        difference = check_float_twin(model, written["float32"], dataset.split("val").images[:100], flip_average)
        echo(f"float32 file matches the Keras model: max |dprob| = {difference:.1e} on 100 val images")
    return written
