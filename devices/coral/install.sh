#!/usr/bin/env bash
# Install the Edge TPU runtime and edgefer's device side on a Debian-based host with a Coral USB
# Accelerator (Raspberry Pi OS Bookworm, Debian, Ubuntu), or on a Coral Dev Board (Mendel).
# Usage: bash devices/coral/install.sh
# The Edge TPU model itself is compiled on an x86-64 host with edgetpu_compiler:
#   edgefer quantize RUN --data DATA --calibration MANIFEST --out models/ --edgetpu
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${EDGEFER_VENV:-/opt/edgefer}"

# libedgetpu1-std comes from Coral's apt repository (packages.cloud.google.com/apt coral-edgetpu-stable).
if ! dpkg -s libedgetpu1-std >/dev/null 2>&1; then
  echo "deb https://packages.cloud.google.com/apt coral-edgetpu-stable main" | sudo tee /etc/apt/sources.list.d/coral-edgetpu.list
  curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo gpg --dearmor -o /etc/apt/trusted.gpg.d/coral-edgetpu.gpg
  sudo apt-get update
  sudo apt-get install -y libedgetpu1-std
fi
sudo apt-get install -y python3-venv python3-pip
sudo python3 -m venv --system-site-packages "$venv"
sudo "$venv/bin/pip" install "$repo[device]"
sudo ln -sf "$venv/bin/edgefer" /usr/local/bin/edgefer
edgefer devices
