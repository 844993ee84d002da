"""The ``edgefer`` command line. Host commands import TensorFlow lazily, inside the command."""

import functools
import json
import os
import sys

import click

from edgefer.errors import EdgeferError


def friendly_errors(command):
    """Turn an ``EdgeferError`` into one ``error: ...`` line on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EdgeferError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgefer")
def main():
    """edgefer: facial emotion recognition from a training host to small devices.

    \b
    Example:
      edgefer run --source sample --json --no-display --max-frames 5
    """


@main.group()
def data():
    """Look at a FER dataset before training."""


@data.command("inspect")
@click.argument("path", type=click.Path())
@click.option("--out", "out_dir", type=click.Path(), default="inspect", show_default=True, help="Folder for the PNGs.")
@click.option("--json", "as_json", is_flag=True, help="Print counts and duplicates as JSON.")
@click.option("--ferplus-mode", type=click.Choice(["majority", "probability"]), default="majority", show_default=True)
@friendly_errors
def data_inspect(path, out_dir, as_json, ferplus_mode):
    """Count images per split and class, plot them, and find cross-split duplicates.

    \b
    Example:
      edgefer data inspect ~/.cache/edgefer-data/fer2013 --out inspect --json
    """
    from edgefer.inspect import inspect_dataset, format_counts

    report = inspect_dataset(path, out_dir, ferplus_mode)
    click.echo(json.dumps(report, indent=2) if as_json else format_counts(report))


@main.command()
@click.argument("data_path", metavar="DATA", type=click.Path())
@click.option("--out", "run_dir", required=True, type=click.Path(), help="Run folder to write.")
@click.option("--backbone", default="efficientnet-lite0", show_default=True,
              type=click.Choice(["efficientnet-b2", "efficientnet-lite0", "efficientnet-lite2"]))
@click.option("--weights", default="imagenet", show_default=True, help="imagenet, none, or a weights file (.pth / .weights.h5).")
@click.option("--image-size", default=0, type=int, help="Side the face is resized to inside the model [backbone default: 96].")
@click.option("--epochs", default=12, show_default=True, type=int)
@click.option("--batch-size", default=64, show_default=True, type=int)
@click.option("--lr", default=1e-3, show_default=True, type=float, help="Peak learning rate of the one-cycle schedule.")
@click.option("--weight-decay", default=1e-4, show_default=True, type=float, help="AdamW decay; 0 gives plain Adam.")
@click.option("--label-smoothing", default=0.0, show_default=True, type=float)
@click.option("--class-weights", default="balanced", show_default=True, type=click.Choice(["balanced", "sqrt", "none"]))
@click.option("--augment/--no-augment", default=True, show_default=True, help="Random crop, flip, brightness/contrast jitter.")
@click.option("--geometric", is_flag=True, help="Detector-like zoom 15%, shift 10%, rotation 15 degrees instead of the random crop.")
@click.option("--erase", default=0.0, show_default=True, type=float, help="Probability of random erasing.")
@click.option("--limit", default=0, type=int, help="Train on a stratified subset of N training images.")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--ferplus-mode", type=click.Choice(["majority", "probability"]), default="majority", show_default=True)
@friendly_errors
def train(data_path, run_dir, resume, **options):
    """Fine-tune the paper's model (backbone + Conv2D/GAP/Dense head) on FER2013 or FER+.

    Validation is the dataset's val split (FER2013 PublicTest); the best epoch is kept.

    \b
    Example:
      edgefer train ~/.cache/edgefer-data/fer2013 --out runs/lite0 --epochs 1 --limit 2000
    """
    _quiet_tensorflow()
    from edgefer.train import TrainConfig, train as run_training

    run_training(TrainConfig(data=data_path, **options), run_dir, resume=resume)


@main.command()
@click.argument("source_run", metavar="RUN", type=click.Path())
@click.option("--out", "run_dir", required=True, type=click.Path(), help="New run folder to write.")
@click.option("--epochs", default=2, show_default=True, type=int)
@click.option("--lr", default=2e-5, show_default=True, type=float, help="Starting learning rate (cosine decay).")
@click.option("--batch-size", default=64, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@friendly_errors
def qat(source_run, run_dir, epochs, lr, batch_size, seed):
    """Quantization-aware fine-tuning: continue a trained run while it sees int8 rounding.

    Trains on the run's own data and loss (EfficientNet-Lite runs); the new run folder holds
    the float model.keras of the epoch with the best rounded validation accuracy, ready for
    `edgefer quantize` (best with --snap-weights).

    \b
    Example:
      edgefer qat runs/lite0 --out runs/lite0-qat --epochs 2
      edgefer quantize runs/lite0-qat --data ~/.cache/edgefer-data/fer2013 \\
          --calibration calibration/fer2013-stratified-512.txt --out models/ --snap-weights
    """
    _quiet_tensorflow()
    from edgefer.qat import finetune

    metrics = finetune(source_run, run_dir, epochs, lr, batch_size, seed)
    click.echo(json.dumps({k: metrics[k] for k in ("dataset", "split", "n", "accuracy", "macro_f1")}))


@main.command()
@click.argument("model_path", metavar="MODEL", type=click.Path())
@click.argument("data_path", metavar="DATA", type=click.Path())
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "val", "test"]))
@click.option("--out", "out_dir", default=None, type=click.Path(), help="Folder for metrics.json and confusion.png [MODEL's folder/eval-SPLIT].")
@click.option("--ferplus-mode", type=click.Choice(["majority", "probability"]), default="majority", show_default=True)
@friendly_errors
def evaluate(model_path, data_path, split, out_dir, ferplus_mode):
    """Evaluate a trained Keras model (model.keras or its run folder) on one split.

    \b
    Example:
      edgefer evaluate runs/lite0 ~/.cache/edgefer-data/fer2013 --split val
    """
    _quiet_tensorflow()
    from edgefer.datasets import load_dataset
    from edgefer.evaluate import write_metrics
    from edgefer.model import load_model, predict

    if os.path.isdir(model_path):
        model_path = os.path.join(model_path, "model.keras")
    model = load_model(model_path)
    dataset = load_dataset(data_path, (split,), ferplus_mode)
    part = dataset.split(split)
    out_dir = out_dir or os.path.join(os.path.dirname(model_path), f"eval-{split}")
    source = {"dataset": dataset.name, "path": os.path.abspath(data_path), "split": split}
    metrics = write_metrics(predict(model, part.images), part.labels, dataset.labels, out_dir, source, model.name)
    click.echo(json.dumps({k: metrics[k] for k in ("dataset", "split", "n", "accuracy", "macro_f1")}))


@main.command()
@click.argument("data_path", metavar="DATA", type=click.Path())
@click.option("--out", "out_path", required=True, type=click.Path(), help="Manifest to write, e.g. calibration/fer2013-512.txt.")
@click.option("--size", default=512, show_default=True, type=int, help="Number of training images.")
@click.option("--strategy", default="stratified", show_default=True, type=click.Choice(["stratified", "random"]))
@click.option("--seed", default=0, show_default=True, type=int)
@friendly_errors
def calibrate(data_path, out_path, size, strategy, seed):
    """Pick the training images the int8 converter calibrates on and write their manifest.

    Only training images are used; any whose pixels also occur in val or test are left out.

    \b
    Example:
      edgefer calibrate ~/.cache/edgefer-data/fer2013 --out calibration/fer2013-stratified-512.txt
    """
    from edgefer.calibration import calibrate as build_manifest

    header = build_manifest(data_path, out_path, size, strategy, seed)
    click.echo(f"{out_path}: {header['size']} {header['split']} images of {header['dataset']}, "
               f"{header['strategy']}, seed {header['seed']}")


@main.command()
@click.argument("model_path", metavar="MODEL", type=click.Path())
@click.option("--data", "data_path", required=True, type=click.Path(), help="The dataset the manifest's ids come from.")
@click.option("--calibration", "manifest", required=True, type=click.Path(), help="Calibration manifest (edgefer calibrate).")
@click.option("--out", "out_dir", required=True, type=click.Path(), help="Folder for the .tflite files.")
@click.option("--modes", default="float32,float16,dynamic,int8", show_default=True, help="Comma-separated.")
@click.option("--io", "io_type", default="int8", show_default=True, type=click.Choice(["int8", "uint8", "float32"]),
              help="Input/output type of the int8 model.")
@click.option("--name", default=None, help="File name stem [the run folder's name].")
@click.option("--edgetpu", is_flag=True, help="Also run edgetpu_compiler on the int8 file, if installed.")
@click.option("--flip-average", is_flag=True, help="Build the mean over the face and its mirror image into the model (2x the compute).")
@click.option("--snap-weights", is_flag=True,
              help="Round the kernels to their int8 values first: float32 and int8 files then share their weights.")
@friendly_errors
def quantize(model_path, data_path, manifest, out_dir, modes, io_type, name, edgetpu, flip_average, snap_weights):
    """Convert a trained model (run folder or model.keras) to TFLite, one file per mode.

    Every file carries its labels, input size and normalisation inside it. The int8 file is
    full-integer, calibrated on the manifest's training images; an op report says which ops
    the Edge TPU could run.

    \b
    Example:
      edgefer quantize runs/lite0 --data ~/.cache/edgefer-data/fer2013 \\
          --calibration calibration/fer2013-stratified-512.txt --out models/
    """
    _quiet_tensorflow()
    from edgefer.quantize import quantize as run_quantize

    run_quantize(model_path, data_path, manifest, out_dir, [m.strip() for m in modes.split(",") if m.strip()],
                 io_type, edgetpu, name, flip_average, snap_weights, echo=lambda line: click.echo(line, err=True))


@main.command()
@click.argument("float_path", metavar="FLOAT_TFLITE", type=click.Path())
@click.argument("quant_path", metavar="QUANT_TFLITE", type=click.Path())
@click.option("--data", "data_path", required=True, type=click.Path(), help="Dataset with the split to measure on.")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "val", "test"]))
@click.option("--limit", default=0, type=int, help="Use a fixed class-stratified subset of N images.")
@click.option("--max-drop", default=1.0, show_default=True, type=float, help="Largest allowed accuracy drop, in percentage points.")
@click.option("--out", "out_dir", default="parity", show_default=True, type=click.Path(), help="Folder for report.md, report.json and PNGs.")
@click.option("--threads", default=None, type=int, help="Interpreter threads [runtime default].")
@click.option("--json", "as_json", is_flag=True, help="Print report.json to stdout.")
@friendly_errors
def parity(float_path, quant_path, data_path, split, limit, max_drop, out_dir, threads, as_json):
    """Measure a quantized model's accuracy drift from its float twin; exit 1 over --max-drop.

    Runs on the device runtime, so it works where TensorFlow is not installed.

    \b
    Example:
      edgefer parity models/fer2013-lite0_float32.tflite edgefer/models/fer2013-lite0_int8.tflite \\
          --data ~/.cache/edgefer-data/fer2013 --split test --out parity/
    """
    from edgefer.parity import parity as run_parity

    report = run_parity(float_path, quant_path, data_path, split, limit, max_drop, out_dir, threads)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        lo, hi = report["drop_pp_ci95"]
        click.echo(f"{report['dataset']} {split} n={report['n']}: float {report['accuracy_float']:.4f}, "
                   f"quantized {report['accuracy_quant']:.4f}, drop {report['drop_pp']:+.2f} pp "
                   f"(95% CI {lo:+.2f} to {hi:+.2f}), agreement {report['agreement']:.4f}; "
                   f"{'PASS' if report['passed'] else 'FAIL'} (limit {max_drop} pp); report in {out_dir}")
    sys.exit(0 if report["passed"] else 1)


def _device_settings(device, model, threads):
    """(model path, delegate, threads, profile) from --device, --model and --threads."""
    from edgefer.bundled import default_model_path
    from edgefer.profiles import get_profile, model_for_profile

    profile = get_profile(device) if device else None
    model = model or default_model_path()
    if profile:
        model = model_for_profile(model, profile)
        threads = threads or profile["threads"]
    return model, (profile or {}).get("delegate"), threads, profile


@main.command()
@click.option("--camera", default=None, help="Camera index (0, 1, ...) or 'picamera2'.")
@click.option("--source", default=None, help="Image or video file, folder, glob, or 'sample' (the default without --camera or --device).")
@click.option("--model", "model_path", default=None, type=click.Path(), help="TFLite model [the bundled int8 model].")
@click.option("--device", default=None, help="Device profile (see `edgefer devices`).")
@click.option("--threads", default=None, type=int, help="Interpreter threads [profile or runtime default].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per frame.")
@click.option("--output", default=None, type=click.Path(), help="Write the annotated image or video here.")
@click.option("--display/--no-display", default=None, help="Show a window [on when a display is available].")
@click.option("--max-frames", default=0, type=int, help="Stop after N frames.")
@click.option("--smooth", default=5, show_default=True, type=int, help="Per-face moving-average span in frames (1 = off).")
@click.option("--min-face", default=None, type=int, help="Ignore faces smaller than this many pixels [40].")
@click.option("--margin", default=0.1, show_default=True, type=float, help="Grow each face box by this fraction per side.")
@friendly_errors
def run(camera, source, model_path, device, threads, as_json, output, display, max_frames, smooth, min_face, margin):
    """Find every face in view and label its emotion, live.

    Nothing is written to disk unless --output asks. Ctrl-C ends with a summary.

    \b
    Examples:
      edgefer run --source sample --json --no-display --max-frames 5
      edgefer run --camera 0 --device raspberry-pi-5 --no-display --json
      edgefer run --source clip.mp4 --output annotated.mp4 --no-display
    """
    from edgefer.live import run_stream
    from edgefer.pipeline import EmotionPipeline
    from edgefer.runtime import Classifier
    from edgefer.sources import open_source

    model_path, delegate, threads, profile = _device_settings(device, model_path, threads)
    if camera is None and source is None and profile:
        camera = profile["camera"]
    classifier = Classifier(model_path, delegate=delegate, threads=threads)
    pipeline = EmotionPipeline(classifier, min_face=min_face or (profile or {}).get("min_face", 40),
                               margin=margin, smooth=smooth)
    if display is None:
        display = bool(os.environ.get("DISPLAY")) and not as_json
    frames = open_source(camera, source)
    summary = run_stream(frames, pipeline, as_json, output, display, max_frames)
    summary.update({"model": os.path.basename(model_path), "runtime": classifier.runtime})
    click.echo("summary: " + json.dumps(summary), err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@friendly_errors
def models(as_json):
    """List the bundled models (int8 file in the package, float32 twin in the repository).

    \b
    Example:
      edgefer models --json
    """
    from edgefer.bundled import bundled_models

    found = bundled_models()
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    for m in found:
        click.echo(f"{m['name']}{' (default)' if m['default'] else ''}: {m['backbone']} on {m['dataset']}, "
                   f"{m['size_mb']} MB, labels {', '.join(m['labels'])}\n  int8: {m['path']}\n  float32: {m['float_path']}"
                   f"{'' if m['float_available'] else ' (not in this installation)'}")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
def devices(as_json):
    """List the device profiles for --device.

    \b
    Example:
      edgefer devices
    """
    from edgefer.profiles import list_profiles

    profiles = list_profiles()
    if as_json:
        click.echo(json.dumps(profiles, indent=2))
        return
    for p in profiles:
        click.echo(f"{p['name']:<16} threads={p['threads']} delegate={p['delegate'] or 'none'} "
                   f"camera={p['camera']} model={p['model_variant']}  {p['description']}")


@main.command()
@click.option("--model", "model_path", default=None, type=click.Path(), help="TFLite model [the bundled int8 model].")
@click.option("--device", default=None, help="Device profile (see `edgefer devices`).")
@click.option("--runs", default=200, show_default=True, type=int, help="Timed runs after 10 warm-up runs.")
@click.option("--threads", default=None, type=int, help="Interpreter threads [profile or runtime default].")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@friendly_errors
def bench(model_path, device, runs, threads, as_json):
    """Time the classifier (p50/p95/p99) and the whole pipeline on a frame with one face.

    \b
    Example:
      edgefer bench --threads 2 --json
    """
    from edgefer.bench import bench as run_bench

    model_path, delegate, threads, _ = _device_settings(device, model_path, threads)
    report = run_bench(model_path, delegate, threads, runs)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    c, p = report["classifier_ms"], report["pipeline_ms"]
    click.echo(f"{os.path.basename(model_path)} ({report['size_mb']} MB) on {report['runtime']}, "
               f"delegate {report['delegate']}, threads {threads or 'default'}; {report['machine']}\n"
               f"classifier: p50 {c['p50']:.2f} ms, p95 {c['p95']:.2f} ms, p99 {c['p99']:.2f} ms\n"
               f"pipeline (1 face): p50 {p['p50']:.2f} ms, p95 {p['p95']:.2f} ms -> {report['faces_per_second']} faces/s")
