"""Real photographs end to end, several classifiers side by side in one run: photo in, label out.

Usage: python benchmarks/real_photos.py MODEL [MODEL ...] [--photos PHOTOS] [--detector blazeface] [--out real-photos.json]

Every photo of yale-4class (in PHOTOS, the extracted photos.tar.gz, by default
~/.cache/edgefer-data/photos) goes through the device path: the detector, alignment, the crop
geometry carried in the model file, the classifier; a face not found counts as wrong. Besides each
model's accuracy, every model is compared with the first one photo by photo: how many photos only
one of the two labels right, and the exact two-sided McNemar p-value of that split (how likely a
split at least this uneven would be if the two models were equally good). 59 posed photos of 15
people: a check against fitting FER2013's framing, not a benchmark to tune to.
"""

import argparse
import glob
import json
import math
import os

import cv2

from edgefer.device.assemble import assemble
from edgefer.device.bench import machine
from edgefer.device.faces import DEFAULT_DETECTOR, DETECTORS
from edgefer.device.profiles import DeviceSettings


def yale_photos(folder):
    """(path, emotion) of every photo, in a fixed order."""
    return [(path, os.path.basename(os.path.dirname(path)))
            for path in sorted(glob.glob(os.path.join(folder, "*", "*.png")))]


def photo_scores(pipeline, photos):
    """The first face's scores for each photo, or None where no face is found."""
    scores = []
    for path, _ in photos:
        faces = pipeline.process(cv2.imread(path), still=True)
        scores.append(faces[0].scores if faces else None)
    return scores


def right_or_wrong(scores, photos):
    return [s is not None and max(s, key=s.get) == truth for s, (_, truth) in zip(scores, photos)]


def mcnemar_p(only_first, only_other):
    """Exact two-sided McNemar p-value: the photos the two models disagree on, under a fair coin."""
    n = only_first + only_other
    tail = sum(math.comb(n, i) for i in range(min(only_first, only_other) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--photos", default=os.path.expanduser("~/.cache/edgefer-data/photos"))
    parser.add_argument("--detector", default=DEFAULT_DETECTOR, choices=list(DETECTORS))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    photos = yale_photos(os.path.join(args.photos, "yale-4class"))
    if not photos:
        raise SystemExit(f"no photos in {os.path.join(args.photos, 'yale-4class')}")
    rows, first = [], None
    for path in args.models:
        pipeline = assemble(DeviceSettings(model_path=path, detector=args.detector, threads=1, smooth=1))
        right = right_or_wrong(photo_scores(pipeline, photos), photos)
        first = right if first is None else first
        only_first = sum(a and not b for a, b in zip(first, right))
        only_this = sum(b and not a for a, b in zip(first, right))
        rows.append({"model": path, "right": sum(right), "photos": len(photos),
                     "accuracy": round(sum(right) / len(photos), 3),
                     "only_first_right": only_first, "only_this_right": only_this,
                     "mcnemar_p_vs_first": round(mcnemar_p(only_first, only_this), 3)})
        print(json.dumps(rows[-1]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"machine": machine(), "set": "yale-4class", "detector": args.detector, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
