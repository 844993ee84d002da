"""``edgefer train``: fine-tune a registered backbone with the paper's head on a FER dataset.

A run folder holds everything: ``config.json`` (written first), ``checkpoint.keras`` and
``state.json`` after every epoch (so ``--resume`` continues an interrupted run), ``history.csv``,
``curves.png``, ``model.keras`` (the epoch with the best validation accuracy), and for the
validation split ``metrics.json`` and ``confusion.png``; with ``keep_epochs`` also
``epochs/epoch-NN.npz``, every epoch's weights (for ``edgefer average``).
"""

import csv
import hashlib
import io
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, replace

import keras
import numpy as np
import tensorflow as tf

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_folder, read_json, write_json, write_text, write_with
from edgefer.core.metadata import read_metadata
from edgefer.core.plots import curves_png
from edgefer.data.datasets import FER2013_LABELS, load_dataset, stratified_indices
from edgefer.data.subjects import person_splits, split_record
from edgefer.data.votes import ferplus_votes, with_votes
from edgefer.training.backbones import get_backbone
from edgefer.training.config import TrainConfig
from edgefer.training.distill import Teachers, cached_teacher_probabilities, distilled
from edgefer.training.evaluate import write_split_metrics
from edgefer.training.model import build_classifier, check_finite, freeze_early_stages, load_model, with_channels
from edgefer.training.multi_worker import fit_multi_worker
from edgefer.training.runs import SPLITS_FILE
from edgefer.training.strategy import choose_strategy
from edgefer.training.twin import transfer_classifier, twin_path

BACKUP = "backup"  # multi-worker backups inside the run (or worker) folder
TEACHER_CACHE = "teacher-probabilities.npy"  # the teachers' answers on the training faces
EPOCHS_FOLDER = "epochs"  # with keep_epochs: epoch-NN.npz, each epoch's weights


@keras.saving.register_keras_serializable("edgefer")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to ``max_lr`` over the first ``warmup`` fraction of steps, then cosine
    decay to ``max_lr / 1000``."""

    def __init__(self, max_lr, total_steps, warmup=0.3):
        self.max_lr, self.total_steps, self.warmup = float(max_lr), int(total_steps), float(warmup)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = tf.maximum(1.0, self.warmup * self.total_steps)
        rise = self.max_lr * (0.04 + 0.96 * step / warm)
        progress = tf.clip_by_value((step - warm) / tf.maximum(1.0, self.total_steps - warm), 0.0, 1.0)
        fall = self.max_lr * (0.001 + 0.999 * 0.5 * (1 + tf.cos(np.pi * progress)))
        return tf.where(step < warm, rise, fall)

    def get_config(self):
        return {"max_lr": self.max_lr, "total_steps": self.total_steps, "warmup": self.warmup}


def class_weight_vector(labels, n_classes, mode):
    """Per-class loss weights: ``balanced`` = N / (C * n_c), ``sqrt`` its square root, ``none`` ones."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    balanced = counts.sum() / (n_classes * np.maximum(counts, 1))
    return {"balanced": balanced, "sqrt": np.sqrt(balanced), "none": np.ones(n_classes)}[mode]


def augment(image):
    """The paper's augmentation: random crop (reflect-pad a twelfth of the side, 4 px of 48, and
    crop back), horizontal flip, brightness/contrast jitter."""
    side, channels = image.shape[0], image.shape[-1]
    pad = max(1, round(side / 12))
    padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    image = tf.image.random_crop(padded, [side, side, channels])
    return flip_and_jitter(image)


def flip_and_jitter(image):
    """Random horizontal flip, brightness and contrast in [0.8, 1.2]."""
    image = tf.image.random_flip_left_right(image)
    image = image * tf.random.uniform([], 0.8, 1.2)
    mean = tf.reduce_mean(image)
    image = (image - mean) * tf.random.uniform([], 0.8, 1.2) + mean
    return tf.clip_by_value(image, 0.0, 255.0)


