"""The Edge TPU path with a stand-in ``edgetpu_compiler`` that behaves as Coral's does: it writes
``OUT/<stem>_edgetpu.tflite`` (a new flatbuffer, so edgefer's appended metadata is gone) and
``OUT/<stem>_edgetpu.log``, and prints its placement summary."""

import os
import stat

import pytest
from helpers import CLEAN_ENV, REPO, assert_one_line_error, edgefer_without_tensorflow

from edgefer.core.metadata import flatbuffer_bytes, read_metadata
from edgefer.device.bundled import bundled_path

STAND_IN = """#!/usr/bin/env python3
import os, sys, zipfile, io
args = sys.argv[1:]
out = args[args.index("-o") + 1]
model = args[-1]
data = open(model, "rb").read()
try:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        data = data[:min(i.header_offset for i in z.infolist())]
except zipfile.BadZipFile:
    pass
stem = os.path.splitext(os.path.basename(model))[0] + "_edgetpu"
if os.environ.get("STAND_IN_FAILS"):
    print("Internal compiler error. Aborting!")
    sys.exit(1)
open(os.path.join(out, stem + ".tflite"), "wb").write(data)
summary = "Edge TPU Compiler version 16.0.384591198\\nModel compiled successfully in 512 ms.\\n" \\
          "Number of operations that will run on Edge TPU: 64\\nNumber of operations that will run on CPU: 0\\n"
open(os.path.join(out, stem + ".log"), "w").write(summary)
print(summary)
"""


@pytest.fixture
def compiler_path(tmp_path):
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "edgetpu_compiler"
    script.write_text(STAND_IN)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{folder}{os.pathsep}{CLEAN_ENV.get('PATH', '')}"


def test_the_bundled_model_compiles_and_keeps_its_metadata(compiler_path, tmp_path):
    out = tmp_path / "models"
    result = edgefer_without_tensorflow("compile-edgetpu", "fer2013-lite0", "--out", str(out),
                                        env={"PATH": compiler_path})
    assert result.returncode == 0, result.stderr[-2000:]
    compiled = out / "fer2013-lite0_int8_edgetpu.tflite"
    assert "64 ops on the Edge TPU, 0 on the CPU" in result.stdout and str(compiled) in result.stdout
    original = bundled_path("fer2013-lite0")
    assert read_metadata(str(compiled)) == read_metadata(original)
    assert flatbuffer_bytes(str(compiled)) == flatbuffer_bytes(original)
    assert "compiled successfully" in (out / "fer2013-lite0_int8_edgetpu.log").read_text()


def test_a_failing_compiler_and_a_missing_one_say_so_in_one_line(compiler_path, tmp_path):
    failed = edgefer_without_tensorflow("compile-edgetpu", "fer2013-lite0", "--out", str(tmp_path),
                                        env={"PATH": compiler_path, "STAND_IN_FAILS": "1"})
    assert_one_line_error(failed, "edgetpu_compiler failed", "_edgetpu.log")
    assert "Internal compiler error" in (tmp_path / "fer2013-lite0_int8_edgetpu.log").read_text()
    missing = edgefer_without_tensorflow("compile-edgetpu", "fer2013-lite0", "--out", str(tmp_path),
                                         env={"PATH": "/usr/bin:/bin"})
    assert_one_line_error(missing, "edgetpu_compiler is not installed")
    float_file = os.path.join(REPO, "models", "fer2013-lite0_float32.tflite")
    refused = edgefer_without_tensorflow("compile-edgetpu", float_file, "--out", str(tmp_path),
                                         env={"PATH": compiler_path})
    assert_one_line_error(refused, "full-integer")
