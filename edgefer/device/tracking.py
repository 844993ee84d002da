"""Per-face temporal smoothing: a greedy IoU tracker with an exponential moving average of scores."""

import numpy as np

from edgefer.device.blazeface import box_iou, xywh_corners


def iou(a, b) -> float:
    """Intersection over union of two [x, y, w, h] boxes."""
    return float(box_iou(xywh_corners([a])[0], xywh_corners([b]))[0])


class Track:
    def __init__(self, track_id, box, scores):
        self.id, self.box, self.scores, self.missed = track_id, box, scores, 0


class FaceTracker:
    """Matches each frame's boxes to existing tracks by IoU and smooths their scores.

    ``window`` is the EMA span in frames (1 = no smoothing): alpha = 2 / (window + 1). A track
    unseen for ``max_missed`` frames is dropped.
    """

    def __init__(self, window=5, min_iou=0.3, max_missed=5):
        self.alpha = 2.0 / (max(1, window) + 1)
        self.min_iou, self.max_missed = min_iou, max_missed
        self.tracks, self.next_id = [], 0

    def update(self, boxes, scores):
        """Boxes and raw score vectors of one frame -> list of (track id, smoothed scores)."""
        pairs = sorted(((iou(t.box, b), ti, bi) for ti, t in enumerate(self.tracks) for bi, b in enumerate(boxes)),
                       reverse=True)
        matched_tracks, assignment = set(), {}
        for overlap, ti, bi in pairs:
            if overlap < self.min_iou:
                break
            if ti not in matched_tracks and bi not in assignment:
                matched_tracks.add(ti)
                assignment[bi] = ti
        results = []
        for bi, (box, score) in enumerate(zip(boxes, scores)):
            score = np.asarray(score, dtype=np.float32)
            if bi in assignment:
                track = self.tracks[assignment[bi]]
                track.scores = self.alpha * score + (1 - self.alpha) * track.scores
                track.box, track.missed = box, 0
            else:
                track = Track(self.next_id, box, score)
                self.next_id += 1
                self.tracks.append(track)
                matched_tracks.add(len(self.tracks) - 1)
            results.append((track.id, track.scores))
        for ti, track in enumerate(self.tracks):
            if ti not in matched_tracks:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        return results
