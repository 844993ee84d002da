"""The model-file contract: ``ModelMetadata``, what a ``.tflite`` file says about itself.

edgefer's metadata travel as a zip archive appended to the flatbuffer (``edgefer.json`` and
``labels.txt``, stored uncompressed): TFLite interpreters ignore the trailing bytes and Python's
``zipfile`` finds the archive at the end of the file, so the device reads them with the standard
library alone. This is edgefer's own packing, not TFLite's metadata format.

Schema versions: 2 (written now; ``schema`` is stored) and 1 (files written before the schema
had a number: no ``schema`` key; they load unchanged).
"""

import io
import json
import math
import zipfile
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Dict, Optional, Tuple

from edgefer.core.errors import EdgeferError
from edgefer.core.files import read_json, write_bytes

SCHEMA_VERSION = 2
METADATA_NAME = "edgefer.json"
MAX_METADATA_BYTES = 1 << 20  # larger metadata is refused before it is inflated
MAX_LABEL_CHARS = 40
MODES = ("float32", "float16", "dynamic", "int8")
IO_TYPES = ("int8", "uint8", "float32")
INTEROP_TOOLS = ("mediapipe",)


@dataclass(frozen=True)
class CropGeometry:
    """How a ``detector`` frames a training face: its box side as a fraction of the face's side
    (``box_size``) and the face centre in fractions of the face (``centre``)."""

    detector: str
    box_size: float
    centre: Tuple[float, float]
    align: bool = True

    def to_metadata(self) -> dict:
        return {**asdict(self), "centre": list(self.centre)}

    @classmethod
    def from_metadata(cls, values: dict, where: str) -> "CropGeometry":
        try:
            geometry = cls(str(values["detector"]), float(values["box_size"]),
                           (float(values["centre"][0]), float(values["centre"][1])), bool(values.get("align", True)))
        except (KeyError, TypeError, ValueError, IndexError):
            raise EdgeferError(f"{where}: crop geometry needs detector, box_size and centre [x, y]") from None
        if not (0.05 <= geometry.box_size <= 5 and all(-1 <= v <= 2 for v in geometry.centre)):
            raise EdgeferError(f"{where}: crop geometry out of range ({geometry})")
        return geometry


@dataclass(frozen=True)
class Normalisation:
    """The model's input is ``(pixel - mean) / scale`` for pixels in ``input_range``."""

    mean: float = 0.0
    scale: float = 1.0
    input_range: Tuple[int, int] = (0, 255)


@dataclass(frozen=True)
class ModelMetadata:
    """Everything edgefer writes into a model file, typed; ``from_dict`` checks every key."""

    labels: Tuple[str, ...]
    face_size: int
    normalisation: Normalisation = Normalisation()
    color: str = "grayscale"
    input_range: Tuple[int, int] = (0, 255)
    backbone: Optional[str] = None
    image_size: Optional[int] = None
    preprocessing: Optional[str] = None
    mode: Optional[str] = None
    io: Optional[str] = None
    dataset: Optional[str] = None
    flip_average: bool = False
    zoom_crop: int = 0
    mirror_members: bool = False
    weights_on_int8_grid: bool = False
    calibration: Optional[dict] = None  # the calibration manifest's header and file name (int8 files)
    members: Tuple[dict, ...] = ()  # the runs an ensemble file averages
    crop: Dict[str, CropGeometry] = field(default_factory=dict)  # by detector name
    interop: Optional[str] = None  # the tool an interop file is made for (RGB input): not for edgefer's runtime
    schema: int = SCHEMA_VERSION

    def to_dict(self) -> dict:
        values = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None or (f.name in ("members", "crop") and not value):
                continue
            if f.name == "crop":
                value = {name: geometry.to_metadata() for name, geometry in value.items()}
            elif f.name == "normalisation":
                value = {**asdict(value), "input_range": list(value.input_range)}
            elif isinstance(value, tuple):
                value = list(value)
            values[f.name] = value
        return values

    @classmethod
    def from_dict(cls, values, where: str) -> "ModelMetadata":
        """The metadata in ``values`` (parsed JSON), or a one-line error naming ``where`` and the bad key."""
        if not isinstance(values, dict):
            raise EdgeferError(f"{where}: metadata is not a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise EdgeferError(f"{where}: metadata key {unknown[0]!r} is not part of schema {SCHEMA_VERSION}")
        missing = [k for k in ("labels", "face_size") if k not in values]
        if missing:
            raise EdgeferError(f"{where}: metadata lacks {', '.join(missing)}")
        checked = {name: _CHECKS[name](value, f"{where}: metadata {name}") for name, value in values.items()}
        checked.setdefault("schema", 1)  # a file written before the schema had a number
        return cls(**checked)


def _fail(where: str, expected: str, value) -> EdgeferError:
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
    return EdgeferError(f"{where} must be {expected}, not {shown}")


def _integer(low: int, high: int):
    def check(value, where):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _fail(where, f"an integer from {low} to {high}", value)
        return value
    return check


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _fail(where, "a finite number", value)
    return float(value)


def _flag(value, where):
    if not isinstance(value, bool):
        raise _fail(where, "true or false", value)
    return value


def _text(value, where):
    if not isinstance(value, str):
        raise _fail(where, "a string", value)
    return value


def _optional(check):
    return lambda value, where: None if value is None else check(value, where)


def _one_of(choices):
    def check(value, where):
        if value not in choices:
            raise _fail(where, f"one of {', '.join(choices)}", value)
        return value
    return check


def _object(value, where):
    if not isinstance(value, dict):
        raise _fail(where, "an object", value)
    return value


def _labels(value, where):
    """Unique, non-empty, printable names of at most ``MAX_LABEL_CHARS`` characters."""
    if not isinstance(value, list) or not value:
        raise _fail(where, "a non-empty list of names", value)
    for label in value:
        if not isinstance(label, str) or not label.strip() or not label.isprintable() or len(label) > MAX_LABEL_CHARS:
            raise _fail(where, f"printable, non-empty names of at most {MAX_LABEL_CHARS} characters", label)
    if len(set(value)) != len(value):
        raise EdgeferError(f"{where} names a label twice ({', '.join(sorted({v for v in value if value.count(v) > 1}))})")
    return tuple(value)


def _range(value, where):
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool)
                                                                for v in value) and value[0] < value[1]):
        raise _fail(where, "[low, high] integers", value)
    return tuple(value)


