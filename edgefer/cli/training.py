"""Training-host commands: ``train``, ``qat``, ``average`` and ``evaluate`` (TensorFlow, loaded on use)."""

import contextlib
import json
import os
import signal
import sys
from dataclasses import fields

import click

from edgefer.cli.app import FiniteRange, check_inputs, friendly_errors, main, quiet_tensorflow, require_tensorflow
from edgefer.cli.data import FERPLUS_MODE
from edgefer.core.spec import SPLITS
from edgefer.training.backbones import BACKBONES
from edgefer.training.cluster import cluster_from_env
from edgefer.training.config import CLASS_WEIGHT_MODES, STRATEGIES, TRANSFER_DEFAULTS, TrainConfig

POSITIVE = FiniteRange(min=0, min_open=True)
DEFAULTS = {field.name: field.default for field in fields(TrainConfig)}  # one home for each default: the config


@contextlib.contextmanager
def interrupt_ends_training(run_dir, hint=""):
    """Ctrl-C (SIGINT) or SIGTERM: say how to go on and leave at once (TensorFlow's threads would
    keep the process alive); checkpoints are written atomically, so the run folder stays resumable.
    Both handlers are set here, so SIGINT works even where the process was started ignoring it
    (a shell's background job)."""
    def stop(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"interrupted; finished epochs are kept in {run_dir}{hint}", err=True)
        sys.stderr.flush()
        os._exit(130)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


SUMMARY_KEYS = ("dataset", "split", "n", "accuracy", "macro_f1")


@main.command()
@click.argument("data_path", metavar="DATA", type=click.Path())
@click.option("--out", "run_dir", required=True, type=click.Path(), help="Run folder to write.")
@click.option("--backbone", default=DEFAULTS["backbone"], show_default=True, type=click.Choice(list(BACKBONES)))
@click.option("--weights", default=DEFAULTS["weights"], show_default=True,
              help="imagenet, none, a weights file (.pth / .weights.h5), a trained run (folder or model.keras) "
                   "whose backbone to start from, or a shipped model (its name, e.g. fer2013-lite0, or a float32 "
                   ".tflite file edgefer made) whose whole network to start from, with a new last layer for "
                   "other labels and transfer defaults for the options not given (--epochs 10 --lr 1e-4 "
                   "--batch-size 32 --freeze 3 --patience 3).")
@click.option("--image-size", default=DEFAULTS["image_size"], type=click.IntRange(min=0, max=1024),
              help="Side the face is resized to inside the model [backbone default: 96].")
@click.option("--head-kernel", default=DEFAULTS["head_kernel"], show_default=True, type=click.IntRange(min=1, max=7),
              help="Side of the head convolution's kernel: 3 is the paper's; 1 takes a ninth of its multiply-adds.")
@click.option("--stages", default=DEFAULTS["stages"], show_default=True, type=click.IntRange(min=1, max=7),
              help="Keep the backbone's first N of its 7 block stages and drop the rest (an EfficientNet-Lite "
                   "only): at small inputs the last, widest stages hold most of the multiply-adds.")
@click.option("--freeze", default=DEFAULTS["freeze"], show_default=True, type=click.IntRange(min=0, max=7),
              help="Keep the stem and the first N of the backbone's 7 stages as --weights gives them (BatchNorm "
                   "statistics too): no backward pass through the largest feature maps, so epochs are shorter.")
@click.option("--epochs", default=DEFAULTS["epochs"], show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=DEFAULTS["batch_size"], show_default=True, type=click.IntRange(min=1, max=65536))
@click.option("--lr", default=DEFAULTS["lr"], show_default=True, type=POSITIVE,
              help="Peak learning rate of the one-cycle schedule.")
@click.option("--weight-decay", default=DEFAULTS["weight_decay"], show_default=True, type=FiniteRange(min=0),
              help="AdamW decay; 0 gives plain Adam.")
@click.option("--label-smoothing", default=DEFAULTS["label_smoothing"], show_default=True, type=FiniteRange(0, 1, max_open=True))
@click.option("--class-weights", default=DEFAULTS["class_weights"], show_default=True, type=click.Choice(CLASS_WEIGHT_MODES))
@click.option("--augment/--no-augment", default=DEFAULTS["augment"], show_default=True,
              help="Random crop, flip, brightness/contrast jitter.")
