"""Edge TPU compilation of an int8 TFLite file with Coral's ``edgetpu_compiler``, when installed."""

import os
import shutil
import subprocess

from edgefer.core.errors import EdgeferError
from edgefer.core.files import write_text


def compile_for_edgetpu(tflite_path: str, out_dir: str) -> str:
    """Write ``*_edgetpu.tflite`` and its compiler log into ``out_dir``; returns a status line
    (a skip notice when the compiler is not installed)."""
    compiler = shutil.which("edgetpu_compiler")
    if compiler is None:
        return "edgetpu_compiler is not installed; skipped Edge TPU compilation"
    result = subprocess.run([compiler, "-s", "-o", out_dir, tflite_path], capture_output=True, text=True)
    log_path = os.path.splitext(tflite_path)[0] + "_edgetpu.log"
    write_text(log_path, result.stdout + result.stderr)
    if result.returncode != 0:
        raise EdgeferError(f"edgetpu_compiler failed on {tflite_path}; see {log_path}")
    return f"Edge TPU model written; compiler log in {log_path}"
