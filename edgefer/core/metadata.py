"""Metadata carried inside a ``.tflite`` file: labels, input size and normalisation
(the model's input is ``(pixel - mean) / scale``; the runtime applies it).

The metadata travel as a zip archive appended to the flatbuffer (the way TFLite's metadata
tooling packs associated files): TFLite interpreters ignore the trailing bytes, and Python's
``zipfile`` finds the archive at the end of the file. The archive holds ``edgefer.json`` and
``labels.txt``.
"""

import io
import json
import math
import zipfile

from edgefer.core.errors import EdgeferError
from edgefer.core.files import write_bytes

METADATA_NAME = "edgefer.json"
REQUIRED_KEYS = ("labels", "face_size")


def with_metadata(tflite_bytes, metadata):
    """Return ``tflite_bytes`` with ``metadata`` (a JSON-able dict) appended as a zip."""
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise ValueError(f"metadata lacks {missing}")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(METADATA_NAME, json.dumps(metadata, indent=2))
        z.writestr("labels.txt", "\n".join(metadata["labels"]) + "\n")
    return bytes(tflite_bytes) + archive.getvalue()


def flatbuffer_bytes(path: str) -> bytes:
    """The model file's TFLite flatbuffer, without the metadata archive appended to it."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            start = min(info.header_offset for info in z.infolist())
    except (zipfile.BadZipFile, ValueError):
        return data
    return data[:start]


def update_metadata(path: str, changes: dict) -> dict:
    """Rewrite the model file at ``path`` (atomically) with ``changes`` merged into its metadata;
    the flatbuffer is left as it is. Returns the new metadata."""
    metadata = {**read_metadata(path), **changes}
    check_metadata(metadata, path)
    write_bytes(path, with_metadata(flatbuffer_bytes(path), metadata))
    return metadata


def read_metadata(path: str) -> dict:
    """The metadata dict inside the model file at ``path``, checked, or a one-line error."""
    try:
        with zipfile.ZipFile(path) as z:
            metadata = json.loads(z.read(METADATA_NAME))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError):
        raise EdgeferError(f"{path}: carries no edgefer metadata (labels, input size); "
                           "quantize it with `edgefer quantize`") from None
    except OSError as exc:
        raise EdgeferError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    check_metadata(metadata, path)
    return metadata


def check_metadata(metadata, path: str) -> None:
    """Refuse metadata of the wrong shape: it must be an object with a list of label names, an
    integer face size and, if present, a normalisation with numeric mean and scale."""
    if not isinstance(metadata, dict):
        raise EdgeferError(f"{path}: metadata is not a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise EdgeferError(f"{path}: metadata lacks {', '.join(missing)}")
    labels = metadata["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        raise EdgeferError(f"{path}: metadata labels must be a non-empty list of names")
    size = metadata["face_size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 1024:
        raise EdgeferError(f"{path}: metadata face_size must be an integer from 8 to 1024, not {size!r}")
    norm = metadata.get("normalisation", {"mean": 0.0, "scale": 1.0})
    numbers = isinstance(norm, dict) and all(
        isinstance(norm.get(k), (int, float)) and not isinstance(norm.get(k), bool) and math.isfinite(norm[k])
        for k in ("mean", "scale"))
    if not numbers or norm["scale"] == 0:
        raise EdgeferError(f"{path}: metadata normalisation needs finite numbers mean and scale (scale not 0)")
