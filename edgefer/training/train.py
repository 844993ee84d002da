"""``edgefer train``: fine-tune a registered backbone with the paper's head on a FER dataset.

A run folder holds everything: ``config.json`` (written first), ``checkpoint.keras`` and
``state.json`` after every epoch (so ``--resume`` continues an interrupted run), ``history.csv``,
``curves.png``, ``model.keras`` (the epoch with the best validation accuracy), and for the
validation split ``metrics.json`` and ``confusion.png``; with ``keep_epochs`` also
``epochs/epoch-NN.npz``, every epoch's weights (for ``edgefer average``).
"""

import hashlib
import os
import shutil
import sys
import tempfile
from dataclasses import asdict, replace
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from edgefer.core.errors import EdgeferError
from edgefer.core.files import check_output_folder, read_json, write_json
from edgefer.core.metadata import read_metadata
from edgefer.data.datasets import FER2013_LABELS, load_dataset, stratified_indices
from edgefer.data.subjects import person_splits, split_record
from edgefer.data.votes import ferplus_votes, with_votes
from edgefer.training.augment import augment, degrade, detector_jitter, random_erase
from edgefer.training.backbones import get_backbone
from edgefer.training.config import TrainConfig
from edgefer.training.distill import Teachers, cached_teacher_probabilities, distilled
from edgefer.training.evaluate import write_split_metrics
from edgefer.training.model import build_classifier, check_finite, freeze_early_stages, load_model, with_channels
from edgefer.training.multi_worker import fit_multi_worker
from edgefer.training.records import RunCheckpoint, history_rows
from edgefer.training.runs import SPLITS_FILE
from edgefer.training.strategy import choose_strategy
from edgefer.training.twin import transfer_classifier, twin_path

BACKUP = "backup"  # multi-worker backups inside the run (or worker) folder
TEACHER_CACHE = "teacher-probabilities.npy"  # the teachers' answers on the training faces


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


def make_dataset(split, n_classes, weights, batch_size, training=False, cfg: Optional[TrainConfig] = None,
                 teachers=None):
    """tf.data pipeline over an in-memory split: (face, one-hot or soft target, sample weight); in
    ``training``, shuffled by ``cfg.seed`` and augmented as ``cfg`` says. With ``teachers`` (a
    callable: faces in, probabilities out) each training batch's targets become
    ``cfg.distill * teachers(the augmented faces) + (1 - cfg.distill) * targets``."""
    cfg = cfg or TrainConfig(data="", augment=False)
    targets = split.targets(n_classes)
    sample_weights = weights[split.labels].astype(np.float32)
    ds = tf.data.Dataset.from_tensor_slices((with_channels(split.images), targets, sample_weights))
    if training:
        ds = ds.shuffle(len(split), seed=cfg.seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda x, y, w: (tf.cast(x, tf.float32), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and cfg.augment:
        move = detector_jitter if cfg.geometric else augment
        ds = ds.map(lambda x, y, w: (move(x), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and cfg.degrade:
        ds = ds.map(lambda x, y, w: (degrade(x, cfg.degrade), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    if training and cfg.erase:
        ds = ds.map(lambda x, y, w: (random_erase(x, cfg.erase), y, w), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size)
    if training and teachers is not None:
        def consistent(x, y, w):
            answers = tf.numpy_function(teachers, [x], tf.float32, stateful=True)  # never run in parallel
            answers.set_shape(y.shape)
            return x, cfg.distill * answers + (1 - cfg.distill) * y, w

        ds = ds.map(consistent)  # sequential, so one call at a time reaches the interpreters
    return ds.prefetch(tf.data.AUTOTUNE)


def training_dataset(cfg, split, labels, weights, batch_size, seed):
    """The training pipeline a run's config asks for, with its teachers answering live when they are consistent."""
    teachers = Teachers(cfg.teachers, labels, threads=1) if cfg.teachers and cfg.consistent_teacher else None
    return make_dataset(split, len(labels), weights, batch_size, True, replace(cfg, seed=seed), teachers)


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
    rows = history_rows(os.path.join(run_dir, "history.csv"))[: state["epochs_done"]]
    title = f"{cfg.backbone} {size}px on {dataset.name} (train {len(train_split)}, val {len(val_split)})"
    checkpoint = RunCheckpoint(run_dir, rows, state["best_val_accuracy"], title, keep_epochs=cfg.keep_epochs)
    if dist.multi_worker:
        checkpoint.set_model(model)
        fit_multi_worker(model, optimizer, loss, dist, train_ds, val_split, len(labels), cfg.epochs, checkpoint,
                         os.path.join(run_dir, BACKUP), global_batch)
    elif state["epochs_done"] < cfg.epochs:
        val_ds = make_dataset(val_split, len(labels), np.ones(len(labels)), 256)
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
