"""Draw results on a frame: a box per face, its emotion and probability bars, and the rates."""

import cv2

_GREEN, _WHITE, _BLACK = (60, 200, 60), (255, 255, 255), (0, 0, 0)


def draw_faces(frame, faces, rates=None):
    """Annotate ``frame`` in place with ``faces`` (``pipeline.Face``: box, emotion, score, scores) and, at
    the bottom left, the frame rate and capacity of ``rates`` (``rates.Rates``)."""
    for face in faces:
        x, y, w, h = face.box
        cv2.rectangle(frame, (x, y), (x + w, y + h), _GREEN, 2)
        text = f"{face.emotion} {face.score:.2f}"
        cv2.putText(frame, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _BLACK, 3, cv2.LINE_AA)
        cv2.putText(frame, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _WHITE, 1, cv2.LINE_AA)
        bar_x, bar_y = x + w + 6, y
        if bar_x + 110 > frame.shape[1]:
            bar_x = max(0, x - 116)
        panel_bottom = bar_y + 12 * len(face.scores) + 2
        cv2.rectangle(frame, (bar_x - 3, bar_y - 3), (bar_x + 112, panel_bottom), (40, 40, 40), -1)
        for i, (label, p) in enumerate(face.scores.items()):
            top = bar_y + i * 12
            cv2.rectangle(frame, (bar_x, top), (bar_x + int(50 * p), top + 9), _GREEN, -1)
            cv2.putText(frame, label[:8], (bar_x + 54, top + 9), cv2.FONT_HERSHEY_SIMPLEX, 0.35, _WHITE, 1, cv2.LINE_AA)
    if rates is not None:
        text = f"{rates.frames_per_second:.1f} fps (capacity {rates.capacity:.0f})"
        bottom = frame.shape[0] - 8
        cv2.putText(frame, text, (8, bottom), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _BLACK, 3, cv2.LINE_AA)
        cv2.putText(frame, text, (8, bottom), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _WHITE, 1, cv2.LINE_AA)
    return frame
