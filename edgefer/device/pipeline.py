"""One frame in, every face with its emotion out: detector -> crop -> classifier -> tracker."""

from edgefer.device.faces import FaceDetector, crop_face
from edgefer.device.tracking import FaceTracker


class EmotionPipeline:
    """Holds the classifier, the face detector and the tracker for a stream of frames."""

    def __init__(self, classifier, min_face=40, margin=0.1, smooth=5):
        self.classifier = classifier
        self.detector = FaceDetector(min_size=min_face)
        self.tracker = FaceTracker(window=smooth)
        self.margin = margin

    def process(self, frame):
        """A list of {"id", "box", "emotion", "score", "scores"} for the faces in ``frame``."""
        boxes = self.detector.detect(frame)
        if not boxes:
            self.tracker.update([], [])
            return []
        crops = [crop_face(frame, box, self.classifier.face_size, self.margin) for box in boxes]
        probs = self.classifier.predict(crops)
        labels = self.classifier.labels
        faces = []
        for box, (track_id, scores) in zip(boxes, self.tracker.update(boxes, probs)):
            best = int(scores.argmax())
            faces.append({
                "id": track_id,
                "box": box,
                "emotion": labels[best],
                "score": round(float(scores[best]), 4),
                "scores": {label: round(float(p), 4) for label, p in zip(labels, scores)},
            })
        return faces
