"""The command group, and the one way a command reports bad input: ``error: ...`` and exit 2."""

import functools
import os
import sys

import click

from edgefer.core.errors import EdgeferError


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

    return wrapper


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
