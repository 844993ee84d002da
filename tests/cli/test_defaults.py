"""One home for each training default: every ``edgefer train`` option that is a ``TrainConfig``
field has the config's default, and reading them needs no TensorFlow."""

import subprocess
import sys
from dataclasses import MISSING, fields

import click
from helpers import CLEAN_ENV, REFUSE_HEAVY, REPO

from edgefer.cli.training import train
from edgefer.training.config import TrainConfig


def test_every_train_option_takes_its_default_from_the_config():
    options = {param.name: param for param in train.params}
    context = click.Context(train)
    compared = 0
    for field in fields(TrainConfig):
        if field.default is MISSING or field.name not in options:
            continue
        default = options[field.name].get_default(context)
        assert (tuple(default) if isinstance(default, (list, tuple)) else default) == field.default, field.name
        compared += 1
    assert compared >= 25


def test_the_training_commands_load_without_tensorflow():
    code = REFUSE_HEAVY.format(heavy=("tensorflow", "keras", "kimm")) + (
        "import edgefer.cli.training, edgefer.training.config\n"
        "assert not {'tensorflow', 'keras', 'kimm'} & set(sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=CLEAN_ENV)
    assert result.returncode == 0, result.stderr[-2000:]
