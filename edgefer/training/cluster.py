"""This task's place in the cluster ``TF_CONFIG`` describes, checked before TensorFlow reads it.

``TF_CONFIG`` is ``{"cluster": {"chief": ["host:port"], "worker": ["host:port", ...]}, "task":
{"type": "worker", "index": 0}}`` (``chief`` optional). Anything else (a parameter server, a
worker list given as a string, an empty or port-less address, a task index outside its list) is
refused in one line: TensorFlow would otherwise crash or wait for a worker that cannot exist.
No TensorFlow here, so ``edgefer train`` checks it before loading TensorFlow.
"""

import json
import os
from dataclasses import dataclass

from edgefer.core.errors import EdgeferError
from edgefer.core.spec import is_number

JOBS = ("chief", "worker")


@dataclass(frozen=True)
class Cluster:
    """This task's place in ``TF_CONFIG`` (one task when it is not set)."""

    tasks: int = 1
    task_type: str = "worker"
    task_index: int = 0
    has_chief_task: bool = False

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief" or (self.task_index == 0 and not self.has_chief_task)


def _bad(what: str) -> EdgeferError:
    return EdgeferError(f"TF_CONFIG: {what} (expected {{\"cluster\": {{\"worker\": [\"host:port\", ...]}}, "
                        "\"task\": {\"type\": \"worker\", \"index\": 0}})")


def _check_address(job: str, address) -> None:
    host, _, port = address.rpartition(":") if isinstance(address, str) else ("", "", "")
    if not host.strip("[]") or not is_number(port) or not 0 < int(port) < 65536:
        raise _bad(f"{job} address {address!r} is not host:port with a port from 1 to 65535")


def cluster_from_env() -> Cluster:
    """The cluster described by ``TF_CONFIG``, or a one-line error when it is malformed."""
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        return Cluster()
    try:
        config = json.loads(raw)
    except ValueError:
        raise _bad("not JSON") from None
    jobs = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(jobs, dict) or not jobs:
        raise _bad("no cluster")
    for job, addresses in jobs.items():
        if job not in JOBS:
            raise _bad(f"job {job!r} is not supported (only {' and '.join(JOBS)}: no parameter servers)")
        if not isinstance(addresses, list) or not addresses:
            raise _bad(f"{job} must be a non-empty list of addresses")
        for address in addresses:
            _check_address(job, address)
    task = config.get("task", {"type": "worker", "index": 0})
    task_type, index = (task.get("type", "worker"), task.get("index", 0)) if isinstance(task, dict) else (None, None)
    if task_type not in jobs:
        raise _bad(f"task type {task_type!r} names no job of the cluster")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(jobs[task_type]):
        raise _bad(f"task index {index!r} is not from 0 to {len(jobs[task_type]) - 1}")
    return Cluster(sum(len(addresses) for addresses in jobs.values()), task_type, index, "chief" in jobs)
