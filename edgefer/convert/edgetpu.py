"""Edge TPU compilation of an int8 TFLite file with Coral's ``edgetpu_compiler``, when installed.

The compiler writes ``OUT/<stem>_edgetpu.tflite`` and ``OUT/<stem>_edgetpu.log``; its model is a
new flatbuffer, so edgefer's metadata (appended to the int8 file) is appended to it again here.
"""

import os
import re
import shutil
import subprocess

from edgefer.core.errors import EdgeferError
from edgefer.core.files import write_bytes, write_text
from edgefer.core.metadata import flatbuffer_bytes, read_metadata, with_metadata

NOT_INSTALLED = "edgetpu_compiler is not installed; skipped Edge TPU compilation"


def compiled_path(tflite_path: str, out_dir: str) -> str:
    """Where the compiler writes the Edge TPU model of ``tflite_path``."""
    return os.path.join(out_dir, os.path.splitext(os.path.basename(tflite_path))[0] + "_edgetpu.tflite")


def compile_for_edgetpu(tflite_path: str, out_dir: str) -> str:
    """Write ``<stem>_edgetpu.tflite`` (with the int8 file's metadata) and the compiler's log into
    ``out_dir``; returns a status line (a skip notice when the compiler is not installed)."""
    compiler = shutil.which("edgetpu_compiler")
    if compiler is None:
        return NOT_INSTALLED
    metadata = read_metadata(tflite_path)
    if metadata.mode != "int8":
        raise EdgeferError(f"{tflite_path}: the Edge TPU runs full-integer files; this one is {metadata.mode}")
    result = subprocess.run([compiler, "-s", "-o", out_dir, tflite_path], capture_output=True, text=True)
    compiled = compiled_path(tflite_path, out_dir)
    log_path = os.path.splitext(compiled)[0] + ".log"
    write_text(log_path, result.stdout + result.stderr)
    if result.returncode != 0 or not os.path.exists(compiled):
        raise EdgeferError(f"edgetpu_compiler failed on {tflite_path}; see {log_path}")
    write_bytes(compiled, with_metadata(flatbuffer_bytes(compiled), metadata))
    on_tpu = re.search(r"Number of operations that will run on Edge TPU:\s*(\d+)", result.stdout)
    on_cpu = re.search(r"Number of operations that will run on CPU:\s*(\d+)", result.stdout)
    placement = f" ({on_tpu.group(1)} ops on the Edge TPU, {on_cpu.group(1)} on the CPU)" if on_tpu and on_cpu else ""
    return f"{compiled}: Edge TPU model written{placement}; compiler log in {log_path}"
