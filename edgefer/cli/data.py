"""Commands over datasets: ``data inspect`` and ``calibrate``."""

import json

import click

from edgefer.cli.app import friendly_errors, main
from edgefer.data.datasets import FERPLUS_MODES

FERPLUS_MODE = click.option("--ferplus-mode", type=click.Choice(FERPLUS_MODES), default="majority",
                            show_default=True, help="FER+ labels: the majority vote (FER+'s rule: images whose top emotion holds "
                            "over half the votes), the plurality vote (every image), the vote distribution, or the "
                            "majority in FER2013's seven classes (contempt dropped), to check a FER2013 model.")


@main.group()
def data():
    """Look at a FER dataset before training."""


@data.command("inspect")
@click.argument("path", type=click.Path())
@click.option("--out", "out_dir", type=click.Path(), default="inspect", show_default=True, help="Folder for the PNGs.")
@click.option("--json", "as_json", is_flag=True, help="Print counts and duplicates as JSON.")
@FERPLUS_MODE
@friendly_errors
def data_inspect(path, out_dir, as_json, ferplus_mode):
    """Count images per split and class, plot them, and find cross-split duplicates.

    \b
    Example:
      edgefer data inspect ~/.cache/edgefer-data/fer2013 --out inspect --json
    """
    from edgefer.data.inspect import format_counts, inspect_dataset

    report = inspect_dataset(path, out_dir, ferplus_mode)
    click.echo(json.dumps(report, indent=2) if as_json else format_counts(report))


@main.command()
@click.argument("data_path", metavar="DATA", type=click.Path())
@click.option("--out", "out_path", required=True, type=click.Path(), help="Manifest to write, e.g. calibration/fer2013-512.txt.")
@click.option("--size", default=512, show_default=True, type=click.IntRange(min=1), help="Number of training images.")
@click.option("--strategy", default="stratified", show_default=True, type=click.Choice(["stratified", "random"]))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@friendly_errors
def calibrate(data_path, out_path, size, strategy, seed):
    """Pick the training images the int8 converter calibrates on and write their manifest.

    Only training images are used; any whose pixels also occur in val or test are left out.

    \b
    Example:
      edgefer calibrate ~/.cache/edgefer-data/fer2013 --out calibration/fer2013-stratified-512.txt
    """
    from edgefer.data.calibration import calibrate as build_manifest

    header = build_manifest(data_path, out_path, size, strategy, seed)
    click.echo(f"{out_path}: {header['size']} {header['split']} images of {header['dataset']}, "
               f"{header['strategy']}, seed {header['seed']}")
