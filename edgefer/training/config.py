"""What defines a training run, without TensorFlow: ``TrainConfig`` (saved as a run's
``config.json``), the strategy and class-weight names, and the defaults a transfer run takes.
The command line reads its defaults from here."""

from dataclasses import dataclass

STRATEGIES = ("auto", "single", "mirrored", "multi-worker")  # see edgefer.training.strategy
CLASS_WEIGHT_MODES = ("balanced", "sqrt", "none")  # see edgefer.training.train.class_weight_vector


@dataclass
class TrainConfig:
    """Everything that defines a run; saved as ``config.json``."""

    data: str
    backbone: str = "efficientnet-lite0"
    weights: str = "imagenet"
    image_size: int = 0  # 0: the backbone's registered size
    epochs: int = 12
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    class_weights: str = "balanced"  # one of CLASS_WEIGHT_MODES
    augment: bool = True
    geometric: bool = False  # detector-like crop errors instead of the paper's random crop
    erase: float = 0.0  # probability of random erasing
    limit: int = 0
    seed: int = 0
    ferplus_mode: str = "majority"
    strategy: str = "auto"  # one of STRATEGIES
    teachers: tuple = ()  # TFLite models whose mean probabilities the student learns (distillation)
    distill: float = 0.7  # the teachers' weight in the targets
    consistent_teacher: bool = False  # the teachers answer on each augmented face, not once on the clean ones
    degrade: float = 0.0  # probability of each of blur and JPEG compression
    votes: str = ""  # a FER+ folder whose crowd votes are blended into the FER2013 training labels
    votes_weight: float = 0.5  # the votes' weight in a face's own targets
    head_kernel: int = 3  # side of the head's convolution kernel (3: the paper's)
    freeze: int = 0  # backbone stages kept as they start, after the stem (0: train everything)
    stages: int = 7  # block stages of the backbone kept (7: all of them)
    keep_epochs: bool = False  # each epoch's weights saved in epochs/, for ``edgefer average``
    val_share: float = 0.2  # prepared datasets without a val split: the share of people held out to pick the epoch
    folds: int = 0  # prepared datasets: K-fold cross-validation by person (``training.folds``)
    fold: int = 0  # with ``folds``: the fold held out as this run's test split (1..K)
    patience: int = 0  # stop after this many epochs without a better val accuracy (0: never)

    @classmethod
    def from_saved(cls, saved):
        """The config of a saved run, leaving out settings this version no longer has (a run saved
        with one ``teacher`` gets it as its ``teachers``)."""
        fields = {k: v for k, v in saved.items() if k in cls.__dataclass_fields__}
        single = [saved["teacher"]] if saved.get("teacher") else []
        return cls(**{**fields, "teachers": tuple(fields.get("teachers", single))})


# what suits a few hundred faces when a shipped model's network is the start (``--weights fer2013-lite0``)
TRANSFER_DEFAULTS = {"epochs": 10, "lr": 1e-4, "batch_size": 32, "freeze": 3, "patience": 3}
