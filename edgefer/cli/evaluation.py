"""``edgefer parity``: float vs quantized accuracy on the device runtime (no TensorFlow)."""

import json
import sys

import click

from edgefer.cli.app import friendly_errors, main
from edgefer.core.spec import SPLITS


@main.command()
@click.argument("float_path", metavar="FLOAT_TFLITE", type=click.Path())
@click.argument("quant_path", metavar="QUANT_TFLITE", type=click.Path())
@click.option("--data", "data_path", required=True, type=click.Path(), help="Dataset with the split to measure on.")
@click.option("--split", default="test", show_default=True, type=click.Choice(SPLITS))
@click.option("--limit", default=0, type=click.IntRange(min=0), help="Use a fixed class-stratified subset of N images.")
@click.option("--max-drop", default=1.0, show_default=True, type=click.FloatRange(-100, 100),
              help="Largest allowed accuracy drop, in percentage points.")
@click.option("--out", "out_dir", default="parity", show_default=True, type=click.Path(),
              help="Folder for report.md, report.json and PNGs.")
@click.option("--threads", default=None, type=click.IntRange(min=1, max=256), help="Interpreter threads [runtime default].")
@click.option("--json", "as_json", is_flag=True, help="Print report.json to stdout.")
@friendly_errors
def parity(float_path, quant_path, data_path, as_json, **options):
    """Measure a quantized model's accuracy drift from its float twin; exit 1 over --max-drop.

    Runs on the device runtime, so it works where TensorFlow is not installed.

    \b
    Example:
      edgefer parity models/fer2013-lite0_float32.tflite edgefer/device/models/fer2013-lite0_int8.tflite \\
          --data ~/.cache/edgefer-data/fer2013 --split test --out parity/
    """
    from edgefer.evaluation.parity import ParityOptions
    from edgefer.evaluation.parity import parity as run_parity

    settings = ParityOptions(**options)
    report = run_parity(float_path, quant_path, data_path, options=settings)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        lo, hi = report["drop_pp_ci95"]
        click.echo(f"{report['dataset']} {settings.split} n={report['n']}: float {report['accuracy_float']:.4f}, "
                   f"quantized {report['accuracy_quant']:.4f}, drop {report['drop_pp']:+.2f} pp "
                   f"(95% CI {lo:+.2f} to {hi:+.2f}), agreement {report['agreement']:.4f}; "
                   f"{'PASS' if report['passed'] else 'FAIL'} (limit {settings.max_drop} pp); report in {settings.out_dir}")
    sys.exit(0 if report["passed"] else 1)
