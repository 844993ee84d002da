"""Bad values for every numeric and path option of every command, through the real CLI: each
must end with exit code 1 or 2, one ``error:`` line, no traceback, and nothing left behind.
None of these cases gets as far as loading TensorFlow."""

import os
import sys

import pytest
from helpers import CLEAN_ENV, TINY_FLOAT, TINY_INT8, assert_one_line_error, edgefer, listing, write_kaggle_folders

NOT_POSITIVE = ["0", "-5", "nan", "inf", "abc"]
NOT_FRACTION = ["-0.1", "1.5", "nan", "-inf", "abc"]
NOT_COUNT = ["-1", "nan", "abc", "1e3"]

# command (with placeholders), option, bad values
NUMERIC = [
    ("run --source sample --no-display", "--max-frames", NOT_COUNT),
    ("run --source sample --no-display", "--threads", NOT_POSITIVE + ["100000"]),
    ("run --source sample --no-display", "--smooth", NOT_POSITIVE),
    ("run --source sample --no-display", "--min-face", NOT_POSITIVE),
    ("run --source sample --no-display", "--margin", NOT_FRACTION + ["1000"]),
    ("run --source sample --no-display", "--min-score", NOT_FRACTION),
    ("run --source sample --no-display", "--detect-tiles", NOT_COUNT + ["50"]),
    ("bench", "--runs", NOT_POSITIVE + ["10000000000"]),
    ("bench", "--threads", NOT_POSITIVE),
    ("parity {float} {int8} --data {data}", "--limit", NOT_COUNT),
    ("parity {float} {int8} --data {data}", "--max-drop", ["nan", "inf", "-1000", "abc"]),
    ("parity {float} {int8} --data {data}", "--threads", NOT_POSITIVE),
    ("calibrate {data} --out {tmp}/m.txt", "--size", NOT_POSITIVE),
    ("calibrate {data} --out {tmp}/m.txt", "--seed", NOT_COUNT),
    ("train {data} --out {tmp}/run", "--epochs", NOT_POSITIVE),
    ("train {data} --out {tmp}/run", "--batch-size", NOT_POSITIVE),
    ("train {data} --out {tmp}/run", "--image-size", NOT_COUNT + ["100000"]),
    ("train {data} --out {tmp}/run", "--lr", NOT_POSITIVE),
    ("train {data} --out {tmp}/run", "--weight-decay", ["-1", "nan", "inf"]),
    ("train {data} --out {tmp}/run", "--label-smoothing", ["1", "-0.1", "nan"]),
    ("train {data} --out {tmp}/run", "--erase", NOT_FRACTION),
    ("train {data} --out {tmp}/run", "--limit", NOT_COUNT),
    ("train {data} --out {tmp}/run", "--stages", ["0", "8", "nan", "abc"]),
    ("qat {data} --out {tmp}/run", "--epochs", NOT_POSITIVE),
    ("qat {data} --out {tmp}/run", "--lr", NOT_POSITIVE),
    ("qat {data} --out {tmp}/run", "--batch-size", NOT_POSITIVE),
    ("framing fit {data} --out {tmp}/g.json", "--limit", NOT_POSITIVE + ["10"]),
    ("quantize {data} --data {data} --calibration {file} --out {tmp}/q --flip-average", "--zoom-crop", ["-1", "9", "nan", "abc"]),
    ("framing check {data}", "--limit", NOT_COUNT),
]

