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
