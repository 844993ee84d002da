import cv2
import numpy as np
import pytest

from edgefer.core.errors import EdgeferError
from edgefer.device.blazeface import Detection
from edgefer.device.faces import make_detector
from edgefer.device.framing import CropGeometry, aligned_crop, eye_angle, margin_crop
from edgefer.device.sources import SAMPLE_IMAGE

# measured: the sample turned by 20 degrees gives an aligned crop 9.2 grey levels (of 255) from
# the upright one on average; without alignment the crop is 45.5 away
ROTATION_TOLERANCE = 12.0


def gradient_frame():
    """A frame whose pixel value tells its position: value = x (columns 0-199)."""
    return np.tile(np.arange(200, dtype=np.uint8), (100, 1))


def test_margin_crop_without_margin_is_the_box_resized():
    crop = margin_crop(gradient_frame(), [40, 10, 48, 48], size=48, margin=0.0)
    assert np.abs(crop[0].astype(int) - np.arange(40, 88)).max() <= 1


def test_margin_grows_the_box_on_every_side():
    crop = margin_crop(gradient_frame(), [60, 20, 40, 40], size=60, margin=0.25)  # 10 px a side -> 60 px
    assert abs(int(crop[0, 0]) - 50) <= 1 and abs(int(crop[0, -1]) - 109) <= 1


def test_parts_outside_the_frame_replicate_the_border():
    crop = margin_crop(gradient_frame(), [-10, -10, 40, 40], size=40, margin=0.0)
    assert crop.shape == (40, 40) and (crop[:, :10] <= 1).all() and crop[0, 20] >= 9


def test_geometry_places_the_box_centre_and_size_without_alignment():
    frame = np.zeros((200, 200), np.uint8)
    frame[90:110, 90:110] = 255  # a bright 20 px square on the box centre (100, 100)
    geometry = CropGeometry("test", box_size=0.5, centre=(0.5, 0.25), align=False)
    crop = aligned_crop(frame, Detection([80, 80, 40, 40], 1.0, {}), geometry, size=40)
    # the box (40 px) is half the crop's side (80 frame px -> 40 px: scale 0.5), its centre at (20, 10)
    rows = np.flatnonzero(crop[:, 20] > 128)
    cols = np.flatnonzero(crop[10] > 128)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (5, 14, 15, 24)


def test_eye_angle_reads_the_keypoints():
    level = Detection([0, 0, 10, 10], 1.0, {"right_eye": (0, 0), "left_eye": (10, 0)})
    tilted = Detection([0, 0, 10, 10], 1.0, {"right_eye": (0, 0), "left_eye": (10, 10)})
    assert eye_angle(level) == 0.0 and eye_angle(tilted) == pytest.approx(45.0)
    assert eye_angle(Detection([0, 0, 10, 10], 1.0, {})) == 0.0


def test_a_face_rotated_20_degrees_gives_an_aligned_crop_close_to_the_upright_one():
    photo = cv2.imread(SAMPLE_IMAGE)
    finder = make_detector()
    geometry = CropGeometry("blazeface-full", 0.85, (0.5, 0.45))
    upright_detection = finder.detect(photo)[0]
    upright = aligned_crop(photo, upright_detection, geometry).astype(float)
    x, y, w, h = upright_detection.box
    turned = cv2.warpAffine(photo, cv2.getRotationMatrix2D((x + w / 2, y + h / 2), 20, 1.0), photo.shape[1::-1],
                            borderMode=cv2.BORDER_REPLICATE)
    detection = finder.detect(turned)[0]
    assert abs(eye_angle(detection) - eye_angle(upright_detection) + 20) < 5
    aligned = aligned_crop(turned, detection, geometry).astype(float)
    unaligned = aligned_crop(turned, detection, CropGeometry("x", 0.85, (0.5, 0.5), align=False)).astype(float)
    assert np.abs(aligned - upright).mean() < ROTATION_TOLERANCE < np.abs(unaligned - upright).mean()


def test_geometry_round_trips_through_metadata_and_refuses_nonsense():
    geometry = CropGeometry("blazeface-full", 0.85, (0.5, 0.45))
    assert CropGeometry.from_metadata(geometry.to_metadata(), "m") == geometry
    with pytest.raises(EdgeferError, match="crop geometry"):
        CropGeometry.from_metadata({"detector": "x", "box_size": "big"}, "m")
    with pytest.raises(EdgeferError, match="out of range"):
        CropGeometry.from_metadata({"detector": "x", "box_size": 100, "centre": [0.5, 0.5]}, "m")