def detector_jitter(image, scale=0.15, shift=0.10, degrees=15.0):
    """Move the face as a detector's crop errors would: zoom by 1 +- ``scale``, shift by up to
    ``shift`` of the side, rotate by up to ``degrees``; borders are reflected."""
    side = float(image.shape[0])
    zoom = tf.random.uniform([], 1 - scale, 1 + scale)
    angle = tf.random.uniform([], -degrees, degrees) * np.pi / 180
    tx, ty = tf.unstack(tf.random.uniform([2], -shift, shift) * side)
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    centre = (side - 1) / 2
    # output pixel -> input pixel: inverse rotation and zoom about the centre, after the shift
    ox, oy = centre + tx, centre + ty
    transform = tf.stack([cos, sin, centre - cos * ox - sin * oy,
                          -sin, cos, centre + sin * ox - cos * oy, 0.0, 0.0])
    moved = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None], transforms=transform[None], output_shape=[image.shape[0], image.shape[1]],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="REFLECT")
    return flip_and_jitter(moved[0])


def random_erase(image, p):
    """With probability ``p``, fill one rectangle (2-20% of the face, aspect 1:3 to 3:1) with noise."""
    side = image.shape[0]
    area = tf.random.uniform([], 0.02, 0.2) * side * side
    aspect = tf.exp(tf.random.uniform([], np.log(1 / 3), np.log(3)))
    h = tf.cast(tf.clip_by_value(tf.sqrt(area * aspect), 1, side), tf.int32)
    w = tf.cast(tf.clip_by_value(tf.sqrt(area / aspect), 1, side), tf.int32)
    top = tf.random.uniform([], 0, side - h + 1, tf.int32)
    left = tf.random.uniform([], 0, side - w + 1, tf.int32)
    rows, cols = tf.range(side)[:, None], tf.range(side)[None, :]
    box = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
    box = box[..., None] & (tf.random.uniform([]) < p)
    return tf.where(box, tf.random.uniform(tf.shape(image), 0, 255), image)


