"""The ``edgefer`` command line: thin click commands that parse options, call the library and
print its results. One module per layer it drives; heavy layers are imported inside the
command that needs them, so device commands never load TensorFlow.
"""

from edgefer.cli import convert, data, device, evaluation, training  # noqa: F401  registers the commands
from edgefer.cli.app import main

__all__ = ["main"]
