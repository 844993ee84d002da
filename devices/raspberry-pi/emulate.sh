#!/usr/bin/env bash
# Run edgefer's device side on an arm64 Debian Bookworm userland under QEMU (user mode) and
# compare it with the same commands on this x86-64 host.
#
#   1. an arm64 Bookworm userland: python3.11 and the libraries it needs, as Debian's arm64
#      .deb files (apt-get download) unpacked with dpkg -x into a cached root;
#   2. edgefer into it from aarch64 wheels, with the tflite-runtime interpreter: the LiteRT
#      wheel (ai-edge-litert 2.3.0, aarch64) crashes with SIGSEGV inside Interpreter() under
#      qemu-user 7.2 (Debian Bookworm's), so the emulation runs edgefer's second interpreter
#      choice, `edgefer[tflite-runtime]`; the edgefer code path is the same;
#   3. inside it, via qemu-aarch64-static -L ROOT: `edgefer parity` of the shipped models on
#      500 FER2013 PrivateTest images, and `edgefer run --source sample --json --max-frames 10`;
#   4. the same two commands on x86-64 (same interpreter and NumPy), and one final line
#      comparing them. Exit 0 when arm64 and x86 int8 results differ less than int8 differs
#      from float32 on the same images (fewer changed labels, smaller mean |dp|), and every
#      frame of the run has the same boxes and emotions.
#
# Usage: bash devices/raspberry-pi/emulate.sh      (needs root for apt; about 10 minutes)
# Settings: EDGEFER_DATA (folder holding fer2013/, default ~/.cache/edgefer-data),
#           EDGEFER_ARM64_CACHE (default ~/.cache/edgefer-arm64), EMULATE_IMAGES (default 500).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${EDGEFER_ARM64_CACHE:-$HOME/.cache/edgefer-arm64}"
root="$cache/root"
site="$root/opt/edgefer/site-packages"
data="${EDGEFER_DATA:-$HOME/.cache/edgefer-data}/fer2013"
images="${EMULATE_IMAGES:-500}"
out="$cache/results"
say() { echo "emulate: $*" >&2; }

[ -d "$data" ] || { echo "error: FER2013 not found at $data (set EDGEFER_DATA)" >&2; exit 2; }

# 1-2. host tools, the arm64 package lists and an arm64 Bookworm userland with python3.11 (cached)
. "$(dirname "$0")/arm64-root.sh"
arm64_root "$root" python3.11 libstdc++6
arm_python() { PYTHONPATH="$site" qemu-aarch64-static -L "$root" "$root/usr/bin/python3.11" -S "$@"; }
say "$(arm_python -c 'import platform, sys; print(platform.machine(), sys.version.split()[0])')"

# 3. edgefer[tflite-runtime] from aarch64 wheels (pure-Python edgefer wheel built here)
if [ ! -f "$site/.edgefer-installed" ] || [ -n "$(find "$repo/pyproject.toml" "$repo/edgefer" -newer "$site/.edgefer-installed" -print -quit)" ]; then
  say "installing edgefer[tflite-runtime] for aarch64 into $site"
  rm -rf "$site" "$cache/wheel"
  python3 -m pip wheel --quiet --no-deps -w "$cache/wheel" "$repo"
  wheel=$(ls "$cache"/wheel/edgefer-*.whl)
  python3 -m pip install --quiet --target "$site" --python-version 3.11 --implementation cp --abi cp311 \
    --platform manylinux_2_36_aarch64 --platform manylinux_2_34_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux_2_27_aarch64 \
    --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --only-binary=:all: \
    "edgefer[tflite-runtime] @ file://$wheel"
  touch "$site/.edgefer-installed"
fi
# The x86 side gets the same interpreter and NumPy in a folder of its own, so that the two
# sides differ only in the architecture.
x86_site="$cache/x86-site-packages"
if [ ! -f "$x86_site/.edgefer-installed" ] || [ "$site/.edgefer-installed" -nt "$x86_site/.edgefer-installed" ]; then
  rm -rf "$x86_site"
  python3 -m pip install --quiet --target "$x86_site" --only-binary=:all: "edgefer[tflite-runtime] @ file://$(ls "$cache"/wheel/edgefer-*.whl)"
  touch "$x86_site/.edgefer-installed"
