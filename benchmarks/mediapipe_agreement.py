"""MediaPipe Tasks' ImageClassifier on an interop file against edgefer's own runtime, face by face.

Usage: python benchmarks/mediapipe_agreement.py FER2013 [--model FLOAT32] [--int8 INT8] [--split test] [--out agreement.json]

The interop file is made from FLOAT32 (the shipped float32 twin by default) with
``edgefer.convert.interop``; every face of the split (PrivateTest by default, all 3,589) goes
through MediaPipe as an RGB image and through edgefer on FLOAT32 and on INT8 (the bundled int8
file by default). Prints top-1 agreement with each and the accuracy of all three.
"""

import argparse
import json
import os
import tempfile

import mediapipe
import numpy as np
from mediapipe.tasks.python import vision
from mediapipe.tasks.python.core import base_options

from edgefer.convert.interop import mediapipe_file
from edgefer.core.progress import progress
from edgefer.data.datasets import load_dataset
from edgefer.device.bench import machine
from edgefer.device.bundled import REPOSITORY_MODELS, default_model_path
from edgefer.device.runtime import Classifier


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--model", default=os.path.join(REPOSITORY_MODELS, "fer2013-lite0_float32.tflite"))
    parser.add_argument("--int8", default=default_model_path())
    parser.add_argument("--split", default="test")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    part = load_dataset(args.data, (args.split,)).split(args.split)
    twin, int8 = Classifier(args.model), Classifier(args.int8)
    with tempfile.TemporaryDirectory() as folder:
        interop = mediapipe_file(args.model, os.path.join(folder, "interop.tflite"), "interop")
        options = vision.ImageClassifierOptions(base_options=base_options.BaseOptions(model_asset_path=interop),
                                                max_results=-1)
        with vision.ImageClassifier.create_from_options(options) as classifier:
            theirs = []
            for face in progress(part.images, total=len(part.images), desc="MediaPipe"):
                rgb = np.ascontiguousarray(np.stack([face] * 3, -1))
                image = mediapipe.Image(image_format=mediapipe.ImageFormat.SRGB, data=rgb)
                categories = classifier.classify(image).classifications[0].categories
                theirs.append(twin.labels.index(max(categories, key=lambda c: c.score).category_name))
    theirs = np.array(theirs)
    float_top1, int8_top1 = twin.predict(part.images).argmax(1), int8.predict(part.images).argmax(1)
    result = {"machine": machine(), "data": os.path.abspath(args.data), "split": args.split, "n": int(len(theirs)),
              "float32": os.path.basename(args.model), "int8": os.path.basename(args.int8),
              "agreement_with_float32": float((theirs == float_top1).mean()),
              "agreement_with_int8": float((theirs == int8_top1).mean()),
              "accuracy_mediapipe": float((theirs == part.labels).mean()),
              "accuracy_float32": float((float_top1 == part.labels).mean()),
              "accuracy_int8": float((int8_top1 == part.labels).mean())}
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
