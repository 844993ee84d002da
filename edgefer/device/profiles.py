"""Device profiles: threads, delegate, camera backend and model variant per target device."""

import glob
import os
from dataclasses import dataclass
from typing import Optional

from edgefer.core.errors import EdgeferError
from edgefer.core.files import read_json
from edgefer.device.bundled import resolve_model
from edgefer.device.detect import detect_device
from edgefer.device.drift import DEFAULT_EVERY
from edgefer.device.faces import DEFAULT_DETECTOR
from edgefer.device.framing import LEGACY_MARGIN

AUTO = "auto"  # --device auto: the profile that fits this machine
PROFILE_DIR = os.path.join(os.path.dirname(__file__), "profile_files")
PROFILE_KEYS = {"name", "description", "threads", "delegate", "camera", "model", "model_variant", "detector"}


def list_profiles():
    """Every profile, sorted by name."""
    profiles = []
    for path in sorted(glob.glob(os.path.join(PROFILE_DIR, "*.json"))):
        profile = read_json(path)
        if not isinstance(profile, dict) or not PROFILE_KEYS <= set(profile):
            raise EdgeferError(f"{path}: a device profile is an object with {', '.join(sorted(PROFILE_KEYS))}")
        profiles.append(profile)
    return profiles


def get_profile(name):
    """The profile called ``name``, or a one-line error listing the known ones."""
    profiles = {p["name"]: p for p in list_profiles()}
    if name not in profiles:
        raise EdgeferError(f"unknown device profile {name!r}; choose one of {', '.join(profiles)}")
    return profiles[name]


def model_for_profile(model_path, profile):
    """The model file a profile asks for: ``*_int8_edgetpu.tflite`` beside the int8 file for the
    Edge TPU profiles (a one-line error when it has not been compiled)."""
    if profile["model_variant"] != "int8_edgetpu" or model_path.endswith("_edgetpu.tflite"):
        return model_path
    compiled = model_path[: -len(".tflite")] + "_edgetpu.tflite"
    if not os.path.exists(compiled):
        raise EdgeferError(f"{compiled}: the {profile['name']} profile needs the Edge TPU build of the model; make it "
                           "with `edgefer compile-edgetpu MODEL --out DIR` (needs edgetpu_compiler) and pass "
                           "--model DIR/NAME_int8_edgetpu.tflite")
    return compiled


@dataclass(frozen=True)
class DeviceSettings:
    """What a device run uses, after merging the command line, the profile and the defaults;
    ``min_face`` None means the detector's own default (``faces.MIN_FACE``)."""

    model_path: str
    delegate: Optional[str] = None
    threads: Optional[int] = None
    camera: Optional[str] = None
    min_face: Optional[int] = None
    detector: str = DEFAULT_DETECTOR
    min_score: Optional[float] = None
    tiles: int = 0
    margin: float = LEGACY_MARGIN
    smooth: int = 5
    drift_model: Optional[str] = None  # the float model shadowing the int8 one (run --drift)
    drift_every: int = DEFAULT_EVERY
    drift_min_agreement: Optional[float] = None


def device_settings(device: Optional[str] = None, model: Optional[str] = None, threads: Optional[int] = None,
                    min_face: Optional[int] = None, detector: Optional[str] = None, **pipeline) -> DeviceSettings:
    """Command-line values win, then the device profile's (``auto``: the one ``detect_device``
    finds, if any), then the defaults; ``pipeline`` holds the remaining ``DeviceSettings``
    fields (min_score, tiles, margin, smooth, drift_*) as given."""
    if device == AUTO:
        device = detect_device().profile
    profile = get_profile(device) if device else {}
    chosen = detector or profile.get("detector", DEFAULT_DETECTOR)
    model = resolve_model(model or profile.get("model"))
    if profile:
        model = model_for_profile(model, profile)
    return DeviceSettings(
        model_path=model,
        delegate=profile.get("delegate"),
        threads=threads or profile.get("threads"),
        camera=profile.get("camera"),
        min_face=min_face,
        detector=chosen,
        **pipeline,
    )
