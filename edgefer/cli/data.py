"""Commands over datasets: ``data inspect``, ``data prepare`` and ``calibrate``."""

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
    """Look at a dataset, or prepare one from your own photos and videos."""


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


def _columns(values):
    """``--column role=NAME`` pairs as a dict, refusing unknown roles."""
    from edgefer.data.prepare import CSV_ROLES

    columns = {}
    for value in values:
        role, _, name = value.partition("=")
        if role not in CSV_ROLES or not name:
            raise click.BadParameter(f"{value!r}: expected ROLE=COLUMN with ROLE one of {', '.join(CSV_ROLES)}",
                                     param_hint="--column")
        columns[role] = name
    return columns


@data.command("prepare")
@click.argument("src", type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(), help="New dataset folder (must not exist yet).")
@click.option("--size", default=48, show_default=True, type=click.IntRange(16, 512), help="Side of the face crops.")
@click.option("--color", default="grayscale", show_default=True, type=click.Choice(["grayscale", "rgb"]))
@click.option("--faces", default="largest", show_default=True, type=click.Choice(["largest", "all", "single"]),
              help="Per photo or video frame: the largest face, every face, or only frames with exactly one face.")
@click.option("--fps", default=2.0, show_default=True, type=click.FloatRange(0, 240, min_open=True),
              help="Video frames sampled per second.")
@click.option("--labels", default="", help="Comma-separated labels: their order, with every other label dropped "
                                           "[every label found, sorted].")
@click.option("--subject-pattern", default="", help="Regex on file names whose first group names the person "
                                                   "(when SRC gives no subject), e.g. '^(\\d+)_'.")
@click.option("--column", "columns", multiple=True, metavar="ROLE=NAME",
              help="CSV column of a role (path, label, subject, split) when it has another name, e.g. label=emotion.")
@friendly_errors
def data_prepare(src, out, size, color, faces, fps, labels, subject_pattern, columns):
    """Turn photos and videos with labels into a dataset of face crops, cut by the device's face stage.

    SRC is class folders (SRC/<label>/<photos or videos>) or a CSV with columns path,label[,subject][,split]
    (paths relative to the CSV). The dataset folder holds the crops, manifest.csv (one row per face),
    dataset.json and report.json (every input and why any was skipped). Train on it with
    `edgefer train DATASET`.

    \b
    Example:
      edgefer data prepare ~/.cache/edgefer-data/photos/expressions-wild/labels.csv \\
          --column label=emotion --out datasets/expressions-wild
    """
    import re

    from edgefer.data.prepare import PrepareOptions, prepare

    if subject_pattern:
        try:
            re.compile(subject_pattern)
        except re.error as exc:
            raise click.BadParameter(f"not a regular expression ({exc})", param_hint="--subject-pattern") from None
    options = PrepareOptions(size=size, color=color, faces=faces, fps=fps,
                             labels=tuple(label.strip() for label in labels.split(",") if label.strip()),
                             subject_pattern=subject_pattern, columns=_columns(columns))
    report = prepare(src, out, options)
    click.echo(json.dumps({k: report[k] for k in ("inputs", "faces", "inputs_with_faces", "skipped", "several_faces")}))
