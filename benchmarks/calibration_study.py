"""Measure the int8 accuracy drop and agreement against calibration size and strategy.

Usage: python benchmarks/calibration_study.py RUN_DIR DATA [--sizes 32,128,512,2048] [--split val]
        [--flip-average] [--snap-weights] [--out docs/calibration-study.json]

For each (strategy, size) it writes a manifest, quantizes the run to int8 and runs parity on
the named split against the float32 file. Calibration choices are compared on the validation
split (FER2013 PublicTest), never on the test split.
"""

import argparse
import json
import os
import tempfile
from dataclasses import replace

from edgefer.convert.quantize import QuantizeOptions, quantize
from edgefer.data.calibration import calibrate
from edgefer.evaluation.parity import ParityOptions, parity


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("data")
    parser.add_argument("--sizes", default="32,128,512,2048")
    parser.add_argument("--strategies", default="random,stratified")
    parser.add_argument("--split", default="val")
    parser.add_argument("--flip-average", action="store_true")
    parser.add_argument("--snap-weights", action="store_true")
    parser.add_argument("--out", default="calibration-study.json")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="edgefer-calibration-")
    options = QuantizeOptions(modes=("float32",), name="study", flip_average=args.flip_average,
                              snap_weights=args.snap_weights)
    quantize(args.run_dir, args.data, _manifest(args, work, "stratified", 32), work, options=options,
             echo=lambda line: None)
    rows = []
    for strategy in args.strategies.split(","):
        for size in [int(s) for s in args.sizes.split(",")]:
            manifest = _manifest(args, work, strategy, size)
            paths = quantize(args.run_dir, args.data, manifest, work, options=replace(options, modes=("int8",)),
                             echo=lambda line: None)
            report = parity(os.path.join(work, "study_float32.tflite"), paths["int8"], args.data, options=ParityOptions(
                split=args.split, out_dir=os.path.join(work, f"parity-{strategy}-{size}"), max_drop=100))
            row = {"strategy": strategy, "size": size, "split": args.split, "n": report["n"],
                   "accuracy_float": report["accuracy_float"], "accuracy_quant": report["accuracy_quant"],
                   "drop_pp": report["drop_pp"], "drop_pp_ci95": report["drop_pp_ci95"],
                   "agreement": report["agreement"], "mean_abs_dprob": report["mean_abs_dprob"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    with open(args.out, "w") as f:
        json.dump({"run": os.path.abspath(args.run_dir), "flip_average": args.flip_average,
                   "snap_weights": args.snap_weights, "rows": rows}, f, indent=2)
    print("| strategy | size | int8 acc | drop (pp) | 95% CI | agreement | mean abs dp |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for r in rows:
        print(f"| {r['strategy']} | {r['size']} | {r['accuracy_quant']:.4f} | {r['drop_pp']:+.2f} | "
              f"{r['drop_pp_ci95'][0]:+.2f} to {r['drop_pp_ci95'][1]:+.2f} | {r['agreement']:.4f} | {r['mean_abs_dprob']:.4f} |")


def _manifest(args, work, strategy, size):
    path = os.path.join(work, f"{strategy}-{size}.txt")
    calibrate(args.data, path, size, strategy, seed=0)
    return path


if __name__ == "__main__":
    main()
