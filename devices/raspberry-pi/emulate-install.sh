#!/usr/bin/env bash
# The Pi guide's install, proven in an arm64 Debian Bookworm userland under QEMU (user mode): the
# wheel goes into a --system-site-packages venv beside apt's NumPy 1.24 with NumPy pinned to the
# system's, as devices/raspberry-pi/install.sh does it; then one Python process imports a system C
# extension built against that NumPy (python3-bottleneck, standing in for picamera2's simplejpeg,
# which Debian does not package), runs the built-in sample and a parity check, and says which NumPy
# it used. A NumPy from PyPI shadowing the system's would break that import ("numpy.dtype size
# changed"), as it breaks picamera2 on a Pi.
#
# One difference from a Pi: LiteRT's aarch64 wheel crashes (SIGSEGV) inside Interpreter() under
# qemu-user 7.2, so after the guide's install the emulation swaps it for tflite-runtime, edgefer's
# second interpreter, under the same pin; the NumPy question is the same for both.
#
# Usage: bash devices/raspberry-pi/emulate-install.sh   (as root for apt; about 5 minutes)
# Settings: EDGEFER_DATA (folder holding fer2013/, default ~/.cache/edgefer-data),
#           EDGEFER_ARM64_CACHE (default ~/.cache/edgefer-arm64).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${EDGEFER_ARM64_CACHE:-$HOME/.cache/edgefer-arm64}"
root="$cache/venv-root"
venv="$root/opt/edgefer"
data="${EDGEFER_DATA:-$HOME/.cache/edgefer-data}/fer2013"
say() { echo "emulate-install: $*" >&2; }
[ -d "$data" ] || { echo "error: FER2013 not found at $data (set EDGEFER_DATA)" >&2; exit 2; }

. "$here/arm64-root.sh"
arm64_root "$root" python3.11 libstdc++6 python3-numpy python3-bottleneck python3-pip python3-venv
arm() { qemu-aarch64-static -L "$root" "$@"; }

say "the wheel, built here"
rm -rf "$cache/dist" && python3 -m pip wheel --quiet --no-deps -w "$cache/dist" "$repo"
wheel=$(ls "$cache"/dist/edgefer-*.whl)

say "a venv that sees the system's packages, and the wheel in it with NumPy pinned (as install.sh does)"
rm -rf "$venv"
arm "$root/usr/bin/python3.11" -m venv --copies --without-pip --system-site-packages "$venv"  # pip: apt's
arm "$venv/bin/python" -c 'import numpy; print(f"numpy=={numpy.__version__}")' > "$cache/constraints.txt"
arm "$venv/bin/python" -m pip install --quiet --constraint "$cache/constraints.txt" "$wheel[device]"
arm "$venv/bin/python" -m pip uninstall --quiet -y ai-edge-litert
arm "$venv/bin/python" -m pip install --quiet --constraint "$cache/constraints.txt" "tflite-runtime>=2.14"

say "one process: the system C extension, the sample, parity"
cd "$cache"
arm "$venv/bin/python" - "$repo/models/fer2013-lite0_float32.tflite" "$data" <<'EOF'
import sys

import bottleneck
import numpy

from edgefer.cli import main
from edgefer.device.bundled import default_model_path

print(f"NumPy {numpy.__version__} from {numpy.__file__}; bottleneck {bottleneck.__version__} (built against it): "
      f"nanmean([1, nan, 3]) = {bottleneck.nanmean(numpy.array([1.0, numpy.nan, 3.0]))}", flush=True)
main(["run", "--source", "sample", "--json", "--no-display", "--max-frames", "3"])  # returns; parity exits
main(["parity", sys.argv[1], default_model_path(), "--data", sys.argv[2], "--split", "test", "--limit", "70",
      "--max-drop", "100", "--out", "parity-venv"])
EOF
