"""``edgefer parity``: float vs quantized accuracy on the device runtime (no TensorFlow)."""

import json
import sys

import click

from edgefer.cli.app import FiniteRange, friendly_errors, main
from edgefer.cli.data import FERPLUS_MODE
from edgefer.core.errors import EdgeferError
from edgefer.core.spec import SPLITS
from edgefer.device.faces import DEFAULT_DETECTOR, DETECTORS


@main.command()
@click.argument("float_path", metavar="[FLOAT_TFLITE", type=click.Path(), required=False)
@click.argument("quant_path", metavar="QUANT_TFLITE]", type=click.Path(), required=False)
@click.option("--model", "model_name", default=None, help="A bundled model's name instead of the two files.")
@click.option("--data", "data_path", default=None, type=click.Path(), help="Dataset with the split to measure on.")
@click.option("--source", default=None,
              help="Instead of --data: your own photos or videos (file, folder or glob), no labels needed; faces "
                   "come through the device's face stage.")
@click.option("--camera", default=None, help="Instead of --data: a camera index or 'picamera2' (with --max-frames).")
@click.option("--max-frames", default=0, type=click.IntRange(min=0), help="With --source or --camera: stop after N frames.")
@click.option("--min-agreement", default=0.95, show_default=True, type=FiniteRange(0, 1),
              help="With --source or --camera: exit 1 when the top-1 agreement is under this.")
@click.option("--split", default="test", show_default=True, type=click.Choice(SPLITS))
@click.option("--limit", default=0, type=click.IntRange(min=0), help="Use a fixed class-stratified subset of N images.")
@click.option("--max-drop", default=1.0, show_default=True, type=FiniteRange(-100, 100),
              help="Largest allowed accuracy drop, in percentage points.")
@click.option("--out", "out_dir", default="parity", show_default=True, type=click.Path(),
              help="Folder for report.md, report.json and PNGs.")
@click.option("--threads", default=None, type=click.IntRange(min=1, max=256), help="Interpreter threads [runtime default].")
@click.option("--json", "as_json", is_flag=True, help="Print report.json to stdout.")
@click.option("--splits", "split_file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A run's splits.json: the split of a prepared dataset as that run drew it (its people held out).")
@FERPLUS_MODE
@friendly_errors
def parity(float_path, quant_path, model_name, data_path, source, camera, max_frames, min_agreement, as_json,
           **options):
    """Measure a quantized model's accuracy drift from its float twin; exit 1 over --max-drop.

    Runs on the device runtime, so it works where TensorFlow is not installed. Name the two
    files (either may be a bundled model's name: its twin, its int8 file), or a bundled model with
    --model (its float32 twin is in the repository's models/). With --source or --camera instead of
    --data: label-free parity on your own faces, found by the device's face stage.

    \b
    Examples:
      edgefer parity models/fer2013-lite0_float32.tflite edgefer/device/models/fer2013-lite0_int8.tflite \\
          --data ~/.cache/edgefer-data/fer2013 --split test --out parity/
      edgefer parity --model fer2013-lite0 --data ~/.cache/edgefer-data/fer2013 --split test
      edgefer parity --model fer2013-lite0 --data ~/.cache/edgefer-data/ferplus --ferplus-mode seven
      edgefer parity runs/mine_float32.tflite runs/mine_int8.tflite --data datasets/mine \
          --splits runs/mine/splits.json --split val
    """
    from edgefer.core.files import removed_on_failure
    from edgefer.device.bundled import bundled_pair, float_model, resolve_model
    from edgefer.evaluation.parity import ParityOptions
    from edgefer.evaluation.parity import parity as run_parity

    if model_name:
        if float_path or quant_path:
            raise EdgeferError("give either --model or the two model files, not both")
        float_path, quant_path = bundled_pair(model_name)
    elif not (float_path and quant_path):
        raise EdgeferError("parity needs FLOAT_TFLITE and QUANT_TFLITE, or --model NAME")
    else:  # either may name a bundled model: its twin, its int8 file
        float_path, quant_path = float_model(float_path), resolve_model(quant_path)
    if sum(value is not None for value in (data_path, source, camera)) != 1:
        raise click.UsageError("give one of --data (a labelled split), --source or --camera (your own faces)")
    if data_path is None:
        field(float_path, quant_path, source, camera, max_frames, min_agreement, options, as_json)
        return

    settings = ParityOptions(**options)
    with removed_on_failure(settings.out_dir):  # a failure (a full disk) leaves no half-made report
        report = run_parity(float_path, quant_path, data_path, options=settings)
    lo, hi = report["drop_pp_ci95"]
    finish(report, as_json, f"{report['dataset']} {settings.split} n={report['n']}: float {report['accuracy_float']:.4f}, "
                            f"quantized {report['accuracy_quant']:.4f}, drop {report['drop_pp']:+.2f} pp "
                            f"(95% CI {lo:+.2f} to {hi:+.2f}), agreement {report['agreement']:.4f}; "
                            f"{'PASS' if report['passed'] else 'FAIL'} (limit {settings.max_drop} pp); "
                            f"report in {settings.out_dir}")


