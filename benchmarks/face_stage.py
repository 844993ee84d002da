"""The face stage side by side for every detector, in one run.

Usage: python benchmarks/face_stage.py [PHOTOS] [--model M] [--runs 50] [--threads 1] [--out face-stage.json]

PHOTOS is the extracted photos.tar.gz (faces-in-photos/, yale-4class/), by default
~/.cache/edgefer-data/photos. For each detector it reports:
- recall on faces-in-photos (a boxed face counts as found when its centre lies inside a detection
  of 0.25x to 6x its area) and the detections that match no boxed face;
- milliseconds per frame for the detector alone and the whole pipeline at 640x480 and 1280x720
  (the sample photo scaled to the frame's height, one face; p50 of --runs after a warm-up);
- end-to-end accuracy on yale-4class: the photo in, the label out (a face not found counts as
  wrong); also with the prediction restricted to the four emotions the set has.
"""

import argparse
import csv
import json
import os
from functools import partial

import cv2
import numpy as np
from real_photos import photo_scores, right_or_wrong, yale_photos

from edgefer.device.bench import machine, timed
from edgefer.device.bundled import default_model_path
from edgefer.device.faces import DETECTORS, make_detector
from edgefer.device.pipeline import EmotionPipeline
from edgefer.device.runtime import Classifier
from edgefer.device.sources import SAMPLE_IMAGE

FRAME_SIZES = ((640, 480), (1280, 720))


def boxed_faces(folder):
    boxes = {}
    with open(os.path.join(folder, "boxes.csv")) as f:
        for row in csv.DictReader(f):
            boxes.setdefault(row["file"], []).append([float(row[k]) for k in "xywh"])
    return boxes


def recall(finder, folder):
    """(found, total, unmatched detections) on the boxed photos."""
    found = total = unmatched = 0
    for name, boxes in boxed_faces(folder).items():
        detections = [d.box for d in finder.detect(cv2.imread(os.path.join(folder, name)))]
        matched = set()
        for x, y, w, h in boxes:
            cx, cy = x + w / 2, y + h / 2
            hits = [i for i, (dx, dy, dw, dh) in enumerate(detections)
                    if dx <= cx <= dx + dw and dy <= cy <= dy + dh and 0.25 <= dw * dh / (w * h) <= 6]
            found += bool(hits)
            matched.update(hits)
            total += 1
        unmatched += len(detections) - len(matched)
    return found, total, unmatched


def frame_of_size(width, height):
    """The sample photo (one face) scaled to the frame's height and centred on a grey frame."""
    photo = cv2.imread(SAMPLE_IMAGE)
    photo = cv2.resize(photo, (height, height), interpolation=cv2.INTER_LINEAR)
    frame = np.full((height, width, 3), 110, np.uint8)
    y, x = (height - photo.shape[0]) // 2, (width - photo.shape[1]) // 2
    frame[y:y + photo.shape[0], x:x + photo.shape[1]] = photo
    return frame


def yale_accuracy(pipeline, folder):
    """(accuracy, accuracy over the set's own four emotions, faces found, photos)."""
    photos = yale_photos(folder)
    present = sorted({truth for _, truth in photos})
    scores = photo_scores(pipeline, photos)
    found = [(s, truth) for s, (_, truth) in zip(scores, photos) if s is not None]
    right = sum(right_or_wrong(scores, photos))
    right_of_four = sum(max(present, key=s.get) == truth for s, truth in found)
    return right / len(photos), right_of_four / len(photos), len(found), len(photos)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="?", default=os.path.expanduser("~/.cache/edgefer-data/photos"))
    parser.add_argument("--model", default=None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    classifier = Classifier(args.model or default_model_path(), threads=args.threads)
    rows = []
    for name in DETECTORS:
        finder = make_detector(name, threads=args.threads)
        pipeline = EmotionPipeline(classifier, finder, smooth=1)
        found, total, unmatched = recall(finder, os.path.join(args.photos, "faces-in-photos"))
        row = {"detector": name, "recall": round(found / total, 3), "found": found, "boxed": total,
               "unmatched": unmatched}
        for width, height in FRAME_SIZES:
            frame = frame_of_size(width, height)
            row[f"faces_in_{width}x{height}"] = len(finder.detect(frame))
            row[f"detector_ms_{width}x{height}"] = timed(partial(finder.detect, frame), args.runs, 5)["p50"]
            row[f"pipeline_ms_{width}x{height}"] = timed(partial(pipeline.process, frame), args.runs, 5)["p50"]
        accuracy, of_four, faces, photos = yale_accuracy(pipeline, os.path.join(args.photos, "yale-4class"))
        row.update({"yale_accuracy": round(accuracy, 3), "yale_accuracy_of_4": round(of_four, 3),
                    "yale_faces_found": f"{faces}/{photos}"})
        rows.append(row)
        print(json.dumps(row), flush=True)
    haar = next(r for r in rows if r["detector"] == "haar")
    ratios = {r["detector"]: {"detector_speedup_640x480_vs_haar": round(haar["detector_ms_640x480"] /
                                                                        r["detector_ms_640x480"], 2),
                              "pipeline_speedup_640x480_vs_haar": round(haar["pipeline_ms_640x480"] /
                                                                        r["pipeline_ms_640x480"], 2)}
              for r in rows}
    result = {"machine": machine(), "threads": args.threads, "model": os.path.basename(classifier.path),
              "rows": rows, "ratios": ratios}
    print(json.dumps(ratios))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
