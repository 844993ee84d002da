"""The command group, and the one way a command reports bad input: ``error: ...`` and exit 2."""

import functools
import importlib.util
import math
import os
import sys

import click

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_folder


class FiniteRange(click.FloatRange):
    """A float range that also refuses NaN and infinity."""

    name = "finite float range"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class EdgeferGroup(click.Group):
    """A click group whose usage errors are one ``error: ...`` line, like every other error."""

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            hint = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
            click.echo(f"error: {exc.format_message()}{hint}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)


def friendly_errors(command):
    """Turn an ``EdgeferError`` into one ``error: ...`` line on stderr and its exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EdgeferError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:  # a full disk, a closed pipe or a device that refuses the output
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            _silence_stdout()
            sys.exit(1)

    return wrapper


def _silence_stdout():
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def check_inputs(path, out_dir=None):
    """Before any slow import: ``path`` must exist and ``out_dir`` (if given) must be able to be a folder."""
    if not os.path.exists(path):
        raise EdgeferError(f"{path}: not found")
    if out_dir is not None:
        check_output_folder(out_dir, create=False)


def require_tensorflow(command):
    """A one-line error when the training extra is not installed."""
    if importlib.util.find_spec("tensorflow") is None:
        raise EdgeferError(f"`edgefer {command}` needs TensorFlow: pip install 'edgefer[train]'")


def quiet_tensorflow():
    """Keep TensorFlow's start-up chatter off stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@click.group(cls=EdgeferGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="edgefer")
def main():
    """edgefer: facial emotion recognition from a training host to small devices.

    \b
    Example:
      edgefer run --source sample --json --no-display --max-frames 5
    """
