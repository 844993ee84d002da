"""What the live drift check costs, and whether the field agrees as well as the test split does.

Usage: python benchmarks/drift.py [--fer2013 D/fer2013] [--photos D/photos] [--runs 300] [--threads 1]
           [--out docs/drift.json]

1. Overhead: the default pipeline (the shipped int8 model, both BlazeFace models) on a frame of the
   built-in sample, mean time over ``--runs`` frames (the mean, since only every N-th frame pays
   for the float model), without ``--drift`` and with the float twin compared every 1, 5 and 20
   faces; ratios within this one run.
2. Field against test: the shipped int8 file against its float twin (``DriftMonitor``, every face)
   on FER2013 PrivateTest's 48x48 faces as they are, and through the device's face stage on the
   real photo sets (faces-in-photos, yale-4class, expressions-wild as an image folder) and the
   sample clip: agreement with its interval, largest probability difference, int8 saturation.
"""

import argparse
import glob
import json
import os
from functools import partial

import cv2

from edgefer.data.datasets import load_dataset
from edgefer.device.assemble import assemble
from edgefer.device.bench import machine, timed
from edgefer.device.bundled import DEFAULT_MODEL, bundled_pair
from edgefer.device.drift import DriftMonitor
from edgefer.device.profiles import DeviceSettings
from edgefer.device.runtime import Classifier
from edgefer.device.sources import SAMPLE_IMAGE, sample_frames

EVERY = (1, 5, 20)


def overhead(twin, int8, runs, threads):
    frame = cv2.imread(SAMPLE_IMAGE)
    rows = {}
    for every in (None, *EVERY):
        pipeline = assemble(DeviceSettings(int8, threads=threads, drift_model=twin if every else None,
                                           drift_every=every or 1))
        rows["none" if every is None else f"every {every}"] = timed(partial(pipeline.process, frame), runs, 10)["mean"]
    base = rows["none"]
    return {name: {"mean_ms": round(mean, 2), "x_none": round(mean / base, 3)} for name, mean in rows.items()}


def on_faces(twin, int8, faces):
    monitor = DriftMonitor(Classifier(twin, threads=1), Classifier(int8, threads=1), every=1)
    monitor.observe(list(faces), monitor.quant_model.predict(faces))
    return monitor.figures()


def on_frames(twin, int8, frames, threads):
    pipeline = assemble(DeviceSettings(int8, threads=threads, drift_model=twin, drift_every=1))
    count = 0
    for frame in frames:
        pipeline.process(frame, still=True)
        count += 1
    return {"frames": count, **pipeline.shadow.figures()}


def images(pattern):
    for path in sorted(glob.glob(pattern)):
        yield cv2.imread(path)


def summary(figures):
    keep = ("faces_compared", "agreement", "agreement_ci95", "max_difference_mean", "max_difference_p95", "saturation")
    return {key: figures[key] for key in keep if key in figures} | ({"frames": figures["frames"]} if "frames" in figures else {})


def main():
    data = os.path.expanduser("~/.cache/edgefer-data")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fer2013", default=os.path.join(data, "fer2013"))
    parser.add_argument("--photos", default=os.path.join(data, "photos"))
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    twin, int8 = bundled_pair(DEFAULT_MODEL)

    result = {"machine": machine(), "model": DEFAULT_MODEL, "threads": args.threads,
              "overhead": overhead(twin, int8, args.runs, args.threads)}
    test = load_dataset(args.fer2013, ("test",)).split("test")
    field = {"FER2013 PrivateTest, 48x48 faces as they are": on_faces(twin, int8, test.images)}
    for name, pattern in (("faces-in-photos", "faces-in-photos/*.jpg"), ("yale-4class", "yale-4class/*/*.png"),
                          ("expressions-wild", "expressions-wild/images/*.jpg")):
        field[f"{name}, through the face stage"] = on_frames(twin, int8, images(os.path.join(args.photos, pattern)),
                                                             args.threads)
    field["sample clip, through the face stage"] = on_frames(twin, int8, sample_frames(), args.threads)
    result["field"] = {name: summary(figures) for name, figures in field.items()}

    print(f"{result['machine']}; {DEFAULT_MODEL}, {args.threads} thread(s)\n")
    print("| --drift | pipeline, mean per frame | x without |\n|---|---:|---:|")
    for name, row in result["overhead"].items():
        print(f"| {name} | {row['mean_ms']:.2f} ms | {row['x_none']:.2f} |")
    print("\n| faces | compared | agreement (95% CI) | largest |dp| mean / p95 | int8 input / output saturation |")
    print("|---|---:|---|---|---|")
    for name, row in result["field"].items():
        low, high = row["agreement_ci95"]
        saturation = row["saturation"]
        print(f"| {name} | {row['faces_compared']} | {row['agreement']:.4f} ({low:.4f}-{high:.4f}) | "
              f"{row['max_difference_mean']:.4f} / {row['max_difference_p95']:.3f} | "
              f"{saturation['input']:.2%} / {saturation['output']:.2%} |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
