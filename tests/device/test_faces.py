import cv2
import numpy as np

from edgefer.device.faces import FaceDetector, crop_face
from edgefer.device.sources import SAMPLE_IMAGE


def test_detector_and_crop_on_a_real_photo():
    photo = cv2.imread(SAMPLE_IMAGE)
    boxes = FaceDetector().detect(photo)
    assert len(boxes) == 1
    x, y, w, h = boxes[0]
    assert 90 < x + w / 2 < 160 and 40 < y + h / 2 < 110  # the astronaut's face, upper middle
    crop = crop_face(photo, boxes[0], 48)
    assert crop.shape == (48, 48) and crop.dtype == np.uint8


def gradient_frame():
    """A frame whose pixel value tells its position: value = x (columns 0-199)."""
    return np.tile(np.arange(200, dtype=np.uint8), (100, 1))


def test_crop_without_margin_is_the_box_resized():
    crop = crop_face(gradient_frame(), [40, 10, 48, 48], size=48, margin=0.0)
    assert crop[0].tolist() == list(range(40, 88))


def test_margin_grows_the_box_on_every_side():
    crop = crop_face(gradient_frame(), [60, 20, 40, 40], size=60, margin=0.25)  # 10 px a side -> 60 px
    assert crop[0, 0] == 50 and crop[0, -1] == 109


def test_parts_outside_the_frame_replicate_the_border():
    crop = crop_face(gradient_frame(), [-10, -10, 40, 40], size=40, margin=0.0)
    assert crop.shape == (40, 40)
    assert (crop[:, :11] == 0).all() and crop[0, 11] == 1

