import io
import json
import zipfile
from dataclasses import replace

import pytest
from helpers import TINY_INT8

from edgefer.core.errors import EdgeferError
from edgefer.core.metadata import (
    MAX_METADATA_BYTES,
    SCHEMA_VERSION,
    CropGeometry,
    ModelMetadata,
    Normalisation,
    read_metadata,
    update_metadata,
    with_metadata,
)
from edgefer.device.bundled import bundled_models

FLATBUFFER = b"\x1c\x00\x00\x00TFL3" + bytes(range(200))
METADATA = ModelMetadata(labels=("a", "b"), face_size=48, normalisation=Normalisation(127.0, 128.0), mode="int8",
                         crop={"blazeface-full": CropGeometry("blazeface-full", 0.86, (0.5, 0.52))})


def file_with(tmp_path, values):
    """A model file whose metadata archive holds ``values`` as JSON (bytes as they are)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("edgefer.json", values if isinstance(values, bytes) else json.dumps(values))
    path = tmp_path / "m.tflite"
    path.write_bytes(FLATBUFFER + archive.getvalue())
    return str(path)


def test_metadata_round_trips_through_a_model_file(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(with_metadata(FLATBUFFER, METADATA))
    assert read_metadata(str(path)) == METADATA
    assert path.read_bytes().startswith(FLATBUFFER)
    with zipfile.ZipFile(path) as z:
        assert z.read("labels.txt").decode() == "a\nb\n"
        assert json.loads(z.read("edgefer.json"))["schema"] == SCHEMA_VERSION


def test_updating_metadata_keeps_the_flatbuffer(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(with_metadata(FLATBUFFER, METADATA))
    update_metadata(str(path), dataset="mine")
    assert read_metadata(str(path)) == replace(METADATA, dataset="mine")
    assert path.read_bytes().startswith(FLATBUFFER)


def test_every_bundled_file_loads_through_the_schema():
    for model in bundled_models():
        metadata = read_metadata(model["path"])
        assert metadata.schema == SCHEMA_VERSION and set(metadata.crop) == {"blazeface-full", "blazeface-short"}
        assert metadata.mode == "int8" and metadata.calibration["manifest"].endswith(".txt")


def test_a_file_of_the_first_schema_loads():
    """The committed tiny files were written before the schema had a number (no ``schema`` key)."""
    metadata = read_metadata(TINY_INT8)
    assert metadata.schema == 1 and metadata.labels == ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
    assert metadata.normalisation == Normalisation(127.0, 128.0)


def good():
    return METADATA.to_dict()


@pytest.mark.parametrize("key, value, fragment", [
    ("labels", "abc", "labels must be a non-empty list"),
    ("labels", ["a", "a"], "names a label twice"),
    ("labels", ["a", ""], "labels must be printable"),
    ("labels", ["a", "<img src=x onerror=alert(1)>" * 2], "at most 40 characters"),
    ("labels", ["a", "b\nc"], "labels must be printable"),
    ("face_size", "big", "face_size must be an integer"),
    ("face_size", True, "face_size must be an integer"),
    ("normalisation", {"mean": 1.0}, "normalisation needs finite numbers"),
    ("normalisation", {"mean": 1.0, "scale": 0}, "normalisation needs finite numbers"),
    ("mode", "int4", "mode must be one of"),
    ("flip_average", "yes", "flip_average must be true or false"),
    ("zoom_crop", -1, "zoom_crop must be an integer"),
    ("crop", {"blazeface-full": {"box_size": "big"}}, "crop geometry needs"),
    ("crop", [], "crop must be an object"),
    ("schema", 99, "schema must be an integer from 1"),
    ("colour", "grey", "metadata key 'colour' is not part of schema"),
])
def test_a_file_with_one_key_broken_is_refused_in_one_line_naming_it(tmp_path, key, value, fragment):
    path = file_with(tmp_path, {**good(), key: value})
    with pytest.raises(EdgeferError, match=fragment) as error:
        read_metadata(path)
    assert str(error.value).startswith(path) and "\n" not in str(error.value)


@pytest.mark.parametrize("content, fragment", [
    (None, "carries no edgefer metadata"),
    ({"face_size": 48}, "metadata lacks labels"),
    ([1, 2, 3], "metadata is not"),
    (b"\xff\xfe not utf-8", "carries no edgefer metadata"),
    (b"[" * 100000, "carries no edgefer metadata"),
])
def test_bad_metadata_gives_one_line_error(tmp_path, content, fragment):
    path = str(tmp_path / "bad.tflite")
    if content is None:
        open(path, "wb").write(b"\x1c\x00\x00\x00TFL3 plain flatbuffer")
    else:
        path = file_with(tmp_path, content)
    with pytest.raises(EdgeferError, match=fragment) as error:
        read_metadata(path)
    assert path in str(error.value) and "\n" not in str(error.value)


def test_metadata_inflating_past_the_limit_is_refused_before_it_is_read(tmp_path):
    padding = " " * (MAX_METADATA_BYTES + 1)
    path = file_with(tmp_path, json.dumps(good()) + padding)  # deflates to a few kilobytes
    with pytest.raises(EdgeferError, match="over the 1,048,576-byte limit"):
        read_metadata(path)
