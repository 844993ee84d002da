"""The one place a device pipeline is built from its settings."""

from edgefer.device.faces import make_detector
from edgefer.device.pipeline import EmotionPipeline
from edgefer.device.profiles import DeviceSettings
from edgefer.device.runtime import Classifier


def assemble(settings: DeviceSettings) -> EmotionPipeline:
    """Classifier, face detector and tracker as ``settings`` say."""
    classifier = Classifier(settings.model_path, delegate=settings.delegate, threads=settings.threads)
    finder = make_detector(settings.detector, settings.min_score, settings.min_face, settings.tiles, settings.threads)
    return EmotionPipeline(classifier, finder, margin=settings.margin, smooth=settings.smooth)
