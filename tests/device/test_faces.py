import os

import cv2
import numpy as np
import pytest

from edgefer.core.errors import EdgeferError
from edgefer.device.blazeface import Detection
from edgefer.device.faces import DETECTORS, make_detector, merge_detections
from edgefer.device.sources import SAMPLE_IMAGE


@pytest.mark.parametrize("name", DETECTORS)
def test_every_detector_finds_the_sample_face(name):
    detections = make_detector(name).detect(cv2.imread(SAMPLE_IMAGE))
    assert len(detections) == 1
    x, y, w, h = detections[0].box
    assert 90 < x + w / 2 < 160 and 40 < y + h / 2 < 110  # the astronaut's face, upper middle
    assert bool(detections[0].keypoints) == (name != "haar")


def test_a_huge_frame_is_detected_on_a_smaller_copy_and_mapped_back():
    photo = cv2.imread(SAMPLE_IMAGE)
    huge = cv2.resize(photo, None, fx=10, fy=10, interpolation=cv2.INTER_LINEAR)  # 3200 x 3200
    small = make_detector().detect(photo)[0]
    big = make_detector().detect(huge)[0]
    assert np.abs(np.array(big.box) / 10 - small.box).max() < 3


def test_tiles_find_small_faces_in_a_crowd_frame():
    face = cv2.imread(SAMPLE_IMAGE)[20:140, 90:190]  # the sample's face, 100 x 120
    crowd = np.full((1080, 1920, 3), 120, np.uint8)
    spots = [(100, 100), (700, 300), (1500, 800), (300, 850), (1200, 150)]
    for x, y in spots:
        crowd[y:y + 120, x:x + 100] = face
    assert make_detector(min_size=10).detect(crowd) == []  # 6 px faces in the whole frame's model input
    tiled = make_detector(min_size=10, tiles=3).detect(crowd)
    assert len(tiled) == len(spots)
    for x, y in spots:
        assert any(abs(d.box[0] + d.box[2] / 2 - x - 50) < 15 and abs(d.box[1] + d.box[3] / 2 - y - 60) < 15 for d in tiled)


def test_merge_keeps_the_best_of_overlapping_detections():
    a, b, c = Detection([0, 0, 20, 20], 0.7, {}), Detection([2, 0, 20, 20], 0.9, {}), Detection([50, 50, 10, 10], 0.6, {})
    assert merge_detections([a, b, c]) == [b, c]


def test_unknown_detector_is_refused():
    with pytest.raises(EdgeferError, match="unknown detector 'yolo'"):
        make_detector("yolo")


# Portraits of expressions-wild (news photos, 350x350 or small web photos, soft, mostly grey): the
# first nine are missed by the full-range model alone, the last two found by it.
PORTRAITS = ("Juan_Pablo_Montoya_0006", "Paul_Bremer_0006", "Carlos_Menem_0007", "Jayamadhuri_192", "Dileep_78",
             "Hu_Jintao_0001", "George_HW_Bush_0008", "Mike_Weir_0003", "Nadia_Petrova_0003",
             "Vladimir_Putin_0001", "Jayamadhuri_94")


def portraits(real_photos):
    return [cv2.imread(os.path.join(real_photos, "expressions-wild", "images", f"{name}.jpg")) for name in PORTRAITS]


def test_the_default_detector_finds_the_one_face_of_every_close_up_portrait(real_photos):
    detector = make_detector()
    for i, (name, photo) in enumerate(zip(PORTRAITS, portraits(real_photos))):
        faces = detector.detect(photo)
        assert len(faces) == 1, name
        assert faces[0].detector == ("blazeface-short" if i < 9 else "blazeface-full"), name
        x, y, w, h = faces[0].box
        height, width = photo.shape[:2]
        assert abs(x + w / 2 - width / 2) < width / 4 and abs(y + h / 2 - height / 2) < height / 4, name
        assert w > width / 2, name  # a close-up: the face fills much of the frame


def test_the_full_range_model_alone_misses_most_close_up_portraits(real_photos):
    full = make_detector("blazeface-full")
    assert sum(bool(full.detect(photo)) for photo in portraits(real_photos)) <= 3


def sample_face_filling(fraction, width=640, height=480):
    """The sample's face (brows to chin, 65 px) scaled to ``fraction`` of a grey frame's height."""
    photo = cv2.imread(SAMPLE_IMAGE)
    scale = fraction * height / 65
    big = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    cx, cy = int((109 + 32) * scale), int((44 + 32) * scale)  # the face's centre in the enlarged photo
    frame = np.full((height, width, 3), 110, np.uint8)
    top, left = cy - height // 2, cx - width // 2
    y0, x0 = max(0, top), max(0, left)
    part = big[y0:top + height, x0:left + width]
    frame[y0 - top:y0 - top + part.shape[0], x0 - left:x0 - left + part.shape[1]] = part
    return frame


@pytest.mark.parametrize("fraction", [0.4, 0.7, 1.0])
def test_the_sample_face_is_found_once_at_every_size(fraction):
    faces = make_detector().detect(sample_face_filling(fraction))
    assert len(faces) == 1
    x, y, w, h = faces[0].box
    assert abs(x + w / 2 - 320) < 60 and abs(y + h / 2 - 240) < 60
    assert 0.7 * fraction * 480 < h < 1.6 * fraction * 480


def test_each_detection_names_the_model_that_found_it():
    photo = cv2.imread(SAMPLE_IMAGE)
    for name in DETECTORS:
        found = make_detector(name).detect(photo)
        expected = {"blazeface-full"} if name == "blazeface" else {name}  # both find it; the full-range box is kept
        assert {d.detector for d in found} == expected
