import cv2
import numpy as np
import pytest

from edgefer.device.blazeface import SPECS, BlazeFaceDetector, anchor_centres, decode, letterbox, weighted_nms
from edgefer.device.sources import SAMPLE_IMAGE


@pytest.mark.parametrize("variant, count", [("blazeface-full", 2304), ("blazeface-short", 896)])
def test_anchor_layout_matches_the_models_outputs(variant, count):
    anchors = anchor_centres(SPECS[variant])
    assert anchors.shape == (count, 2)
    detector = BlazeFaceDetector(variant)
    assert detector.interpreter.get_tensor(detector.boxes_output).shape[1] == count


def test_short_range_anchors_are_two_per_cell_then_six_per_cell():
    anchors = anchor_centres(SPECS["blazeface-short"])
    assert anchors[0].tolist() == anchors[1].tolist() == [0.5 / 16, 0.5 / 16]
    assert anchors[2].tolist() == [1.5 / 16, 0.5 / 16]  # row-major: x moves first
    assert (anchors[512:518] == [0.5 / 8, 0.5 / 8]).all()  # the 8x8 grid carries 3 layers x 2 anchors


def test_decode_adds_offsets_to_anchor_centres_and_applies_the_sigmoid():
    anchors = np.array([[0.25, 0.5], [0.75, 0.5]], np.float32)
    raw = np.zeros((2, 16), np.float32)
    raw[1, :4] = [12.8, -6.4, 32.0, 64.0]  # in input pixels of a 128 px model
    raw[1, 4:6] = [-12.8, 0.0]  # right eye 0.1 left of the anchor
    scores, values = decode(raw, np.array([-2.0, 3.0], np.float32), anchors, 128, 0.5)
    assert scores.tolist() == pytest.approx([1 / (1 + np.exp(-3.0))])
    assert values[0, :6].tolist() == pytest.approx([0.85, 0.45, 0.25, 0.5, 0.65, 0.5])


def test_weighted_nms_merges_overlapping_boxes_by_score():
    values = np.zeros((3, 16), np.float32)
    values[:, :4] = [[0.5, 0.5, 0.2, 0.2], [0.52, 0.5, 0.2, 0.2], [0.1, 0.1, 0.1, 0.1]]
    merged = weighted_nms(np.array([0.9, 0.6, 0.8]), values)
    assert [round(score, 2) for score, _ in merged] == [0.9, 0.8]
    assert merged[0][1][0] == pytest.approx((0.5 * 0.9 + 0.52 * 0.6) / 1.5)


def test_letterbox_pads_without_stretching():
    frame = np.full((100, 200, 3), 255, np.uint8)
    boxed = letterbox(frame, 64)
    assert boxed.shape == (64, 64, 3)
    assert boxed[:15].max() == 0 and boxed[17:47].min() == 255 and boxed[49:].max() == 0


def test_the_sample_face_matches_a_hand_checked_detection():
    """Checked by eye on a 5x enlargement: box brows to chin, keypoints on the pupils and mouth."""
    detection = BlazeFaceDetector("blazeface-full").detect(cv2.imread(SAMPLE_IMAGE))
    assert len(detection) == 1
    box, points = detection[0].box, detection[0].keypoints
    assert np.abs(np.array(box) - [109, 44, 65, 65]).max() <= 3
    for name, (x, y) in {"right_eye": (128, 64), "left_eye": (154, 66), "mouth": (139, 92)}.items():
        assert abs(points[name][0] - x) <= 3 and abs(points[name][1] - y) <= 3, (name, points[name])
    assert detection[0].score > 0.8


@pytest.mark.parametrize("variant", list(SPECS))
def test_a_non_square_frame_keeps_the_face_where_it_is(variant):
    photo = cv2.imread(SAMPLE_IMAGE)[0:180, 50:230]
    wide = cv2.copyMakeBorder(photo, 0, 0, 120, 60, cv2.BORDER_CONSTANT, value=(90, 90, 90))
    square = BlazeFaceDetector(variant).detect(photo)[0]
    shifted = BlazeFaceDetector(variant).detect(wide)[0]
    tolerance = 0.1 * square.box[2]  # the face is smaller in the wide frame's model input
    assert abs(shifted.box[0] - 120 - square.box[0]) <= tolerance and abs(shifted.box[1] - square.box[1]) <= tolerance
    assert abs(shifted.box[2] - square.box[2]) <= tolerance
