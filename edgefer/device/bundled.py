"""The models shipped with edgefer: int8 files inside the package, float32 twins in the repository."""

import glob
import os

from edgefer.core.errors import EdgeferError
from edgefer.core.files import read_json
from edgefer.core.metadata import read_metadata

PACKAGE_MODELS = os.path.join(os.path.dirname(__file__), "models")
REPOSITORY_MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "models")
DEFAULT_MODEL = "fer2013-lite0"
LATENCY_RECORD = os.path.join(PACKAGE_MODELS, "latency.json")  # written by edgefer bench --all-models --record


def measured_latency() -> dict:
    """{"machine": ..., "models": {name: {"1_thread": ms, "2_threads": ms}}} as recorded where the
    docs were built, or {} when the installation has no record."""
    return read_json(LATENCY_RECORD) if os.path.exists(LATENCY_RECORD) else {}


def bundled_names() -> list:
    """The names of the bundled models (their int8 files in the package), sorted."""
    return sorted(os.path.basename(path)[: -len("_int8.tflite")]
                  for path in glob.glob(os.path.join(PACKAGE_MODELS, "*_int8.tflite")))


def bundled_models():
    """[{name, path, float_path, float_available, labels, ..., latency}] for every shipped int8 model;
    ``latency`` is the recorded classifier p50 and the machine it was measured on (None if not recorded)."""
    record = measured_latency()
    models = []
    for name in bundled_names():
        path = os.path.join(PACKAGE_MODELS, f"{name}_int8.tflite")
        metadata = read_metadata(path)
        float_path = os.path.join(REPOSITORY_MODELS, f"{name}_float32.tflite")
        models.append({
            "name": name,
            "path": path,
            "float_path": float_path,
            "float_available": os.path.exists(float_path),
            "labels": list(metadata.labels),
            "backbone": metadata.backbone,
            "dataset": metadata.dataset,
            "face_size": metadata.face_size,
            "image_size": metadata.image_size,
            "flip_average": metadata.flip_average,
            "zoom_crop": metadata.zoom_crop,
            "members": [member["run"] for member in metadata.members],
            "mirror_members": metadata.mirror_members,
            "size_mb": round(os.path.getsize(path) / 1e6, 2),
            "default": name == DEFAULT_MODEL,
            "latency": {"p50_ms": record["models"][name], "machine": record["machine"]}
            if name in record.get("models", {}) else None,
        })
    return models


def bundled_path(name: str) -> str:
    """The int8 file of the bundled model called ``name``, or a one-line error naming the known ones."""
    path = os.path.join(PACKAGE_MODELS, f"{name}_int8.tflite")
    if not os.path.exists(path):
        known = ", ".join(bundled_names()) or "none"
        raise EdgeferError(f"no bundled model {name!r} (bundled: {known}); pass --model PATH for a file")
    return path


def bundled_pair(name: str) -> tuple:
    """(float32 twin, int8 file) of a bundled model, for parity; the twin lives in the repository."""
    int8 = bundled_path(name)
    twin = os.path.join(REPOSITORY_MODELS, f"{name}_float32.tflite")
    if not os.path.exists(twin):
        raise EdgeferError(f"{twin}: the float32 twin of {name} is not in this installation (it ships in the "
                           "repository's models/ folder); pass FLOAT_TFLITE QUANT_TFLITE instead")
    return twin, int8


def float_model(name_or_path: str) -> str:
    """A float32 model file, or a bundled model's name standing for its float32 twin."""
    if os.path.exists(name_or_path):
        return name_or_path
    if name_or_path.endswith(".tflite") or os.sep in name_or_path:
        raise EdgeferError(f"{name_or_path}: model file not found")
    if name_or_path not in bundled_names():
        raise EdgeferError(f"{name_or_path}: neither a float32 model file nor a bundled model's name "
                           f"({', '.join(bundled_names())})")
    return bundled_pair(name_or_path)[0]


def default_model_path() -> str:
    """The bundled default int8 model, or a one-line error when the installation lacks it."""
    return bundled_path(DEFAULT_MODEL)


def resolve_model(name_or_path: str = None) -> str:
    """``--model``: a bundled model's name, a .tflite path, or (None) the default model."""
    if not name_or_path:
        return default_model_path()
    if os.path.sep in name_or_path or name_or_path.endswith(".tflite") or os.path.exists(name_or_path):
        return name_or_path
    return bundled_path(name_or_path)
