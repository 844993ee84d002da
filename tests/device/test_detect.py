"""`--device auto`: the profile read from fake /proc and /sys trees of four machines."""

import pytest
from helpers import edgefer_without_tensorflow

from edgefer.device.detect import detect_device
from edgefer.device.profiles import device_settings, get_profile

PI_CPU = "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid{}\nCPU implementer\t: 0x41\n"
X86_CPU = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse sse2 avx avx2 fma{}\n"
MACHINES = {
    "raspberry-pi-4": ("Raspberry Pi 4 Model B Rev 1.4\0", PI_CPU.format("")),
    "raspberry-pi-5": ("Raspberry Pi 5 Model B Rev 1.0\0", PI_CPU.format(" atomics fphp asimdhp asimdrdm lrcpc dcpop asimddp")),
    "x86-avx2": (None, X86_CPU.format("")),
    "generic-x86": (None, X86_CPU.format(" avx512f avx512_vnni")),
}


def fake_root(tmp_path, board, cpuinfo, usb=None):
    (tmp_path / "proc" / "device-tree").mkdir(parents=True)
    (tmp_path / "proc" / "cpuinfo").write_text(cpuinfo)
    if board:
        (tmp_path / "proc" / "device-tree" / "model").write_bytes(board.encode())
    if usb:
        device = tmp_path / "sys" / "bus" / "usb" / "devices" / "2-1"
        device.mkdir(parents=True)
        (device / "idVendor").write_text(usb[0] + "\n")
        (device / "idProduct").write_text(usb[1] + "\n")
    return str(tmp_path)


@pytest.mark.parametrize("expected", list(MACHINES))
def test_each_machine_gets_its_profile_and_the_reasons(tmp_path, expected):
    board, cpuinfo = MACHINES[expected]
    found = detect_device(fake_root(tmp_path, board, cpuinfo))
    assert found.profile == expected
    assert any(reason.startswith("int8 dot product: ") for reason in found.reasons)
    get_profile(found.profile)  # a profile that exists


def test_a_coral_usb_accelerator_is_found_on_the_usb_bus(tmp_path):
    board, cpuinfo = MACHINES["raspberry-pi-5"]
    assert detect_device(fake_root(tmp_path, board, cpuinfo, usb=("1a6e", "089a"))).profile == "coral-usb"


def test_an_unknown_board_keeps_the_defaults(tmp_path):
    found = detect_device(fake_root(tmp_path, "Some Arm Board\0", PI_CPU.format("")))
    assert found.profile is None and "no profile fits" in found.reasons[-1]


def test_device_auto_merges_the_detected_profile(monkeypatch):
    import edgefer.device.profiles as profiles
    from edgefer.device.detect import Detected

    monkeypatch.setattr(profiles, "detect_device", lambda: Detected("x86-avx2", ("test",)))
    assert device_settings("auto").model_path == device_settings("x86-avx2").model_path
    monkeypatch.setattr(profiles, "detect_device", lambda: Detected(None, ("test",)))
    assert device_settings("auto") == device_settings()


def test_devices_detect_says_what_it_found_on_this_machine():
    result = edgefer_without_tensorflow("devices", "--detect")
    assert result.returncode == 0 and "int8 dot product:" in result.stdout


def test_run_and_bench_use_the_detected_profile_by_default():
    from edgefer.cli.device import bench, run

    for command in (run, bench):
        assert next(p for p in command.params if p.name == "device").default == "auto"


def test_the_pi_camera_is_the_default_only_where_picamera2_is_found(monkeypatch):
    import importlib.util

    from edgefer.device.sources import default_camera

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object() if name == "picamera2" else None)
    assert default_camera("picamera2") == "picamera2"
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert default_camera("picamera2") == "0" and default_camera("0") == "0" and default_camera(None) is None


@pytest.mark.parametrize("failure, fragment", [
    ("raise ValueError('numpy.dtype size changed, may indicate binary incompatibility. Expected 96 from C header')",
     "numpy.dtype size changed"),
    ("raise ImportError(\"No module named 'libcamera'\")", "ImportError: No module named 'libcamera'"),
    ("class Picamera2:\n    def __init__(self):\n        raise IndexError('list index out of range')",
     "no Raspberry Pi camera module could be opened (IndexError"),
])
def test_a_camera_stack_that_cannot_load_ends_in_one_line(tmp_path, failure, fragment):
    """A stand-in picamera2 that fails the ways the real one does on a mismatched NumPy, without
    libcamera, or without a camera module."""
    from helpers import assert_one_line_error

    (tmp_path / "picamera2").mkdir()
    (tmp_path / "picamera2" / "__init__.py").write_text(failure + "\n")
    result = edgefer_without_tensorflow("run", "--camera", "picamera2", "--no-display", "--max-frames", "1",
                                        env={"PYTHONPATH": str(tmp_path)})
    assert_one_line_error(result, fragment)