def _normalisation(value, where):
    values = _object(value, where)
    unknown = set(values) - {"mean", "scale", "input_range"}
    if unknown or "mean" not in values or "scale" not in values:
        raise EdgeferError(f"{where} needs finite numbers mean and scale (scale not 0)")
    mean, scale = _number(values["mean"], f"{where}.mean"), _number(values["scale"], f"{where}.scale")
    if scale == 0:
        raise EdgeferError(f"{where} needs finite numbers mean and scale (scale not 0)")
    input_range = _range(values["input_range"], f"{where}.input_range") if "input_range" in values else (0, 255)
    return Normalisation(mean, scale, input_range)


def _members(value, where):
    if not isinstance(value, list) or not all(isinstance(m, dict) and isinstance(m.get("run"), str) for m in value):
        raise _fail(where, "a list of objects naming their run", value)
    return tuple(value)


def _crop(value, where):
    return {name: CropGeometry.from_metadata(geometry, where) for name, geometry in _object(value, where).items()}


_CHECKS = {
    "labels": _labels, "face_size": _integer(8, 1024), "normalisation": _normalisation, "color": _one_of(("grayscale", "rgb")),
    "input_range": _range, "backbone": _optional(_text), "image_size": _optional(_integer(8, 4096)),
    "preprocessing": _optional(_text), "mode": _optional(_one_of(MODES)), "io": _optional(_one_of(IO_TYPES)),
    "dataset": _optional(_text), "flip_average": _flag, "zoom_crop": _integer(0, 64), "mirror_members": _flag,
    "weights_on_int8_grid": _flag, "calibration": _optional(_object), "members": _members, "crop": _crop,
    "interop": _optional(_one_of(INTEROP_TOOLS)), "schema": _integer(1, SCHEMA_VERSION),
}


def read_geometry(path: str) -> Dict[str, CropGeometry]:
    """The crop geometries of a geometry file (``{"crop": {detector: geometry}}``, as ``edgefer
    framing fit`` writes it), or a one-line error."""
    values = read_json(path)
    crop = values.get("crop") if isinstance(values, dict) else None
    if not isinstance(crop, dict) or not crop:
        raise EdgeferError(f"{path}: a geometry file holds {{\"crop\": {{detector: geometry}}}} (see `edgefer framing fit`)")
    return _crop(crop, f"{path}: crop")


def with_metadata(tflite_bytes: bytes, metadata: ModelMetadata) -> bytes:
    """``tflite_bytes`` with ``metadata`` appended as a zip (the one writer of edgefer's metadata)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        z.writestr(METADATA_NAME, json.dumps(metadata.to_dict(), indent=2))
        z.writestr("labels.txt", "\n".join(metadata.labels) + "\n")
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


def update_metadata(path: str, **changes) -> ModelMetadata:
    """Rewrite the model file at ``path`` (atomically) with ``changes`` to its metadata's fields;
    the flatbuffer is left as it is. Returns the new metadata."""
    metadata = replace(read_metadata(path), **changes, schema=SCHEMA_VERSION)
    write_bytes(path, with_metadata(flatbuffer_bytes(path), metadata))
    return metadata


def read_metadata(path: str) -> ModelMetadata:
    """The metadata inside the model file at ``path``, checked, or a one-line error."""
    try:
        with zipfile.ZipFile(path) as z:
            info = z.getinfo(METADATA_NAME)
            if info.file_size > MAX_METADATA_BYTES:
                raise EdgeferError(f"{path}: metadata of {info.file_size:,} bytes is over the "
                                   f"{MAX_METADATA_BYTES:,}-byte limit")
            values = json.loads(z.read(METADATA_NAME))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise EdgeferError(f"{path}: carries no edgefer metadata (labels, input size); "
                           "quantize it with `edgefer quantize`") from None
    except OSError as exc:
        raise EdgeferError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return ModelMetadata.from_dict(values, path)
