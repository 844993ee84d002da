import pytest

from edgefer.device.tracking import FaceTracker, iou


def test_iou_of_known_boxes():
    assert iou([0, 0, 10, 10], [0, 0, 10, 10]) == 1.0
    assert iou([0, 0, 10, 10], [5, 0, 10, 10]) == pytest.approx(50 / 150)
    assert iou([0, 0, 10, 10], [20, 20, 5, 5]) == 0.0


def test_tracker_keeps_ids_and_smooths():
    tracker = FaceTracker(window=3)
    a, b = [10, 10, 50, 50], [200, 10, 50, 50]
    first = tracker.update([a, b], [[1.0, 0.0], [0.0, 1.0]])
    second = tracker.update([[b[0] + 4, 12, 50, 50], [a[0] + 3, 11, 50, 50]], [[0.0, 1.0], [0.0, 1.0]])
    assert [t for t, _ in first] == [0, 1]
    assert [t for t, _ in second] == [1, 0]  # matched by overlap, not by order
    smoothed_a = second[1][1]
    assert smoothed_a[0] == pytest.approx(0.5) and smoothed_a[1] == pytest.approx(0.5)  # alpha = 2 / (3 + 1)


def test_a_lost_face_gets_a_new_id_after_max_missed_frames():
    tracker = FaceTracker(window=1, max_missed=2)
    box = [0, 0, 20, 20]
    assert tracker.update([box], [[1.0]])[0][0] == 0
    for _ in range(2):
        tracker.update([], [])
    assert tracker.update([box], [[1.0]])[0][0] == 0  # seen again within max_missed
    for _ in range(3):
        tracker.update([], [])
    assert tracker.update([box], [[1.0]])[0][0] == 1


def test_window_one_means_no_smoothing():
    tracker = FaceTracker(window=1)
    tracker.update([[0, 0, 20, 20]], [[1.0, 0.0]])
    assert tracker.update([[0, 0, 20, 20]], [[0.0, 1.0]])[0][1].tolist() == [0.0, 1.0]
