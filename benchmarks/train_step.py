"""What ``train --freeze N`` saves: seconds per training step with 0..N backbone stages frozen, one run.

Usage: python benchmarks/train_step.py [--backbone efficientnet-lite0] [--image-size 64]
       [--head-kernel 1] [--freeze 0,1,2,3] [--batch-size 64] [--steps 5]

Each setting builds the classifier (untrained weights: they do not change the cost), runs one
warm-up step and then times ``--steps`` forward and backward passes with Adam updates on random
faces, all threads of the machine. Prints one row per setting and its ratio to ``--freeze 0``.
"""

import argparse
import json
import time

import keras
import numpy as np
import tensorflow as tf

from edgefer.device.bench import machine
from edgefer.training.model import build_classifier, freeze_early_stages


def seconds_per_step(backbone, image_size, head_kernel, frozen, batch_size, steps):
    model = build_classifier(backbone, [str(i) for i in range(7)], "none", image_size, head_kernel)
    freeze_early_stages(model, frozen)
    optimizer = keras.optimizers.Adam(1e-4)
    rng = np.random.default_rng(0)
    faces = tf.constant(rng.uniform(0, 255, (batch_size, 48, 48, 1)), tf.float32)
    targets = tf.constant(np.eye(7, dtype=np.float32)[rng.integers(0, 7, batch_size)])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.categorical_crossentropy(targets, model(faces, training=True)))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    step()
    start = time.perf_counter()
    for _ in range(steps):
        step().numpy()
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--head-kernel", type=int, default=1)
    parser.add_argument("--freeze", default="0,1,2,3", help="comma-separated stage counts; 0 comes first")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    settings = sorted({0, *(int(n) for n in args.freeze.split(","))})
    print(f"{args.backbone}, {args.image_size} px, batch {args.batch_size}; {machine()}; TensorFlow {tf.__version__}")
    rows = []
    for frozen in settings:
        rows.append({"freeze": frozen, "s_per_step": seconds_per_step(
            args.backbone, args.image_size, args.head_kernel, frozen, args.batch_size, args.steps)})
        rows[-1]["x_unfrozen"] = rows[-1]["s_per_step"] / rows[0]["s_per_step"]
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()}), flush=True)


if __name__ == "__main__":
    main()
