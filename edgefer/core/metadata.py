"""Metadata carried inside a ``.tflite`` file: labels, input size and normalisation
(the model's input is ``(pixel - mean) / scale``; the runtime applies it).

The metadata travel as a zip archive appended to the flatbuffer (the way TFLite's metadata
tooling packs associated files): TFLite interpreters ignore the trailing bytes, and Python's
``zipfile`` finds the archive at the end of the file. The archive holds ``edgefer.json`` and
``labels.txt``.
"""

import io
import json
import zipfile

from edgefer.core.errors import EdgeferError

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


def read_metadata(path):
    """The metadata dict inside the model file at ``path``, or a one-line error."""
    try:
        with zipfile.ZipFile(path) as z:
            metadata = json.loads(z.read(METADATA_NAME))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError):
        raise EdgeferError(f"{path}: carries no edgefer metadata (labels, input size); "
                           "quantize it with `edgefer quantize`") from None
    missing = [k for k in REQUIRED_KEYS if k not in metadata]
    if missing:
        raise EdgeferError(f"{path}: metadata lacks {', '.join(missing)}")
    return metadata
