import pytest

from edgefer.core.errors import EdgeferError
from edgefer.device import profiles
from edgefer.device.assemble import assemble
from edgefer.device.bundled import bundled_path, default_model_path
from edgefer.device.faces import DEFAULT_DETECTOR, DETECTORS, MIN_FACE
from edgefer.device.profiles import PROFILE_KEYS, device_settings, get_profile, list_profiles

PROFILES = [p["name"] for p in list_profiles()]


def test_the_documented_profiles_exist():
    assert set(PROFILES) >= {"raspberry-pi-4", "raspberry-pi-5", "coral-usb", "coral-dev-board", "generic-x86"}


@pytest.mark.parametrize("name", PROFILES)
def test_every_profile_has_exactly_the_keys_that_are_read(name):
    profile = get_profile(name)
    assert set(profile) == PROFILE_KEYS
    assert profile["threads"] >= 1
    assert profile["delegate"] in (None, "edgetpu") and profile["detector"] in DETECTORS
    assert (profile["delegate"] == "edgetpu") == (profile["model_variant"] == "int8_edgetpu")


@pytest.mark.parametrize("name", [p for p in PROFILES if get_profile(p)["delegate"] is None])
def test_cpu_profiles_merge_under_the_command_line(name):
    profile = get_profile(name)
    merged = device_settings(name)
    assert (merged.threads, merged.camera, merged.detector) == (profile["threads"], profile["camera"], profile["detector"])
    assert merged.min_face is None and assemble(merged).detector.min_size == MIN_FACE[profile["detector"]]
    assert merged.model_path == bundled_path(profile["model"])
    overridden = device_settings(name, model="/x/m.tflite", threads=1, min_face=90, detector="haar")
    assert (overridden.model_path, overridden.threads, overridden.min_face, overridden.detector) == \
        ("/x/m.tflite", 1, 90, "haar")


def test_boards_without_int8_dot_product_default_to_the_fast_model():
    assert get_profile("raspberry-pi-4")["model"] == get_profile("x86-avx2")["model"] == "fer2013-fast"
    assert get_profile("raspberry-pi-5")["model"] == get_profile("generic-x86")["model"] == "fer2013-lite0"
    assert device_settings("raspberry-pi-4", model="fer2013-lite0").model_path == default_model_path()


def test_without_a_profile_the_defaults_apply():
    settings = device_settings()
    assert settings.threads is None and settings.delegate is None and settings.camera is None
    assert settings.detector == DEFAULT_DETECTOR
    assert assemble(settings).detector.min_size == MIN_FACE[DEFAULT_DETECTOR] == 16
    assert assemble(device_settings(detector="haar")).detector.min_size == 40


@pytest.mark.parametrize("name", [p for p in PROFILES if get_profile(p)["delegate"] == "edgetpu"])
def test_edgetpu_profiles_ask_for_the_compiled_model(name):
    with pytest.raises(EdgeferError, match="_edgetpu.tflite"):
        device_settings(name)


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(EdgeferError, match="raspberry-pi-4"):
        get_profile("toaster")


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"name": "half"}'])
def test_a_corrupt_profile_file_is_one_line_naming_it(tmp_path, monkeypatch, content):
    (tmp_path / "broken.json").write_text(content)
    monkeypatch.setattr(profiles, "PROFILE_DIR", str(tmp_path))
    with pytest.raises(EdgeferError, match="broken.json"):
        list_profiles()