fi
main='import sys; sys.argv[0] = "edgefer"; from edgefer.cli import main; main()'
arm_edgefer() { arm_python -c "$main" "$@"; }
host_edgefer() { PYTHONPATH="$x86_site" python3 -S -c "$main" "$@"; }

float_model="$repo/models/fer2013-lite0_float32.tflite"
int8_model="$(arm_python -c 'from edgefer.device.bundled import default_model_path; print(default_model_path())')"
mkdir -p "$out"

# 4. the same commands on both sides
for side in arm64 x86; do
  runner="arm_edgefer"; [ "$side" = x86 ] && runner="host_edgefer"
  say "$side: parity on $images PrivateTest images"
  model="$int8_model"
  $runner parity "$float_model" "$model" --data "$data" --split test --limit "$images" --max-drop 100 \
    --out "$out/parity-$side" --threads 2 > "$out/parity-$side.txt"
  say "$side: run on the built-in sample"
  $runner run --source sample --json --no-display --max-frames 10 --model "$model" > "$out/run-$side.jsonl" 2> "$out/run-$side.err"
done

python3 - "$out" <<'EOF'
# Tolerance: int8 kernels are not bit-exact across CPU architectures (their requantization
# and float steps such as softmax, mean and resize round differently on ARM), so near-ties can
# change label. We ask that moving from x86 to arm64 changes less than quantization itself does
# on the same images: fewer labels changed than int8 changes against float32 on x86, and a
# smaller mean |dp| than int8 against float32 on x86.
import csv, json, sys
out = sys.argv[1]
reports = {side: json.load(open(f"{out}/parity-{side}/report.json")) for side in ("arm64", "x86")}
rows = {side: list(csv.DictReader(open(f"{out}/parity-{side}/predictions.csv"))) for side in ("arm64", "x86")}
n = len(rows["x86"])
same_top1 = sum(a["quant"] == b["quant"] for a, b in zip(rows["arm64"], rows["x86"]))
dps = [abs(float(a[k]) - float(b[k])) for a, b in zip(rows["arm64"], rows["x86"]) for k in a if k.startswith("p_quant_")]
mean_dp, max_dp = sum(dps) / len(dps), max(dps)
def frames(side):
    return [json.loads(line) for line in open(f"{out}/run-{side}.jsonl")]
def same_frame(a, b):
    return [(f["box"], f["emotion"]) for f in a["faces"]] == [(f["box"], f["emotion"]) for f in b["faces"]]
arm_frames, x86_frames = frames("arm64"), frames("x86")
identical = sum(same_frame(a, b) for a, b in zip(arm_frames, x86_frames))
score_dp = max([abs(fa["score"] - fb["score"]) for a, b in zip(arm_frames, x86_frames)
                for fa, fb in zip(a["faces"], b["faces"])] or [0.0])
drift_labels = round((1 - reports["x86"]["agreement"]) * n)  # labels int8 changes against float32 on x86
drift_dp = reports["x86"]["mean_abs_dprob"]
print(f"int8 labels identical on {same_top1}/{n} images (float32 vs int8 on x86: {n - drift_labels}/{n}); "
      f"arm64 vs x86 probabilities: mean |dp| {mean_dp:.4f} (float32 vs int8: {drift_dp:.4f}), "
      f"max |dp| {max_dp:.4f}; run: max score difference {score_dp:.4f}; arm64 latency "
      f"{reports['arm64']['latency_ms_quant']:.0f} ms/face under emulation ({reports['arm64']['runtime']})")
print(f"arm64 parity: accuracy_quant={reports['arm64']['accuracy_quant']:.4f} agreement={reports['arm64']['agreement']:.4f} "
      f"x86: accuracy_quant={reports['x86']['accuracy_quant']:.4f} agreement={reports['x86']['agreement']:.4f}; "
      f"run: {identical}/{len(x86_frames)} frames identical (same boxes and emotions)")
ok = n - same_top1 < drift_labels and mean_dp < drift_dp and len(x86_frames) == len(arm_frames) > 0 and identical == len(x86_frames)
sys.exit(0 if ok else 1)
EOF
