"""``edgefer quantize``: Keras model -> TFLite files (float32, float16, dynamic, int8) with metadata."""

import contextlib
import io
import os
from typing import Callable, Dict, Optional

import numpy as np
import tensorflow as tf

from edgefer.convert.edgetpu import compile_for_edgetpu
from edgefer.convert.interop import mediapipe_file
from edgefer.convert.options import MODES, QuantizeOptions
from edgefer.convert.standard_metadata import with_standard_metadata
from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_folder, write_bytes, write_json
from edgefer.core.metadata import CropGeometry, ModelMetadata, Normalisation, read_geometry, with_metadata
from edgefer.core.spec import check_labels
from edgefer.data import FER2013_FACE_DATASETS, FER2013_GEOMETRY
from edgefer.data.calibration import CALIBRATION_FERPLUS_MODE, calibration_images, read_manifest
from edgefer.data.datasets import load_dataset, stratified_indices
from edgefer.data.subjects import person_splits
from edgefer.device.runtime import Classifier, normalise
from edgefer.evaluation.op_report import format_op_report, op_report
from edgefer.training.config import TrainConfig
from edgefer.training.int8_grid import snap_to_int8_grid
from edgefer.training.model import average_models, check_finite, export_model, load_model, predict, with_channels
from edgefer.training.runs import resolve_run, run_name

TF_TYPES = {"int8": tf.int8, "uint8": tf.uint8, "float32": tf.float32}
FLOAT_TOLERANCE = 1e-4
CALIBRATION_SIZE = 512  # faces a prepared dataset's run calibrates on without a manifest


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
                yield [with_channels(normalise(face, normalisation)[None])]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = TF_TYPES[io_type]
        converter.inference_output_type = TF_TYPES[io_type]
    elif mode != "float32":
        raise EdgeferError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    return converter


def convert(model, mode, calibration=None, io_type="int8", normalisation=None):
    """TFLite bytes for ``model`` in one quantization ``mode`` (see ``converter_for``)."""
    converter = converter_for(model, mode, calibration, io_type, normalisation)
    with contextlib.redirect_stdout(io.StringIO()):  # the exporter prints its SavedModel signature
        return converter.convert()


def run_normalisation(config: dict) -> Normalisation:
    values = config["normalisation"]
    return Normalisation(float(values["mean"]), float(values["scale"]), tuple(values.get("input_range", (0, 255))))


def run_geometry(config: dict, options: QuantizeOptions) -> Dict[str, CropGeometry]:
    """The framing the run was trained for: ``--geometry``'s file, else the one its prepared
    dataset's faces were cut with, else FER2013's for a run on FER2013's or FER+'s faces, else none."""
    if options.geometry:
        return read_geometry(options.geometry)
    if "crop" in config["dataset"]:
        return {name: CropGeometry.from_metadata(values, f"{config['dataset']['path']}: crop {name}")
                for name, values in config["dataset"]["crop"].items()}
    if config["dataset"]["name"] in FER2013_FACE_DATASETS:
        return read_geometry(FER2013_GEOMETRY)
    return {}


def calibration_set(config: dict, data: str, manifest_path: Optional[str]):
    """(dataset split as the run saw it, calibration faces, the manifest's header and file name):
    the manifest's faces, or for a run on a prepared dataset without one, 512 faces of its own
    train split (stratified, seed 0)."""
    dataset = load_dataset(data, ("train", "val"), CALIBRATION_FERPLUS_MODE)
    check_labels(dataset.labels, config["labels"], data, "dataset labels")
    if dataset.prepared:
        cfg = TrainConfig.from_saved(config["train"])
        dataset = person_splits(dataset, cfg.folds, cfg.fold, cfg.val_share, cfg.seed)
    if manifest_path:
        header, ids = read_manifest(manifest_path)
        return dataset, calibration_images(dataset, ids, manifest_path), {"manifest": os.path.basename(manifest_path),
                                                                          **header}
    if not dataset.prepared:
        raise EdgeferError(f"{data}: FER2013 and FER+ runs calibrate on a manifest: pass --calibration "
                           "(edgefer calibrate makes one)")
    train = dataset.split("train")
    picked = stratified_indices(train.labels, CALIBRATION_SIZE, 0)
    header = {"dataset": dataset.name, "split": "train", "strategy": "stratified", "size": len(picked), "seed": 0}
    return dataset, train.images[picked], header