# command, bad path argument or option value, what the error names
PATHS = [
    ("run --no-display --model {tmp}", "folder"),
    ("run --no-display --model /dev/zero", "not a TFLite model"),
    ("run --no-display --model {tmp}/dangling.tflite", "not found"),
    ("run --no-display --model {file}/m.tflite", "not found"),
    ("run --no-display --source {tmp}/empty", "no such file, folder or matching files"),
    ("run --no-display --source {file}/x.jpg", "no such file"),
    ("run --no-display --output {tmp}", "--output must end in"),
    ("run --no-display --output {tmp}/x.webm", "--output must end in"),
    ("run --no-display --output {tmp}/x.pgm", "--output must end in"),
    ("run --no-display --output {file}/x.mp4", "is a file, not a folder"),
    ("run --no-display --output {tmp}/folder.mp4", "is a folder"),
    ("bench --model {tmp}", "folder"),
    ("bench --model /dev/null", "not a TFLite model"),
    ("parity {tmp} {int8} --data {data}", "folder"),
    ("parity {float} {file}/q.tflite --data {data}", "not found"),
    ("parity {float} {int8} --data {file}", "not a dataset"),
    ("parity {float} {int8} --data {tmp}/nowhere", "dataset not found"),
    ("parity {float} {int8} --data {data} --out {file}", "is a file, not a folder"),
    ("parity {float} {int8} --data {data} --out {file}/sub", "is a file, not a folder"),
    ("calibrate {data} --out {tmp}", "is a folder"),
    ("calibrate {data} --out {file}/m.txt", "is a file, not a folder"),
    ("calibrate {tmp}/nowhere --out {tmp}/m.txt", "dataset not found"),
    ("data inspect {tmp}/nowhere --out {tmp}/i", "dataset not found"),
    ("data inspect {data} --out {file}", "is a file, not a folder"),
    ("train {tmp}/nowhere --out {tmp}/run", "not found"),
    ("train {data} --out {file}", "is a file, not a folder"),
    ("train {data} --out {file}/run", "is a file, not a folder"),
    ("train {data} --out {tmp}/run --consistent-teacher", "--consistent-teacher needs at least one --teacher"),
    ("qat {tmp}/nowhere --out {tmp}/run", "not found"),
    ("qat {data} --out {file}/run", "is a file, not a folder"),
    ("evaluate {tmp}/nowhere {data}", "not found"),
    ("evaluate {data} {tmp}/nowhere", "not found"),
    ("evaluate {data} {data} --out {file}", "is a file, not a folder"),
    ("quantize {tmp}/nowhere --data {data} --calibration {file} --out {tmp}/q", "not found"),
    ("quantize {data} --data {data} --calibration {tmp}/none.txt --out {tmp}/q", "not found"),
    ("quantize {data} --data {data} --calibration {file} --out {file}/q", "is a file, not a folder"),
    ("quantize {data} --data {data} --calibration {file} --out {tmp}/q --modes int4", "unknown mode"),
    ("quantize {data} --data {data} --calibration {file} --out {tmp}/q --zoom-crop 2", "add --flip-average"),
    ("quantize {data} --data {data} --calibration {file} --out {tmp}/q --mirror-members", "add --with RUN"),
    ("quantize {data} --with {data} --data {data} --calibration {file} --out {tmp}/q --mirror-members --flip-average",
     "choose one"),
    ("framing fit {data} --out {tmp}", "is a folder"),
    ("framing check {data} --model {tmp}", "folder"),
    ("framing check {data} --geometry {file}", "not readable JSON"),
    ("framing check {data} --geometry {tmp}/list.json", "a geometry file holds"),
    ("framing check {data} --geometry {tmp}/no-crop.json", "a geometry file holds"),
    ("framing check {data} --geometry {tmp}/string-crop.json", "a geometry file holds"),
    ("quantize {data} --data {data} --calibration {file} --out {tmp}/q --name ../x", "without a folder"),
    ("quantize {data} --data {data} --calibration {file} --out {tmp}/q --name a/b", "without a folder"),
    ("quantize {data} --data {data} --calibration {file} --out {tmp}/q --name ..", "without a folder"),
    ("quantize {data} --data {data} --calibration {file} --out {tmp}/q --geometry {tmp}/list.json",
     "a geometry file holds"),
    ("quantize {data} --data {data} --calibration {file} --out {tmp}/q --modes int8 --interop mediapipe",
     "add float32 to --modes"),
    ("quantize {data} --data {data} --calibration {tmp}/binary.txt --out {tmp}/q", "not a calibration manifest"),
    ("run --no-display --serve ²", "--serve"),
    ("run --no-display --camera ²", "--camera takes a camera index"),
    ("run --no-display --source ²", "no such file"),
    ("parity {int8} {float} --data {data}", "give the float32 file first"),
]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    data = write_kaggle_folders(str(root / "data"), per_class=(2, 1, 1))
    work = root / "work"
    (work / "empty").mkdir(parents=True)
    (work / "folder.mp4").mkdir()
    (work / "notes.txt").write_text("a plain file\n")
    (work / "list.json").write_text("[1, 2]")
    (work / "binary.txt").write_bytes(bytes(range(128, 256)) * 3)
    (work / "no-crop.json").write_text('{"box_size": 0.8}')
    (work / "string-crop.json").write_text('{"crop": "wide"}')
    os.symlink(str(work / "missing"), str(work / "dangling.tflite"))
    return {"tmp": str(work), "file": str(work / "notes.txt"), "data": data, "float": TINY_FLOAT, "int8": TINY_INT8}


def run_case(places, command, *extra):
    before = listing(places["tmp"]), listing(places["data"])
    args = [a.format(**places) for a in command.split()] + list(extra)
    result = edgefer(*args, cwd=places["tmp"], timeout=300)
    assert result.returncode in (1, 2), (args, result.returncode, result.stdout[-500:], result.stderr[-1500:])
    assert (listing(places["tmp"]), listing(places["data"])) == before, args
    return result


@pytest.mark.parametrize("command, option, values", NUMERIC, ids=[f"{c.split()[0]}{o}" for c, o, _ in NUMERIC])
def test_bad_numbers_are_refused_in_one_line(places, command, option, values):
    for value in values:
        result = run_case(places, command, option, value)
        assert_one_line_error(result, option)


@pytest.mark.parametrize("command, fragment", PATHS, ids=[c for c, _ in PATHS])
def test_bad_paths_are_refused_in_one_line(places, command, fragment):
    assert_one_line_error(run_case(places, command), fragment)


@pytest.mark.skipif(sys.platform != "linux", reason="needs /dev/full")
def test_a_full_standard_output_is_one_error_line(places):
    with open("/dev/full", "w") as full:
        import subprocess

        result = subprocess.run([sys.executable, "-m", "edgefer", "models", "--json"], stdout=full,
                                stderr=subprocess.PIPE, text=True, timeout=120, env=CLEAN_ENV)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and "No space left" in result.stderr
