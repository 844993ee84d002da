"""The training loop for ``MultiWorkerMirroredStrategy``, with backups for fault tolerance.

Keras 3's ``Model.fit`` does not run under ``MultiWorkerMirroredStrategy`` (it reduces the
first batch eagerly and fails on per-replica values), so the workers run this loop: each
step every replica computes its share of the global batch, gradients are all-reduced, and the
same optimizer update is applied everywhere; batch-normalisation statistics, which each worker
keeps for itself, are averaged across workers at the end of each epoch, so all workers hold the
same weights. Validation runs on every worker on the whole validation split (no collectives).

After every epoch each worker saves a backup (``tf.train.CheckpointManager``: weights,
optimizer state, epoch). A worker started again with the same ``TF_CONFIG`` and run folder
restores it and continues with the next epoch, as ``keras.callbacks.BackupAndRestore`` does;
when training ends the backups are deleted.
"""

import hashlib
import os
import shutil
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from edgefer.core.errors import EdgeferError
from edgefer.training.strategy import Distribution


class WorkerLost(EdgeferError):
    """A collective operation failed because a peer worker went away."""

    exit_code = 1


def _sync_statistics(model, strategy):
    """Average the non-trainable variables (batch-norm statistics) over all workers."""
    variables = model.non_trainable_variables
    if not variables:
        return

    @tf.function
    def average():
        values = strategy.run(lambda: [tf.identity(v.value) for v in variables])
        return [strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for v in values]

    for variable, value in zip(variables, average()):
        variable.assign(value)


def _validate(model, images, labels, n_classes, loss):
    """(val_loss, val_accuracy) of the model on uint8 faces, computed locally."""
    predict = tf.function(lambda x: model(x, training=False))
    probs = np.concatenate([predict(tf.constant(images[i:i + 256, ..., None], tf.float32)).numpy()
                            for i in range(0, len(images), 256)])
    targets = np.eye(n_classes, dtype=np.float32)[labels]
    return float(np.mean(loss(targets, probs))), float((probs.argmax(1) == labels).mean())


def fit_multi_worker(model, optimizer, loss, dist: Distribution, train_ds, val_split, n_classes: int, epochs: int,
                     record, backup_dir: str, global_batch: int) -> None:
    """Train ``model`` for ``epochs`` (continuing from a backup in ``backup_dir``), calling
    ``record.on_epoch_end`` with Keras-style logs after each epoch."""
    strategy = dist.strategy
    epoch_done = tf.Variable(0, dtype=tf.int64, trainable=False)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_done)
    manager = tf.train.CheckpointManager(checkpoint, backup_dir, max_to_keep=2)
    agreed = _agreed_epoch(manager, strategy)
    del record.rows[agreed:]  # epochs recorded after the agreed backup are trained again
    if agreed:
        checkpoint.restore(os.path.join(backup_dir, f"ckpt-{agreed}"))
        print(f"restored the backup of epoch {agreed} from {backup_dir}", file=sys.stderr, flush=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    distributed = strategy.experimental_distribute_dataset(train_ds.with_options(options))
    per_example = keras.losses.CategoricalCrossentropy(reduction=None, label_smoothing=loss.label_smoothing)

    @tf.function
    def train_step(batch):
        def step(x, y, w):
            with tf.GradientTape() as tape:
                probs = model(x, training=True)
                value = tf.nn.compute_average_loss(per_example(y, probs) * w, global_batch_size=global_batch)
            gradients = tape.gradient(value, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables))
            correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(y, 1), tf.argmax(probs, 1)), tf.float32))
            return value, correct, tf.cast(tf.shape(x)[0], tf.float32)

        value, correct, count = strategy.run(step, args=batch)
        return [strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for v in (value, correct, count)]

    for epoch in range(int(epoch_done.numpy()), epochs):
        start, total_loss, correct, count, steps = time.time(), 0.0, 0.0, 0.0, 0
        try:
            for batch in distributed:
                value, right, seen = train_step(batch)
                total_loss, correct, count = total_loss + float(value), correct + float(right), count + float(seen)
                steps += 1
            _sync_statistics(model, strategy)
        except tf.errors.OpError as exc:  # in a collective step this is a peer gone away
            raise WorkerLost(f"another worker stopped during epoch {epoch + 1} ({exc.message.splitlines()[0]}); "
                             f"start every worker again with the same TF_CONFIG to continue from the last backup") \
                from None
        val_loss, val_accuracy = _validate(model, val_split.images, val_split.labels, n_classes, per_example)
        logs = {"accuracy": correct / max(count, 1), "loss": total_loss / max(steps, 1),
                "val_accuracy": val_accuracy, "val_loss": val_loss}
        print(f"epoch {epoch + 1}/{epochs} - {time.time() - start:.0f}s - " +
              " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()), file=sys.stderr, flush=True)
        record.on_epoch_end(epoch, logs)
        epoch_done.assign(epoch + 1)
        manager.save(checkpoint_number=epoch + 1)
    print(f"weights fingerprint: {weights_fingerprint(model)} (identical on every worker)", file=sys.stderr, flush=True)
    shutil.rmtree(backup_dir, ignore_errors=True)


def _agreed_epoch(manager, strategy) -> int:
    """The last epoch every worker has a backup of. A worker stopped between two backups may be
    one epoch behind the others, so two backups are kept and all restore the older one."""
    local = [int(path.rsplit("-", 1)[1]) for path in manager.checkpoints]
    newest = tf.constant([max(local, default=0)], tf.int64)
    everyone = strategy.gather(strategy.run(lambda: tf.identity(newest)), axis=0)
    agreed = int(tf.reduce_min(everyone).numpy())
    if agreed and agreed not in local:
        raise EdgeferError(f"{manager.directory}: no backup of epoch {agreed}, which the other workers "
                           "restore; delete every worker's backup to start over")
    return agreed


def weights_fingerprint(model) -> str:
    """A short hash of every weight, to check that the workers ended in the same place."""
    digest = hashlib.sha1()
    for variable in model.weights:
        digest.update(np.ascontiguousarray(variable.numpy(), dtype=np.float32).tobytes())
    return digest.hexdigest()[:16]
