"""Time every bundled model's classifier on 1 and 2 threads in one run and record it for `edgefer models`.

Usage: python benchmarks/bundled_latency.py [--runs 300] [--out edgefer/device/models/latency.json]

One invoke on the sample's face crop, after a warm-up, per model and thread count (the same
measurement as `edgefer bench`). The record names the machine; `edgefer models --json` shows it
beside each model as the latency measured where the docs were built.
"""

import argparse
import json

from edgefer.core.files import write_json
from edgefer.device.bench import bench, machine
from edgefer.device.bundled import LATENCY_RECORD, bundled_models
from edgefer.device.profiles import DeviceSettings


def classifier_p50(path, threads, runs):
    return bench(DeviceSettings(model_path=path, threads=threads), runs=runs)["classifier_ms"]["p50"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--out", default=LATENCY_RECORD)
    args = parser.parse_args()
    record = {"machine": machine(), "runs": args.runs, "measure": "classifier p50, one invoke on one face (ms)",
              "models": {}}
    for model in bundled_models():
        record["models"][model["name"]] = {"1_thread": classifier_p50(model["path"], 1, args.runs),
                                           "2_threads": classifier_p50(model["path"], 2, args.runs)}
        print(model["name"], json.dumps(record["models"][model["name"]]), flush=True)
    write_json(args.out, record)
    print(f"{record['machine']}; written to {args.out}")


if __name__ == "__main__":
    main()
