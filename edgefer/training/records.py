"""A run's records after every epoch: history.csv, curves.png, model.keras of the best epoch, and for
``--resume`` checkpoint.keras and state.json (with ``keep_epochs`` each epoch's weights too)."""

import csv
import io
import os

import keras
import numpy as np

from edgefer.core.files import write_json, write_text, write_with
from edgefer.core.plots import curves_png

EPOCHS_FOLDER = "epochs"  # with keep_epochs: epoch-NN.npz, each epoch's weights


def history_rows(path):
    """The rows of a run's history.csv so far (none before the first epoch)."""
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
