#!/usr/bin/env bash
# Install the Edge TPU runtime and edgefer's device side on a Debian-based host with a Coral USB
# Accelerator (Raspberry Pi OS Bookworm, Debian, Ubuntu), or on a Coral Dev Board (Mendel).
# Usage: bash install.sh edgefer-VERSION-py3-none-any.whl
#   The wheel is built on any host from the repository (`pip wheel --no-deps -w dist .`) and copied
#   here with this script. The Edge TPU model is compiled on an x86-64 host with edgetpu_compiler:
#   edgefer compile-edgetpu fer2013-lite0 --out models/
set -euo pipefail
wheel="$(realpath "${1:?usage: bash install.sh edgefer-VERSION-py3-none-any.whl}")"
venv="${EDGEFER_VENV:-/opt/edgefer}"

# libedgetpu1-std comes from Coral's apt repository (packages.cloud.google.com/apt coral-edgetpu-stable).
if ! dpkg -s libedgetpu1-std >/dev/null 2>&1; then
  echo "deb https://packages.cloud.google.com/apt coral-edgetpu-stable main" | sudo tee /etc/apt/sources.list.d/coral-edgetpu.list
  curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo gpg --dearmor -o /etc/apt/trusted.gpg.d/coral-edgetpu.gpg
  sudo apt-get update
  sudo apt-get install -y libedgetpu1-std
fi
sudo apt-get install -y python3-venv python3-pip python3-numpy
sudo python3 -m venv --system-site-packages "$venv"
# the system's NumPy stays the one in use (see devices/raspberry-pi/install.sh)
python3 -c 'import numpy; print(f"numpy=={numpy.__version__}")' | sudo tee "$venv/constraints.txt" >/dev/null
sudo "$venv/bin/pip" install --constraint "$venv/constraints.txt" "$wheel[device]"
sudo ln -sf "$venv/bin/edgefer" /usr/local/bin/edgefer
edgefer devices
