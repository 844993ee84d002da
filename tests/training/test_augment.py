"""The training augmentations that imitate a camera: blur and JPEG compression."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

from edgefer.training.augment import degrade, gaussian_blur  # noqa: E402


def face():
    rng = np.random.default_rng(0)
    return tf.constant(rng.integers(0, 256, (48, 48, 1)).astype(np.float32))


def test_blur_spreads_a_point_symmetrically_and_keeps_its_sum():
    image = np.zeros((48, 48, 1), np.float32)
    image[24, 24] = 1000.0
    blurred = gaussian_blur(tf.constant(image), 1.0).numpy()[..., 0]
    assert blurred.sum() == pytest.approx(1000.0, rel=1e-4)
    assert blurred[24, 24] == pytest.approx(1000.0 / (2 * np.pi), rel=0.03)  # Gaussian peak for sigma 1
    row = blurred[24, 19:30]  # the point +- 5 pixels
    assert np.allclose(blurred, blurred.T, atol=1e-3) and np.allclose(row, row[::-1], atol=1e-3)


def test_degrade_is_identity_at_zero_and_loses_detail_at_one():
    image = face()
    assert np.array_equal(degrade(image, 0.0).numpy(), image.numpy())
    tf.random.set_seed(0)
    out = degrade(image, 1.0).numpy()
    assert out.shape == (48, 48, 1) and out.min() >= 0 and out.max() <= 255
    detail = lambda x: np.abs(np.diff(x[..., 0], axis=1)).mean()  # noqa: E731
    assert detail(out) < 0.7 * detail(image.numpy())
