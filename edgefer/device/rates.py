"""How fast a run goes, honestly: frames processed per second, and what the pipeline could do."""

import collections

WINDOW_SECONDS = 5.0


class Rates:
    """Two honest rates over the last ``window`` seconds: frames processed per second (what a
    viewer sees), and the pipeline's capacity, 1 / its mean processing time per frame (what it
    could do if frames came faster)."""

    def __init__(self, window: float = WINDOW_SECONDS):
        self.window = window
        self.recent = collections.deque()  # (end time, processing seconds) of each frame

    def add(self, end: float, seconds: float) -> None:
        self.recent.append((end, seconds))
        while self.recent[0][0] < end - self.window:
            self.recent.popleft()

    @property
    def frames_per_second(self) -> float:
        if len(self.recent) < 2:
            return 0.0
        span = self.recent[-1][0] - self.recent[0][0]
        return (len(self.recent) - 1) / span if span > 0 else 0.0

    @property
    def capacity(self) -> float:
        busy = sum(seconds for _, seconds in self.recent)
        return len(self.recent) / busy if busy > 0 else 0.0

    def as_dict(self) -> dict:
        return {"frames_per_second": round(self.frames_per_second, 2), "capacity_fps": round(self.capacity, 2)}
