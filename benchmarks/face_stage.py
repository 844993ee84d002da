"""The face stage at every distance and image quality, every detector side by side, in one run.

Usage: python benchmarks/face_stage.py [PHOTOS] [--fer2013 FER2013] [--model M] [--runs 50] [--threads 1] [--out face-stage.json]

PHOTOS is the extracted photos.tar.gz (expressions-wild/, faces-in-photos/, yale-4class/), by
default ~/.cache/edgefer-data/photos. For each detector it reports:
- near: expressions-wild portraits (one face expected in each): photos with a face, photos with
  more than one detection; the same photos degraded (grey, blurred, darkened, JPEG quality 10,
  a quarter of the photos each) as a robustness column;
- far: recall on faces-in-photos (a boxed face counts as found when its centre lies inside a
  detection of 0.25x to 6x its area) and the detections that match no boxed face, sharp and
  degraded;
- full frame (with --fer2013): 500 PublicTest faces shown as whole 192x192 frames;
- milliseconds per frame for the detector alone and the whole pipeline at 640x480 and 1280x720
  (the sample photo scaled to the frame's height, one face; p50 of --runs after a warm-up);
- end to end (photo in, label out of the largest face; a face not found counts as wrong) on
  expressions-wild (its photos whose label the model has) and yale-4class.
"""

import argparse
import csv
import json
import os
from functools import partial

import cv2
import numpy as np
from real_photos import photo_scores, right_or_wrong, yale_photos

from edgefer.data.datasets import load_dataset, stratified_indices
from edgefer.device.assemble import DeviceSettings, assemble
from edgefer.device.bench import machine, timed
from edgefer.device.bundled import default_model_path
from edgefer.device.faces import DEFAULT_DETECTOR, DETECTORS
from edgefer.device.sources import SAMPLE_IMAGE

FRAME_SIZES = ((640, 480), (1280, 720))


def darken(image):
    return (image.astype(np.float32) * 0.35).astype(np.uint8)


def jpeg(image):
    return cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 10])[1], cv2.IMREAD_COLOR)


def grey(image):
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


DEGRADATIONS = {"grey": grey, "blurred": partial(cv2.GaussianBlur, ksize=(0, 0), sigmaX=2.5),
                "darkened": darken, "jpeg10": jpeg}


def degraded(images):
    """Each image with one degradation, taken in turn."""
    makers = list(DEGRADATIONS.values())
    return [makers[i % len(makers)](image) for i, image in enumerate(images)]


def wild_photos(folder):
    """(path, emotion) of every expressions-wild photo, in the CSV's order."""
    with open(os.path.join(folder, "labels.csv")) as f:
        return [(os.path.join(folder, row["image"]), row["emotion"]) for row in csv.DictReader(f)]


def boxed_faces(folder):
    boxes = {}
    with open(os.path.join(folder, "boxes.csv")) as f:
        for row in csv.DictReader(f):
            boxes.setdefault(row["file"], []).append([float(row[k]) for k in "xywh"])
    return boxes


def recall(finder, images, boxes):
    """(found, total, unmatched detections) on boxed photos."""
    found = total = unmatched = 0
    for image, faces in zip(images, boxes):
        detections = [d.box for d in finder.detect(image)]
        matched = set()
        for x, y, w, h in faces:
            cx, cy = x + w / 2, y + h / 2
            hits = [i for i, (dx, dy, dw, dh) in enumerate(detections)
                    if dx <= cx <= dx + dw and dy <= cy <= dy + dh and 0.25 <= dw * dh / (w * h) <= 6]
            found += bool(hits)
            matched.update(hits)
            total += 1
        unmatched += len(detections) - len(matched)
    return found, total, unmatched


def face_counts(finder, images):
    """(images with a face, images with more than one detection)."""
    counts = [len(finder.detect(image)) for image in images]
    return sum(c > 0 for c in counts), sum(c > 1 for c in counts)


