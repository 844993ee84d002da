"""Which device profile fits this machine, and why: the board, an Edge TPU, and whether the CPU
has an int8 dot product (``asimddp`` on Arm, ``avx512_vnni`` / ``avx_vnni`` on x86), read from
``/proc`` and ``/sys`` (under ``root``, so tests can hand in a fake one)."""

import glob
import os
from dataclasses import dataclass
from typing import Optional, Tuple

# (vendor, product) of the Coral USB Accelerator before and after its first use
CORAL_USB_IDS = {("1a6e", "089a"), ("18d1", "9302")}
X86_DOT_PRODUCT = ("avx512_vnni", "avx_vnni")
ARM_DOT_PRODUCT = "asimddp"


@dataclass(frozen=True)
class Detected:
    """The profile that fits (None: the defaults) and what it was chosen from."""

    profile: Optional[str]
    reasons: Tuple[str, ...]


def _read(path: str) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().replace(b"\0", b"").decode("utf-8", "replace").strip()
    except OSError:
        return ""


def cpu_features(cpuinfo: str) -> Tuple[str, Tuple[str, ...]]:
    """("x86" or "arm" or "", the feature flags of the first CPU) from ``/proc/cpuinfo``: x86
    calls them ``flags``, Arm ``Features``."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return ("x86" if key.strip() == "flags" else "arm"), tuple(value.split())
    return "", ()


def coral_usb(root: str) -> bool:
    for device in glob.glob(os.path.join(root, "sys/bus/usb/devices/*")):
        if (_read(os.path.join(device, "idVendor")), _read(os.path.join(device, "idProduct"))) in CORAL_USB_IDS:
            return True
    return False


def detect_device(root: str = "/") -> Detected:
    """The profile for the machine under ``root`` (see ``edgefer devices``)."""
    board = _read(os.path.join(root, "proc/device-tree/model"))
    architecture, features = cpu_features(_read(os.path.join(root, "proc/cpuinfo")))
    seen = [f"board: {board or 'not named (no /proc/device-tree/model)'}"]
    dot = [flag for flag in features if flag in (*X86_DOT_PRODUCT, ARM_DOT_PRODUCT)]
    seen.append(f"int8 dot product: {', '.join(dot) if dot else 'none'}")
    if "Coral Dev Board" in board or "Phanbell" in board:
        return Detected("coral-dev-board", (*seen, "a Coral Dev Board"))
    if coral_usb(root):
        return Detected("coral-usb", (*seen, "a Coral USB Accelerator on the USB bus"))
    if "Raspberry Pi 5" in board:
        return Detected("raspberry-pi-5", (*seen, "a Raspberry Pi 5"))
    if "Raspberry Pi 4" in board:
        return Detected("raspberry-pi-4", (*seen, "a Raspberry Pi 4"))
    if architecture == "x86":
        if dot:
            return Detected("generic-x86", (*seen, "x86-64 with an int8 dot product: the accurate model"))
        return Detected("x86-avx2", (*seen, "x86-64 without an int8 dot product: the fast model"))
    return Detected(None, (*seen, "no profile fits: the defaults"))
