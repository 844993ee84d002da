"""Atomic writes: a result file is either complete or absent, never half-written."""

import json
import os


def write_bytes(path, data):
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=2) + "\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)
