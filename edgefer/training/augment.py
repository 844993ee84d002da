"""The training augmentations, one face at a time (H, W, C) float32 in [0, 255]: the paper's crop,
flip and jitter, a detector's framing errors, random erasing, and a camera's blur and JPEG losses."""

import numpy as np
import tensorflow as tf


def augment(image):
    """The paper's augmentation: random crop (reflect-pad a twelfth of the side, 4 px of 48, and
    crop back), horizontal flip, brightness/contrast jitter."""
    side, channels = image.shape[0], image.shape[-1]
    pad = max(1, round(side / 12))
    padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    image = tf.image.random_crop(padded, [side, side, channels])
    return flip_and_jitter(image)


def flip_and_jitter(image):
    """Random horizontal flip, brightness and contrast in [0.8, 1.2]."""
    image = tf.image.random_flip_left_right(image)
    image = image * tf.random.uniform([], 0.8, 1.2)
    mean = tf.reduce_mean(image)
    image = (image - mean) * tf.random.uniform([], 0.8, 1.2) + mean
    return tf.clip_by_value(image, 0.0, 255.0)


def detector_jitter(image, scale=0.15, shift=0.10, degrees=15.0):
    """Move the face as a detector's crop errors would: zoom by 1 +- ``scale``, shift by up to
    ``shift`` of the side, rotate by up to ``degrees``; borders are reflected."""
    side = float(image.shape[0])
    zoom = tf.random.uniform([], 1 - scale, 1 + scale)
    angle = tf.random.uniform([], -degrees, degrees) * np.pi / 180
    tx, ty = tf.unstack(tf.random.uniform([2], -shift, shift) * side)
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    centre = (side - 1) / 2
    # output pixel -> input pixel: inverse rotation and zoom about the centre, after the shift
    ox, oy = centre + tx, centre + ty
    transform = tf.stack([cos, sin, centre - cos * ox - sin * oy,
                          -sin, cos, centre + sin * ox - cos * oy, 0.0, 0.0])
    moved = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform[None], output_shape=[image.shape[0], image.shape[1]],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")
    return flip_and_jitter(moved[0])


def random_erase(image, p):
    """With probability ``p``, fill one rectangle (2-20% of the face, aspect 1:3 to 3:1) with noise."""
    side = image.shape[0]
    area = tf.random.uniform([], 0.02, 0.2) * side * side
    aspect = tf.exp(tf.random.uniform([], np.log(1 / 3), np.log(3)))
    h = tf.cast(tf.clip_by_value(tf.sqrt(area * aspect), 1, side), tf.int32)
    w = tf.cast(tf.clip_by_value(tf.sqrt(area / aspect), 1, side), tf.int32)
    top = tf.random.uniform([], 0, side - h + 1, tf.int32)
    left = tf.random.uniform([], 0, side - w + 1, tf.int32)
    rows, cols = tf.range(side)[:, None], tf.range(side)[None, :]
    box = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
    box = box[..., None] & (tf.random.uniform([]) < p)
    return tf.where(box, tf.random.uniform(tf.shape(image), 0, 255), image)


def gaussian_blur(image, sigma, radius=5):
    """``image`` (H, W, C) blurred by a Gaussian of ``sigma`` pixels (separable, each channel alone,
    reflected borders)."""
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(x / sigma))
    kernel /= tf.reduce_sum(kernel)
    planes = tf.transpose(image, [2, 0, 1])[..., None]  # (C, H, W, 1)
    padded = tf.pad(planes, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    rows = tf.nn.conv2d(padded, tf.reshape(kernel, [-1, 1, 1, 1]), 1, "VALID")
    blurred = tf.nn.conv2d(rows, tf.reshape(kernel, [1, -1, 1, 1]), 1, "VALID")
    return tf.transpose(blurred[..., 0], [1, 2, 0])


def degrade(image, p):
    """A camera's losses: with probability ``p`` a Gaussian blur (sigma 0.4-2.0 px), and independently
    with probability ``p`` JPEG compression (quality 20-95)."""
    sigma = tf.random.uniform([], 0.4, 2.0)
    image = tf.cond(tf.random.uniform([]) < p, lambda: gaussian_blur(image, sigma), lambda: image)
    quality = tf.random.uniform([], 20, 96, tf.int32)
    compressed = lambda: tf.image.adjust_jpeg_quality(image / 255.0, quality) * 255.0  # noqa: E731
    return tf.cond(tf.random.uniform([]) < p, compressed, lambda: image)