def gaussian_blur(image, sigma, radius=5):
    """``image`` (H, W, C) blurred by a Gaussian of ``sigma`` pixels (separable, each channel alone,
    reflected borders)."""
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(x / sigma))
    kernel /= tf.reduce_sum(kernel)
    planes = tf.transpose(image, [2, 0, 1])[..., None]  # (C, H, W, 1)
    padded = tf.pad(planes, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    rows = tf.nn.conv2d(padded, tf.reshape(kernel, [-1, 1, 1, 1]), 1, "VALID")
    blurred = tf.nn.conv2d(rows, tf.reshape(kernel, [1, -1, 1, 1]), 1, "VALID")
    return tf.transpose(blurred[..., 0], [1, 2, 0])


def degrade(image, p):
    """A camera's losses: with probability ``p`` a Gaussian blur (sigma 0.4-2.0 px), and independently
    with probability ``p`` JPEG compression (quality 20-95)."""
    sigma = tf.random.uniform([], 0.4, 2.0)
    image = tf.cond(tf.random.uniform([]) < p, lambda: gaussian_blur(image, sigma), lambda: image)
    quality = tf.random.uniform([], 20, 96, tf.int32)
    compressed = lambda: tf.image.adjust_jpeg_quality(image / 255.0, quality) * 255.0  # noqa: E731
    return tf.cond(tf.random.uniform([]) < p, compressed, lambda: image)


def make_dataset(split, n_classes, weights, batch_size, training, seed, augmented=True, geometric=False, erase=0.0,
                 degraded=0.0, teachers=None, distill=0.7):
    """tf.data pipeline over an in-memory split: (face, one-hot or soft target, sample weight).
    With ``teachers`` (a callable: faces in, probabilities out) each training batch's targets become
    ``distill * teachers(the augmented faces) + (1 - distill) * targets``."""
    targets = split.targets(n_classes)
    sample_weights = weights[split.labels].astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((with_channels(split.images), targets, sample_weights))
    if training:
        ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda x, y, w: (tf.cast(x, tf.float32), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and augmented:
        move = detector_jitter if geometric else augment
        ds = ds.map(lambda x, y, w: (move(x), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and degraded:
        ds = ds.map(lambda x, y, w: (degrade(x, degraded), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and erase:
        ds = ds.map(lambda x, y, w: (random_erase(x, erase), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)
    if training and teachers is not None:
        def consistent(x, y, w):
            answers = tf.numpy_function(teachers, [x], tf.float32, stateful=True)  # never run in parallel
            answers.set_shape(y.shape)
            return x, distill * answers + (1 - distill) * y, w

        ds = ds.map(consistent)  # sequential, so one call at a time reaches the interpreters
    return ds.prefetch(tf.data.AUTOTUNE)


def training_dataset(cfg, split, labels, weights, batch_size, seed):
    """The training pipeline a run's config asks for, with its teachers answering live when they are consistent."""
    teachers = Teachers(cfg.teachers, labels, threads=1) if cfg.teachers and cfg.consistent_teacher else None
    return make_dataset(split, len(labels), weights, batch_size, True, seed, cfg.augment, cfg.geometric, cfg.erase,
                        cfg.degrade, teachers, cfg.distill)


def _history_rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_history(path, rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, out.getvalue())


def history_columns(rows):
    return {k: [float(r[k]) for r in rows] for k in rows[0] if k != "epoch"}


class EpochRecord(keras.callbacks.Callback):
    """After each epoch: history.csv, curves.png, and ``kept`` (the trained model unless given)
    as model.keras when its validation accuracy is the best so far."""

    def __init__(self, run_dir, rows, best, title, kept=None):
        super().__init__()
        self.run_dir, self.rows, self.best, self.title, self.kept = run_dir, rows, best, title, kept

    def _path(self, name):
        return os.path.join(self.run_dir, name)

    def _save(self, model, name):
        write_with(self._path(name), model.save)

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch + 1, **{k: f"{float(v):.6f}" for k, v in (logs or {}).items()}})
        write_history(self._path("history.csv"), self.rows)
        curves_png(history_columns(self.rows), self._path("curves.png"), self.title)
        val = float((logs or {}).get("val_accuracy", -1))
        if val > self.best:
            self.best = val
            self._save(self.kept or self.model, "model.keras")


class RunCheckpoint(EpochRecord):
    """EpochRecord plus checkpoint.keras (with optimizer state) and state.json for --resume;
    with ``keep_epochs`` also each epoch's weights as epochs/epoch-NN.npz."""

    def __init__(self, *args, keep_epochs=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.keep_epochs = keep_epochs

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self._save(self.model, "checkpoint.keras")
        if self.keep_epochs:
            os.makedirs(self._path(EPOCHS_FOLDER), exist_ok=True)
            write_with(self._path(os.path.join(EPOCHS_FOLDER, f"epoch-{epoch + 1:02d}.npz")),
                       lambda path: np.savez(path, *self.model.get_weights()))
        write_json(self._path("state.json"), {"epochs_done": epoch + 1, "best_val_accuracy": self.best})


def training_splits(cfg, run_dir):
    """(dataset, train split, val split, per-class loss weights) for a run's config: FER+ votes
    blended into the labels when asked; teachers that answer once (not consistent ones) have their
    probabilities kept in ``run_dir``. A prepared dataset is split by person (``person_splits``)."""
    dataset = load_dataset(cfg.data, ("train", "val"), cfg.ferplus_mode)
    if dataset.prepared:
        dataset = person_splits(dataset, cfg.folds, cfg.fold, cfg.val_share, cfg.seed)
    train_split, val_split = dataset.split("train"), dataset.split("val")
    if cfg.limit:
        train_split = train_split.subset(stratified_indices(train_split.labels, cfg.limit, cfg.seed))
    if cfg.votes:
        if dataset.labels != FER2013_LABELS:
            raise EdgeferError(f"{cfg.data}: --votes blends FER+ votes into FER2013's seven classes; "
                               f"this dataset's classes are {', '.join(dataset.labels)}")
        votes = ferplus_votes(train_split.images, cfg.votes)
        print(f"FER+ votes found for {int((votes.sum(axis=1) > 0).sum())} of {len(train_split)} training faces",
              file=sys.stderr, flush=True)
        train_split = with_votes(train_split, votes, cfg.votes_weight)
    if cfg.teachers and not cfg.consistent_teacher:
        teacher = cached_teacher_probabilities(cfg.teachers, train_split.images, dataset.labels,
                                               os.path.join(run_dir, TEACHER_CACHE))
        train_split = distilled(train_split, teacher, cfg.distill)
    weights = class_weight_vector(train_split.labels, len(dataset.labels), cfg.class_weights)
    return dataset, train_split, val_split, weights


def _prepare_run(cfg, run_dir, resume):
    """Write config.json for a new run, or check and reload it for ``--resume``."""
    config_path = os.path.join(run_dir, "config.json")
    if resume:
        if not os.path.exists(os.path.join(run_dir, "state.json")):
            raise EdgeferError(f"{run_dir}: nothing to resume (no state.json)")
        return read_json(config_path)["train"], read_json(os.path.join(run_dir, "state.json"))
    if os.path.exists(os.path.join(run_dir, "state.json")):
        raise EdgeferError(f"{run_dir}: already holds a run; use --resume or another --out")
    check_output_folder(run_dir)
    return asdict(cfg), {"epochs_done": 0, "best_val_accuracy": -1.0}


def worker_scratch(run_dir, task_index):
    """Where a worker that is not the chief keeps its copies: a temporary folder named after the
    run, so a restarted worker finds its backup again; deleted when training ends."""
    digest = hashlib.sha1(os.path.abspath(run_dir).encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"edgefer-worker{task_index}-{digest}")


def train(cfg, run_dir, resume=False):
    """Train (or resume) a run in ``run_dir``; returns the validation metrics dict. A run refused
    before its first epoch (bad votes, teachers or starting weights) leaves no folder behind.

    Under ``MultiWorkerMirroredStrategy`` only the chief writes ``run_dir``; a worker started
    again with the same ``TF_CONFIG`` continues from its last backup."""
    fresh = not resume and not os.path.exists(run_dir)
    try:
        return _train(cfg, run_dir, resume)
    except EdgeferError:
        if fresh and not os.path.exists(os.path.join(run_dir, "state.json")):
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _train(cfg, run_dir, resume):
    dist = choose_strategy(cfg.strategy)  # first: MultiWorkerMirroredStrategy must precede other TensorFlow ops
    writes = run_dir if dist.cluster.is_chief else worker_scratch(run_dir, dist.cluster.task_index)
    if dist.multi_worker and os.path.isdir(os.path.join(writes, BACKUP)):
        resume = True  # a restarted worker: its backup decides where it goes on
    train_args, state = _prepare_run(cfg, writes, resume)
    cfg = replace(TrainConfig.from_saved(train_args), strategy=cfg.strategy)
    run_dir = writes
    spec = get_backbone(cfg.backbone)
    size = cfg.image_size or spec.image_size
    keras.utils.set_random_seed(cfg.seed)

    dataset, train_split, val_split, weights = training_splits(cfg, run_dir)
    labels = dataset.labels
    global_batch = cfg.batch_size * dist.replicas
    lr = cfg.lr * dist.replicas
    steps = int(np.ceil(len(train_split) / global_batch))
    print(dist.describe(cfg.batch_size, cfg.lr), file=sys.stderr, flush=True)

    twin = twin_path(cfg.weights)
    if twin:  # a shipped model's network: its backbone, input size and head
        start = read_metadata(twin)
        cfg = replace(cfg, backbone=start.backbone)
        spec, size = get_backbone(cfg.backbone), cfg.image_size or start.image_size
    channels = 3 if dataset.color == "rgb" else 1
    config = {
        "labels": labels,
        "backbone": cfg.backbone,
        "face_size": dataset.face_size,
        "image_size": size,
        "color": dataset.color,
        "normalisation": spec.normalisation,
        "preprocessing": f"{dataset.color} face crop resized to {dataset.face_size}x{dataset.face_size}, values 0-255; "
        f"the model resizes to {size}x{size}{', copies to 3 channels' if channels == 1 else ''} and normalises "
        "inside itself",
        "dataset": {"name": dataset.name, "path": os.path.abspath(cfg.data), "train": "train", "val": "val",
                    "split_sizes": {name: len(part) for name, part in dataset.splits.items()},
                    **({"crop": dataset.crop, "split_by": "subject"} if dataset.prepared else {})},
        "class_weights": dict(zip(labels, np.round(weights, 4).tolist())),
        "train": asdict(cfg),
    }
    if dataset.prepared:
        write_json(os.path.join(run_dir, SPLITS_FILE), split_record(dataset))
    write_json(os.path.join(run_dir, "config.json"), config)

    loss = keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing)
    with dist.strategy.scope():
        if resume and not dist.multi_worker:
            model = keras.models.load_model(os.path.join(run_dir, "checkpoint.keras"))  # with optimizer state
        else:
            if twin:
                model = transfer_classifier(twin, labels, dataset.face_size, channels, size)
            else:
                model = build_classifier(cfg.backbone, labels, cfg.weights, size, cfg.head_kernel, cfg.stages,
                                         dataset.face_size, channels)
            freeze_early_stages(model, cfg.freeze)
            schedule = OneCycle(lr, steps * cfg.epochs)
            optimizer = keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay) if cfg.weight_decay \
                else keras.optimizers.Adam(schedule)
            if dist.multi_worker:
                optimizer.build(model.trainable_variables)
            else:
                model.compile(optimizer=optimizer, loss=loss, metrics=[
                    "accuracy", keras.metrics.Precision(name="precision"), keras.metrics.Recall(name="recall")])

    train_ds = training_dataset(cfg, train_split, labels, weights, global_batch, cfg.seed)
    rows = _history_rows(os.path.join(run_dir, "history.csv"))[: state["epochs_done"]]
    title = f"{cfg.backbone} {size}px on {dataset.name} (train {len(train_split)}, val {len(val_split)})"
    checkpoint = RunCheckpoint(run_dir, rows, state["best_val_accuracy"], title, keep_epochs=cfg.keep_epochs)
    if dist.multi_worker:
        checkpoint.set_model(model)
        fit_multi_worker(model, optimizer, loss, dist, train_ds, val_split, len(labels), cfg.epochs, checkpoint,
                         os.path.join(run_dir, BACKUP), global_batch)
    elif state["epochs_done"] < cfg.epochs:
        val_ds = make_dataset(val_split, len(labels), np.ones(len(labels)), 256, False, cfg.seed)
        stop = [keras.callbacks.EarlyStopping("val_accuracy", patience=cfg.patience, mode="max")] if cfg.patience else []
        model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, initial_epoch=state["epochs_done"],
                  callbacks=[checkpoint, *stop], verbose=1 if sys.stderr.isatty() else 2)

    best = load_model(os.path.join(run_dir, "model.keras"))
    check_finite(best.get_weights(), os.path.join(run_dir, "model.keras"))
    metrics = write_split_metrics(best, dataset, cfg.data, "val", run_dir, cfg.backbone)
    if "test" in dataset.splits:  # a fold's held-out people
        metrics = write_split_metrics(best, dataset, cfg.data, "test", os.path.join(run_dir, "test"), cfg.backbone)
    if not dist.cluster.is_chief:
        shutil.rmtree(run_dir, ignore_errors=True)
    return metrics