def frame_of_size(width, height):
    """The sample photo (one face) scaled to the frame's height and centred on a grey frame."""
    photo = cv2.imread(SAMPLE_IMAGE)
    photo = cv2.resize(photo, (height, height), interpolation=cv2.INTER_LINEAR)
    frame = np.full((height, width, 3), 110, np.uint8)
    y, x = (height - photo.shape[0]) // 2, (width - photo.shape[1]) // 2
    frame[y:y + photo.shape[0], x:x + photo.shape[1]] = photo
    return frame


def full_frame_faces(fer2013, n=500):
    """``n`` stratified PublicTest faces, each enlarged to a whole 192x192 frame."""
    val = load_dataset(fer2013, ("val",)).split("val")
    faces = val.images[stratified_indices(val.labels, n, seed=0)]
    return [cv2.cvtColor(cv2.resize(face, (192, 192), interpolation=cv2.INTER_LINEAR), cv2.COLOR_GRAY2BGR)
            for face in faces]


def end_to_end(pipeline, photos, labels):
    """(accuracy, photos scored) over the photos whose label the model has."""
    scored = [(path, truth) for path, truth in photos if truth in labels]
    return sum(right_or_wrong(photo_scores(pipeline, scored), scored)) / len(scored), len(scored)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", nargs="?", default=os.path.expanduser("~/.cache/edgefer-data/photos"))
    parser.add_argument("--fer2013", default=None, help="FER2013 folder, for the full-frame column")
    parser.add_argument("--model", default=None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    model = args.model or default_model_path()
    wild = wild_photos(os.path.join(args.photos, "expressions-wild"))
    wild_images = [cv2.imread(path) for path, _ in wild]
    wild_degraded = degraded(wild_images)
    group_folder = os.path.join(args.photos, "faces-in-photos")
    group = boxed_faces(group_folder)
    group_images = [cv2.imread(os.path.join(group_folder, name)) for name in group]
    full_frames = full_frame_faces(args.fer2013) if args.fer2013 else []
    yale = yale_photos(os.path.join(args.photos, "yale-4class"))
    rows = []
    for name in DETECTORS:
        pipeline = assemble(DeviceSettings(model_path=model, detector=name, threads=args.threads, smooth=1))
        finder, labels = pipeline.detector, pipeline.classifier.labels
        row = {"detector": name}
        found, multiple = face_counts(finder, wild_images)
        found_degraded, _ = face_counts(finder, wild_degraded)
        row.update({"wild_photos": len(wild), "wild_found": found, "wild_more_than_one": multiple,
                    "wild_found_degraded": found_degraded})
        for key, images in (("group", group_images), ("group_degraded", degraded(group_images))):
            hit, total, unmatched = recall(finder, images, list(group.values()))
            row.update({f"{key}_found": hit, f"{key}_boxed": total, f"{key}_unmatched": unmatched})
        if full_frames:
            row["full_frame_found"], _ = face_counts(finder, full_frames)
            row["full_frame_faces"] = len(full_frames)
        for width, height in FRAME_SIZES:
            frame = frame_of_size(width, height)
            row[f"faces_in_{width}x{height}"] = len(finder.detect(frame))
            row[f"detector_ms_{width}x{height}"] = timed(partial(finder.detect, frame), args.runs, 5)["p50"]
            row[f"pipeline_ms_{width}x{height}"] = timed(partial(pipeline.process, frame), args.runs, 5)["p50"]
        row["wild_accuracy"], row["wild_scored"] = end_to_end(pipeline, wild, labels)
        row["yale_accuracy"], row["yale_scored"] = end_to_end(pipeline, yale, labels)
        rows.append(row)
        print(json.dumps(row), flush=True)
    by_name = {row["detector"]: row for row in rows}
    ratios = {f"pipeline_ms_{w}x{h}_{DEFAULT_DETECTOR}_over_blazeface-full":
              round(by_name[DEFAULT_DETECTOR][f"pipeline_ms_{w}x{h}"] / by_name["blazeface-full"][f"pipeline_ms_{w}x{h}"], 2)
              for w, h in FRAME_SIZES}
    result = {"machine": machine(), "threads": args.threads, "model": os.path.basename(model),
              "photos": args.photos, "rows": rows, "ratios": ratios}
    print(json.dumps(ratios))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
