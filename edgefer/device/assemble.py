"""The one place a device pipeline is built from its settings."""

from edgefer.device.drift import DriftMonitor
from edgefer.device.faces import make_detector
from edgefer.device.pipeline import EmotionPipeline
from edgefer.device.profiles import DeviceSettings
from edgefer.device.runtime import Classifier


def assemble(settings: DeviceSettings) -> EmotionPipeline:
    """Classifier, face detector and tracker as ``settings`` say, and the float model shadowing the
    classifier when ``settings.drift_model`` names one (on the CPU, whatever runs the classifier)."""
    classifier = Classifier(settings.model_path, delegate=settings.delegate, threads=settings.threads)
    finder = make_detector(settings.detector, settings.min_score, settings.min_face, settings.tiles, settings.threads)
    pipeline = EmotionPipeline(classifier, finder, margin=settings.margin, smooth=settings.smooth)
    if settings.drift_model:
        pipeline.shadow = DriftMonitor(Classifier(settings.drift_model, threads=settings.threads), classifier,
                                       settings.drift_every, settings.drift_min_agreement)
    return pipeline
