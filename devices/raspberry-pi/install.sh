#!/usr/bin/env bash
# Install edgefer's device side on Raspberry Pi OS Bookworm (64-bit, aarch64): no TensorFlow.
# Usage: bash devices/raspberry-pi/install.sh [--service]
#   --service  also install and start the systemd unit that runs edgefer headless on camera 0.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${EDGEFER_VENV:-/opt/edgefer}"

sudo apt-get update
# picamera2 and libcamera come from Raspberry Pi OS; OpenCV from PyPI (its wheels carry the face cascades).
sudo apt-get install -y python3-venv python3-pip python3-picamera2 libatlas-base-dev

# --system-site-packages lets the venv see the distribution's picamera2.
sudo python3 -m venv --system-site-packages "$venv"
sudo "$venv/bin/pip" install --upgrade pip
sudo "$venv/bin/pip" install "$repo[device]"
sudo ln -sf "$venv/bin/edgefer" /usr/local/bin/edgefer

edgefer run --source sample --json --no-display --max-frames 3
edgefer devices --detect
edgefer bench --device auto --runs 50

if [ "${1:-}" = "--service" ]; then
  # the service's own user: no login, no home, in group video for the camera
  id edgefer >/dev/null 2>&1 || sudo useradd --system --no-create-home --shell /usr/sbin/nologin --groups video edgefer
  if [ ! -s /etc/edgefer/token ]; then  # the live page's token, readable by root and the edgefer user only
    sudo install -d -m 750 -g edgefer /etc/edgefer
    python3 -c "import secrets; print(secrets.token_urlsafe(24))" | sudo tee /etc/edgefer/token >/dev/null
  fi
  sudo chown root:edgefer /etc/edgefer/token
  sudo chmod 640 /etc/edgefer/token
  sudo install -m 644 "$here/edgefer.service" /etc/systemd/system/edgefer.service
  sudo systemctl daemon-reload
  sudo systemctl enable --now edgefer.service
  echo "edgefer runs headless; follow it with: journalctl -u edgefer -f"
  echo "live page: http://$(hostname -I | cut -d' ' -f1):8765/?token=$(sudo cat /etc/edgefer/token)"
fi