@click.option("--geometric", is_flag=True,
              help="Detector-like zoom 15%, shift 10%, rotation 15 degrees instead of the random crop.")
@click.option("--erase", default=DEFAULTS["erase"], show_default=True, type=FiniteRange(0, 1),
              help="Probability of random erasing.")
@click.option("--limit", default=DEFAULTS["limit"], type=click.IntRange(min=0),
              help="Train on a stratified subset of N training images.")
@click.option("--resume", is_flag=True, help="Continue the interrupted run in --out.")
@click.option("--seed", default=DEFAULTS["seed"], show_default=True, type=click.IntRange(min=0))
@FERPLUS_MODE
@click.option("--teacher", "teachers", multiple=True, default=DEFAULTS["teachers"], type=click.Path(),
              help="Distil from this TFLite model: its probabilities on the training faces become targets; "
                   "repeat it for an ensemble teacher (the mean of their probabilities).")
@click.option("--distill", default=DEFAULTS["distill"], show_default=True, type=FiniteRange(0, 1),
              help="With --teacher: the teachers' weight in the targets (the rest is the labels).")
@click.option("--consistent-teacher", is_flag=True,
              help="With --teacher: the teachers answer on every augmented face as the student sees it, instead "
                   "of once on the clean faces (each step also runs the teachers).")
@click.option("--degrade", default=DEFAULTS["degrade"], show_default=True, type=FiniteRange(0, 1),
              help="Probability of a Gaussian blur (sigma 0.4-2 px), and separately of JPEG compression (quality 20-95).")
@click.option("--votes", default=DEFAULTS["votes"], type=click.Path(),
              help="A FER+ folder (FER2013 only): each training face's crowd-vote distribution, found by its pixels, "
                   "is blended into its label.")
@click.option("--votes-weight", default=DEFAULTS["votes_weight"], show_default=True, type=FiniteRange(0, 1),
              help="With --votes: the votes' weight in a face's own targets (the rest is its FER2013 label); "
                   "--distill then blends the teachers with these targets.")
@click.option("--keep-epochs", is_flag=True,
              help="Also keep every epoch's weights (epochs/epoch-NN.npz in --out), to average with `edgefer average`.")
@click.option("--val-share", default=DEFAULTS["val_share"], show_default=True, type=FiniteRange(0.05, 0.5),
              help="Prepared datasets without a val split: the share of people held out to pick the best epoch.")
@click.option("--folds", default=DEFAULTS["folds"], type=click.IntRange(min=0, max=20),
              help="Prepared datasets: K-fold cross-validation by person; each fold a run in --out/fold-k, "
                   "summary in --out/cv.json.")
@click.option("--patience", default=DEFAULTS["patience"], show_default=True, type=click.IntRange(min=0),
              help="Stop after this many epochs without a better val accuracy (0: run every epoch).")
@click.option("--strategy", default=DEFAULTS["strategy"], show_default=True, type=click.Choice(STRATEGIES),
              help="tf.distribute strategy: auto = multi-worker when TF_CONFIG names several tasks, "
                   "mirrored with several GPUs, else single.")
@friendly_errors
@click.pass_context
def train(ctx, data_path, run_dir, resume, **options):
    """Fine-tune the paper's model (backbone + Conv2D/GAP/Dense head) on FER2013, FER+ or a dataset
    of your own (`edgefer data prepare`).

    Validation is the dataset's val split (FER2013 PublicTest; a prepared dataset: people held out
    by --val-share); the best epoch is kept.

    \b
    Examples:
      edgefer train ~/.cache/edgefer-data/fer2013 --out runs/lite0 --epochs 1 --limit 2000
      edgefer train datasets/mine --weights fer2013-lite0 --folds 5 --out runs/mine-cv
    """
    check_inputs(data_path, run_dir)
    for teacher in options["teachers"]:
        check_inputs(teacher)
    if options["votes"]:
        check_inputs(options["votes"])
    if options["consistent_teacher"] and not options["teachers"]:
        raise click.UsageError("--consistent-teacher needs at least one --teacher")
    cluster_from_env()  # a malformed TF_CONFIG is refused before TensorFlow reads it
    quiet_tensorflow()
    require_tensorflow("train")
    from edgefer.training.train import train as run_training
    from edgefer.training.twin import twin_path

    if twin_path(options["weights"]):
        for name, value in TRANSFER_DEFAULTS.items():
            if ctx.get_parameter_source(name) == click.core.ParameterSource.DEFAULT:
                options[name] = value
    cfg = TrainConfig(data=data_path, **options)
    with interrupt_ends_training(run_dir, " (continue with --resume)"):
        if cfg.folds:
            from edgefer.training.folds import cross_validate

            summary = cross_validate(cfg, run_dir)
            click.echo(json.dumps({k: summary[k] for k in ("dataset", "split", "n", "accuracy", "macro_f1")}))
            return
        metrics = run_training(cfg, run_dir, resume=resume)
    click.echo(json.dumps({k: metrics[k] for k in SUMMARY_KEYS}))


