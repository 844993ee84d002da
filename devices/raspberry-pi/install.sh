#!/usr/bin/env bash
# Install edgefer's device side on Raspberry Pi OS Bookworm (64-bit, aarch64) from its wheel: no
# TensorFlow, no clone of the repository.
# Usage: bash install.sh edgefer-VERSION-py3-none-any.whl [--service]
#   The wheel is built on any host from the repository (`pip wheel --no-deps -w dist .`) and copied
#   here with this script and edgefer.service.
#   --service  also install and start the systemd unit that runs edgefer headless.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wheel="$(realpath "${1:?usage: bash install.sh edgefer-VERSION-py3-none-any.whl [--service]}")"
venv="${EDGEFER_VENV:-/opt/edgefer}"

sudo apt-get update
# picamera2, libcamera and the NumPy their compiled parts are built against come from Raspberry Pi OS;
# OpenCV and LiteRT from PyPI (OpenCV's wheels carry the Haar face cascades).
sudo apt-get install -y python3-venv python3-pip python3-numpy python3-picamera2

# --system-site-packages lets the venv see the distribution's picamera2 and NumPy. The constraint keeps
# pip from installing a PyPI NumPy over the system's: picamera2's simplejpeg is compiled against the
# system's, and a NumPy 2 shadowing it fails with "ValueError: numpy.dtype size changed". pip then
# picks OpenCV and LiteRT releases that work with that NumPy.
sudo python3 -m venv --system-site-packages "$venv"
python3 -c 'import numpy; print(f"numpy=={numpy.__version__}")' | sudo tee "$venv/constraints.txt" >/dev/null
sudo "$venv/bin/pip" install --constraint "$venv/constraints.txt" "$wheel[device]"
sudo ln -sf "$venv/bin/edgefer" /usr/local/bin/edgefer
"$venv/bin/python" -c 'import numpy; print("NumPy", numpy.__version__, "from", numpy.__file__)'

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
