"""The Raspberry Pi service unit, checked by the real systemd-analyze."""

import configparser
import os
import re
import shutil
import subprocess

import pytest
from helpers import REPO

UNIT = os.path.join(REPO, "devices", "raspberry-pi", "edgefer.service")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(not SYSTEMD_ANALYZE, reason="systemd-analyze is not installed (Debian's systemd package)")


def service_section():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNIT)
    return parser["Service"]


def checkable_copy(tmp_path):
    """The unit with ExecStart's program pointed at one that exists here (verify checks it)."""
    text = open(UNIT).read().replace("/usr/local/bin/edgefer", shutil.which("true"))
    path = tmp_path / "edgefer.service"
    path.write_text(text)
    return str(path)


def test_the_unit_verifies(tmp_path):
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", checkable_copy(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0 and "edgefer.service" not in result.stderr, result.stderr


def test_the_unit_is_locked_down(tmp_path):
    result = subprocess.run([SYSTEMD_ANALYZE, "security", "--offline=yes", checkable_copy(tmp_path)],
                            capture_output=True, text=True)
    score = float(re.search(r"Overall exposure level for edgefer.service: ([0-9.]+)", result.stdout).group(1))
    assert score <= 3.0, result.stdout[-3000:]


def test_the_service_runs_as_its_own_user_and_keeps_the_journal_small():
    service = service_section()
    assert service["User"] == "edgefer" and service["SupplementaryGroups"] == "video"
    command = service["ExecStart"].split()
    assert "--json" not in command and command[command.index("--status-every") + 1] == "10"
    assert command[command.index("--device") + 1] == "auto" and "--token-file" in command
    assert int(service["RestartSec"]) >= 30