@main.command()
@click.argument("source_run", metavar="RUN", type=click.Path())
@click.option("--out", "run_dir", required=True, type=click.Path(), help="New run folder to write.")
@click.option("--epochs", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=2e-5, show_default=True, type=POSITIVE, help="Starting learning rate (cosine decay).")
@click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1, max=65536))
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
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
    check_inputs(source_run, run_dir)
    quiet_tensorflow()
    require_tensorflow("qat")
    from edgefer.training.qat import finetune

    with interrupt_ends_training(run_dir):
        metrics = finetune(source_run, run_dir, epochs, lr, batch_size, seed)
    click.echo(json.dumps({k: metrics[k] for k in SUMMARY_KEYS}))


@main.command()
@click.argument("sources", metavar="RUN_OR_EPOCH ...", nargs=-1, required=True, type=click.Path())
@click.option("--out", "run_dir", required=True, type=click.Path(), help="New run folder to write.")
@click.option("--data", "data_path", required=True, type=click.Path(), help="Dataset whose val split scores the mean.")
@friendly_errors
def average(sources, run_dir, data_path):
    """Average the weights of runs trained from the same start into one model (a model soup).

    Each source is a run (its folder or a .keras file in it) or an epoch a run kept with
    `edgefer train --keep-epochs` (RUN/epochs/epoch-NN.npz); the first one's run gives the
    network and config. The new run folder is scored on the val split and goes to
    `edgefer quantize` like any run.

    \b
    Example (the last four of a 10-epoch run):
      edgefer average runs/lite0/epochs/epoch-{07,08,09,10}.npz --out runs/lite0-mean \\
          --data ~/.cache/edgefer-data/fer2013
    """
    check_inputs(data_path, run_dir)
    for source in sources:
        check_inputs(source)
    quiet_tensorflow()
    require_tensorflow("average")
    from edgefer.training.average import average_runs

    metrics = average_runs(list(sources), run_dir, data_path)
    click.echo(json.dumps({k: metrics[k] for k in SUMMARY_KEYS}))


@main.command()
@click.argument("model_path", metavar="MODEL", type=click.Path())
@click.argument("data_path", metavar="DATA", type=click.Path())
@click.option("--split", default="test", show_default=True, type=click.Choice(SPLITS))
@click.option("--out", "out_dir", default=None, type=click.Path(),
              help="Folder for metrics.json and confusion.png [MODEL's folder/eval-SPLIT].")
@click.option("--splits", "split_file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A run's splits.json for a prepared dataset [the run's own, when it has one].")
@FERPLUS_MODE
@friendly_errors
def evaluate(model_path, data_path, split, out_dir, ferplus_mode, split_file):
    """Evaluate a trained Keras model (model.keras or its run folder) on one split.

    \b
    Example:
      edgefer evaluate runs/lite0 ~/.cache/edgefer-data/fer2013 --split val
    """
    check_inputs(model_path, out_dir)
    check_inputs(data_path)
    quiet_tensorflow()
    require_tensorflow("evaluate")
    from edgefer.training.evaluate import evaluate_run

    metrics = evaluate_run(model_path, data_path, split, out_dir, ferplus_mode, split_file)
    click.echo(json.dumps({k: metrics[k] for k in SUMMARY_KEYS}))
