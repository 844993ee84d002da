"""Pick the tf.distribute strategy: several workers from ``TF_CONFIG``, several GPUs, or one device.

``TF_CONFIG`` is the JSON that Kubernetes operators (Kubeflow's TFJob) and managed services set
for each worker: ``{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": 0}}``.
With more than one task in the cluster, ``auto`` builds a ``MultiWorkerMirroredStrategy``
(collective all-reduce: RING on CPUs, NCCL where GPUs exist); one host with several GPUs gets a
``MirroredStrategy``; otherwise the default strategy. The chief (task ``chief``, or worker 0
when there is none) is the only task that writes the run folder.
"""

from dataclasses import dataclass

import keras
import tensorflow as tf

from edgefer.core.errors import EdgeferError
from edgefer.training.cluster import Cluster, cluster_from_env
from edgefer.training.config import STRATEGIES


@dataclass(frozen=True)
class Distribution:
    """The strategy in use and what the run log says about it."""

    strategy: tf.distribute.Strategy
    name: str
    cluster: Cluster

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    @property
    def multi_worker(self) -> bool:
        return isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy)

    def describe(self, per_replica_batch: int, lr: float) -> str:
        return (f"strategy: {self.name}, {self.cluster.tasks} worker(s), {self.replicas} replica(s); "
                f"global batch {per_replica_batch * self.replicas} ({per_replica_batch} per replica); "
                f"peak learning rate {lr * self.replicas:g} ({lr:g} x {self.replicas} replica(s), linear scaling)")


def choose_strategy(kind: str = "auto") -> Distribution:
    """The strategy ``kind`` asks for (see ``config.STRATEGIES``); create it before any other TensorFlow op."""
    if kind not in STRATEGIES:
        raise EdgeferError(f"unknown strategy {kind!r}; choose one of {', '.join(STRATEGIES)}")
    cluster = cluster_from_env()
    gpus = tf.config.list_physical_devices("GPU")
    if kind == "auto":
        kind = "multi-worker" if cluster.tasks > 1 else "mirrored" if len(gpus) > 1 else "single"
    if kind == "multi-worker":
        if cluster.tasks < 2:
            raise EdgeferError("--strategy multi-worker needs TF_CONFIG naming at least two tasks")
        implementation = tf.distribute.experimental.CommunicationImplementation.NCCL if gpus else \
            tf.distribute.experimental.CommunicationImplementation.RING
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(implementation=implementation))
        name = "MultiWorkerMirroredStrategy"
    elif kind == "mirrored":
        strategy, name = tf.distribute.MirroredStrategy(), "MirroredStrategy"
    else:
        strategy, name = tf.distribute.get_strategy(), "default (one device)"
    if gpus:
        keras.mixed_precision.set_global_policy("mixed_float16")
    return Distribution(strategy, name, cluster)