def finish(report: dict, as_json: bool, sentence: str) -> None:
    """Print the report as JSON or as one sentence; exit 1 when it did not pass."""
    click.echo(json.dumps(report, indent=2) if as_json else sentence)
    sys.exit(0 if report["passed"] else 1)


def field(float_path, quant_path, source, camera, max_frames, min_agreement, options, as_json):
    """``parity --source/--camera``: the two models on every face the device's face stage finds."""
    from edgefer.core.files import removed_on_failure
    from edgefer.device.profiles import device_settings
    from edgefer.device.sources import open_source
    from edgefer.evaluation.field_parity import FieldOptions, field_parity

    settings = device_settings(None, quant_path, options["threads"])
    field_options = FieldOptions(min_agreement=min_agreement, out_dir=options["out_dir"], max_frames=max_frames)
    frames = open_source(camera, source)
    with removed_on_failure(field_options.out_dir):
        report = field_parity(float_path, settings, frames, source or f"camera {camera}", field_options)
    low, high = report["agreement_ci95"]
    finish(report, as_json, f"{report['source']}: {report['faces_compared']} faces in {report['frames']} frames, "
                            f"agreement {report['agreement']:.4f} (95% CI {low:.4f}-{high:.4f}), largest |dp| mean "
                            f"{report['max_difference_mean']:.4f}, p95 {report['max_difference_p95']:.3f}; "
                            f"{'PASS' if report['passed'] else 'FAIL'} (limit {min_agreement:g}); "
                            f"report in {field_options.out_dir}")


@main.group()
def framing():
    """Fit and check how detected faces are cut for the classifier."""


@framing.command("fit")
@click.argument("data_path", metavar="DATA", type=click.Path())
@click.option("--out", "out_path", required=True, type=click.Path(), help="Geometry JSON to write.")
@click.option("--limit", default=2000, show_default=True, type=click.IntRange(min=20),
              help="Class-stratified training faces to measure.")
@click.option("--into", "models", multiple=True, type=click.Path(),
              help="Also write the geometry into this model file's metadata (repeatable).")
@friendly_errors
def framing_fit(data_path, out_path, limit, models):
    """Measure where each BlazeFace detector frames FER2013 Training faces.

    Faces are enlarged 4x onto a grey canvas, detected, and the median box size and face
    centre (eyes and mouth) become the crop geometry the device uses for that detector.

    \b
    Example:
      edgefer framing fit ~/.cache/edgefer-data/fer2013 --out crop-geometry.json \\
          --into edgefer/device/models/fer2013-lite0_int8.tflite
    """
    from edgefer.evaluation.framing import fit_all

    geometry = fit_all(data_path, out_path, limit, models)
    click.echo(json.dumps(geometry, indent=2))


@framing.command("check")
@click.argument("data_path", metavar="DATA", type=click.Path())
@click.option("--model", "model_path", default=None, type=click.Path(), help="TFLite model [the bundled int8 model].")
@click.option("--geometry", "geometry_path", default=None, type=click.Path(),
              help="Geometry JSON to use instead of the model's own.")
@click.option("--detector", default=DEFAULT_DETECTOR, show_default=True, type=click.Choice(DETECTORS))
@click.option("--split", default="val", show_default=True, type=click.Choice(SPLITS))
@click.option("--limit", default=0, type=click.IntRange(min=0), help="Use a class-stratified subset of N faces.")
@friendly_errors
def framing_check(data_path, model_path, geometry_path, detector, split, limit):
    """Accuracy on 48x48 faces against the whole device path on the same faces staged as frames.

    \b
    Example:
      edgefer framing check ~/.cache/edgefer-data/fer2013 --split val
    """
    from edgefer.evaluation.framing import check_split

    click.echo(json.dumps(check_split(data_path, model_path, geometry_path, detector, split, limit), indent=2))
