"""Accuracy when the crop is not FER2013's: fixed, seeded perturbations of the test faces.

Usage: python benchmarks/robustness.py DATA MODEL [MODEL ...] [--split test] [--limit N] [--out robustness.json]

Every model (TFLite files: the old and the new, float32 and int8) sees the same faces under the
same perturbations in one run: zoom 0.85 and 1.15, shifts of 10% of the side left, right, up
and down, rotations of -15 and +15 degrees, darker and lower-contrast, a Gaussian blur, and JPEG
quality 30. Borders are filled by reflection, as a detector's crop would show more of the
picture. The report gives clean accuracy, accuracy under each perturbation, and the mean drop.
"""

import argparse
import json
import os

import cv2
import numpy as np

from edgefer.core.progress import progress
from edgefer.data.datasets import load_dataset, stratified_indices
from edgefer.device.bench import machine
from edgefer.device.runtime import Classifier
from edgefer.evaluation.scoring import accuracy, probabilities


def affine(faces, zoom=1.0, shift=(0.0, 0.0), degrees=0.0):
    side = faces.shape[1]
    matrix = cv2.getRotationMatrix2D(((side - 1) / 2, (side - 1) / 2), degrees, zoom)
    matrix[:, 2] += np.array(shift) * side
    return np.stack([cv2.warpAffine(face, matrix, (side, side), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REFLECT_101) for face in faces])


def tone(faces, gain=1.0, contrast=1.0):
    x = faces.astype(np.float32) * gain
    mean = x.mean(axis=(1, 2), keepdims=True)
    return np.clip((x - mean) * contrast + mean, 0, 255).astype(np.uint8)


def jpeg(faces, quality):
    return np.stack([cv2.imdecode(cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, quality])[1],
                                  cv2.IMREAD_GRAYSCALE) for face in faces])


PERTURBATIONS = {
    "zoom 0.85": lambda f: affine(f, zoom=0.85),
    "zoom 1.15": lambda f: affine(f, zoom=1.15),
    "shift left 10%": lambda f: affine(f, shift=(-0.1, 0.0)),
    "shift right 10%": lambda f: affine(f, shift=(0.1, 0.0)),
    "shift up 10%": lambda f: affine(f, shift=(0.0, -0.1)),
    "shift down 10%": lambda f: affine(f, shift=(0.0, 0.1)),
    "rotate -15": lambda f: affine(f, degrees=-15),
    "rotate +15": lambda f: affine(f, degrees=15),
    "darker (x0.6)": lambda f: tone(f, gain=0.6),
    "low contrast (x0.5)": lambda f: tone(f, contrast=0.5),
    "blur (sigma 1.2)": lambda f: np.stack([cv2.GaussianBlur(face, (0, 0), 1.2) for face in f]),
    "jpeg quality 30": lambda f: jpeg(f, 30),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    dataset = load_dataset(args.data, (args.split,))
    part = dataset.split(args.split)
    if args.limit:
        part = part.subset(stratified_indices(part.labels, args.limit, seed=0))
    variants = {"clean": part.images, **{name: make(part.images) for name, make in PERTURBATIONS.items()}}
    rows = []
    for path in args.models:
        classifier = Classifier(path, threads=args.threads)
        scores = {name: accuracy(probabilities(classifier, faces)[0], part.labels)
                  for name, faces in progress(variants.items(), total=len(variants), desc=os.path.basename(path))}
        drops = [scores["clean"] - scores[name] for name in PERTURBATIONS]
        rows.append({"model": os.path.basename(path), "clean": scores["clean"], "mean_drop": float(np.mean(drops)),
                     "mean_perturbed": float(np.mean([scores[name] for name in PERTURBATIONS])), "accuracy": scores})
        print(json.dumps({k: rows[-1][k] for k in ("model", "clean", "mean_perturbed", "mean_drop")}), flush=True)
    header = "| perturbation | " + " | ".join(r["model"] for r in rows) + " |"
    print("\n" + header + "\n|---|" + "---:|" * len(rows))
    for name in variants:
        print(f"| {name} | " + " | ".join(f"{r['accuracy'][name]:.4f}" for r in rows) + " |")
    print("| **mean drop (pp)** | " + " | ".join(f"**{100 * r['mean_drop']:.2f}**" for r in rows) + " |")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"dataset": dataset.name, "split": args.split, "n": len(part), "machine": machine(),
                       "perturbations": list(PERTURBATIONS), "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
