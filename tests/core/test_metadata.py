import io
import json
import zipfile

import pytest
from helpers import TINY_INT8

from edgefer.core.errors import EdgeferError
from edgefer.core.metadata import read_metadata, with_metadata

METADATA = {"labels": ["a", "b"], "face_size": 48, "normalisation": {"mean": 127.0, "scale": 128.0}}


def test_metadata_round_trips_through_a_model_file(tmp_path):
    flatbuffer = b"\x1c\x00\x00\x00TFL3" + bytes(range(200))
    path = tmp_path / "m.tflite"
    path.write_bytes(with_metadata(flatbuffer, METADATA))
    assert read_metadata(str(path)) == METADATA
    assert path.read_bytes().startswith(flatbuffer)
    with zipfile.ZipFile(path) as z:
        assert z.read("labels.txt").decode() == "a\nb\n"


def test_the_committed_tiny_model_carries_its_labels():
    assert read_metadata(TINY_INT8)["labels"] == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def test_writing_metadata_without_labels_is_refused():
    with pytest.raises(ValueError, match="labels"):
        with_metadata(b"TFL3", {"face_size": 48})


@pytest.mark.parametrize("content, fragment", [
    (None, "carries no edgefer metadata"),
    ({"face_size": 48}, "metadata lacks labels"),
    ([1, 2, 3], "metadata is not"),
    ({"labels": ["a"], "face_size": "big"}, "face_size"),
    ({"labels": "abc", "face_size": 48}, "labels"),
    ({"labels": ["a"], "face_size": 48, "normalisation": {"mean": 1.0}}, "normalisation"),
])
def test_bad_metadata_gives_one_line_error(tmp_path, content, fragment):
    path = tmp_path / "bad.tflite"
    if content is None:
        path.write_bytes(b"\x1c\x00\x00\x00TFL3 plain flatbuffer")
    else:
        body = b"\x1c\x00\x00\x00TFL3"
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("edgefer.json", json.dumps(content))
        path.write_bytes(body + archive.getvalue())
    with pytest.raises(EdgeferError, match=fragment) as error:
        read_metadata(str(path))
    assert str(path) in str(error.value) and "\n" not in str(error.value)