def model_metadata(config: dict, mode: str, options: QuantizeOptions, crop: Dict[str, CropGeometry],
                   calibration: Optional[dict] = None, members: Optional[list] = None) -> ModelMetadata:
    """What the device needs to know, stored inside each .tflite file; ``calibration`` is the
    manifest's header plus its file name (int8 only); ``members`` describes the averaged runs of
    an ensemble file."""
    return ModelMetadata(
        labels=tuple(config["labels"]),
        face_size=config["face_size"],
        normalisation=run_normalisation(config),
        color=config.get("color", "grayscale"),
        backbone=config["backbone"],
        image_size=config["image_size"],
        preprocessing=f"{config.get('color', 'grayscale')} face crop resized to {config['face_size']}x"
        f"{config['face_size']}, values 0-255, normalised as (x - mean) / scale before the model; the model resizes "
        f"to {config['image_size']}x{config['image_size']}"
        + (" and copies to 3 channels" if config.get("color", "grayscale") == "grayscale" else ""),
        mode=mode,
        io=options.io_type if mode == "int8" else "float32",
        dataset=config["dataset"]["name"],
        flip_average=options.flip_average,
        zoom_crop=options.zoom_crop,
        mirror_members=options.mirror_members,
        weights_on_int8_grid=options.snap_weights,
        calibration=calibration if mode == "int8" else None,
        members=tuple(members or ()),
        crop=crop,
    )


def check_float_twin(models, tflite_path: str, faces: np.ndarray, options: QuantizeOptions = QuantizeOptions()) -> float:
    """Max |prob difference| between the Keras models' mean prediction and their float32 TFLite file."""
    expected = np.mean([predict(model, faces, flip_average=options.flip_average, zoom_crop=options.zoom_crop,
                                mirrored=options.sees_mirror(i)) for i, model in enumerate(models)], axis=0)
    difference = float(np.abs(expected - Classifier(tflite_path).predict(faces)).max())
    if difference >= FLOAT_TOLERANCE:
        raise EdgeferError(f"{tflite_path}: float32 file differs from the Keras model by {difference:.2e} "
                           f"(limit {FLOAT_TOLERANCE:g})")
    return difference


def quantize(model_path: str, data: str, manifest_path: str, out_dir: str, *,
             options: QuantizeOptions = QuantizeOptions(), echo: Callable[[str], None] = print) -> dict:
    """Write ``<name>_<mode>.tflite`` for each mode into ``out_dir``; returns {mode: path}.

    With ``snap_weights`` every file is made from the model with its kernels rounded to the
    int8 grid (``edgefer.training.int8_grid``), so float32 and int8 files hold the same weights.
    With ``options.members`` the files average the main run and those runs (an ensemble), which
    see the face's mirror image with ``options.mirror_members``."""
    check_output_folder(out_dir, create=False)
    runs = [resolve_run(path) for path in (model_path, *options.members)]
    keras_path, config = runs[0]
    for path, (_, member) in zip(options.members, runs[1:]):
        check_labels(member["labels"], config["labels"], path, "member labels")
        if member["normalisation"] != config["normalisation"]:
            raise EdgeferError(f"{path}: normalises its input otherwise than {model_path}; it cannot share the file")
    dataset, calibration, calibration_header = calibration_set(config, data, manifest_path)
    crop = run_geometry(config, options)
    if not crop:
        echo(f"warning: {model_path} was not trained on FER2013's faces and no --geometry was given: "
             "its files carry no crop geometry, and the device will cut faces with a margin around the box")
    models = [load_model(path) for path, _ in runs]
    for model, (path, _) in zip(models, runs):
        check_finite(model.get_weights(), path)
    if options.snap_weights:
        for model in models:
            snap_to_int8_grid(model)
    exports = [export_model(model, run["backbone"], options.flip_average, options.zoom_crop,
                            mirrored=options.sees_mirror(i))
               for i, (model, (_, run)) in enumerate(zip(models, runs))]
    export = exports[0] if len(exports) == 1 else average_models(exports)
    members = [{"run": run_name(path), "backbone": run["backbone"], "image_size": run["image_size"]}
               for path, run in runs] if options.members else None
    name = options.name or run_name(keras_path)
    check_output_folder(out_dir)

    written = {}
    for mode in options.modes:
        echo(f"converting {mode} ...")
        tflite = convert(export, mode, calibration, options.io_type, run_normalisation(config))
        path = os.path.join(out_dir, f"{name}_{mode}.tflite")
        metadata = model_metadata(config, mode, options, crop, calibration_header, members)
        write_bytes(path, with_metadata(with_standard_metadata(tflite, metadata, name), metadata))
        report = op_report(path)
        write_json(os.path.splitext(path)[0] + ".ops.json", report)
        echo(f"{path}: {os.path.getsize(path) / 1e6:.2f} MB, {report['ops']} ops")
        if mode == "int8":
            echo(format_op_report(report))
            if options.edgetpu:
                echo(compile_for_edgetpu(path, out_dir))
        written[mode] = path
    if "float32" in written:
        difference = check_float_twin(models, written["float32"], dataset.split("val").images[:100], options)
        echo(f"float32 file matches the Keras model{'s' if len(models) > 1 else ''}: max |dprob| = {difference:.1e} "
             "on 100 val images")
    if options.interop:
        written[options.interop] = mediapipe_file(written["float32"], os.path.join(out_dir, f"{name}_{options.interop}.tflite"),
                                                  name)
        echo(f"{written[options.interop]}: for {options.interop} (colour input, standard TFLite metadata)")
    return written
