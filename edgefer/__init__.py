"""edgefer: facial emotion recognition from a training host to small devices."""

__version__ = "0.1.0"
