"""Two real worker processes with a two-worker TF_CONFIG on 127.0.0.1: collective all-reduce,
only the chief writes the run, identical weights, and a killed worker restarted with the same
TF_CONFIG lets the run finish."""

import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

from helpers import CLEAN_ENV, REPO  # noqa: E402

RUN_FILES = {"config.json", "checkpoint.keras", "model.keras", "state.json", "history.csv", "curves.png",
             "metrics.json", "confusion.png"}


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_worker(index, ports, data, run_dir, epochs, log):
    config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
    env = {**CLEAN_ENV, "TF_CONFIG": json.dumps(config), "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "edgefer", "train", data, "--out", run_dir, "--epochs", str(epochs),
                             "--limit", "640", "--batch-size", "16", "--image-size", "48", "--weights", "none"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True)


def worker_scratch(run_dir, index):
    from edgefer.training.train import worker_scratch as scratch

    return scratch(run_dir, index)


def history_epochs(run_dir):
    with open(os.path.join(run_dir, "history.csv")) as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_two_workers_train_one_epoch_and_only_the_chief_writes(mini_fer2013, tmp_path):
    run_dir, ports = str(tmp_path / "run"), free_ports(2)
    logs = [str(tmp_path / f"worker{i}.log") for i in range(2)]
    workers = [start_worker(i, ports, mini_fer2013, run_dir, 1, logs[i]) for i in range(2)]
    outputs = [w.communicate(timeout=900)[0] for w in workers]
    texts = [open(log).read() for log in logs]
    assert [w.returncode for w in workers] == [0, 0], texts[0][-2000:] + texts[1][-2000:]
    assert "strategy: MultiWorkerMirroredStrategy, 2 worker(s), 2 replica(s); global batch 32" in texts[0]
    assert set(os.listdir(run_dir)) == RUN_FILES  # the backup is gone once training ends
    assert history_epochs(run_dir) == [1]
    assert not os.path.exists(worker_scratch(run_dir, 1))  # the worker left nothing behind
    fingerprints = [re.search(r"weights fingerprint: (\w+)", text).group(1) for text in texts]
    assert fingerprints[0] == fingerprints[1]
    assert json.loads(outputs[0])["accuracy"] == json.loads(outputs[1])["accuracy"]


def test_a_killed_worker_restarted_with_the_same_tf_config_lets_the_run_finish(mini_fer2013, tmp_path):
    run_dir, ports, epochs = str(tmp_path / "run"), free_ports(2), 3
    log = str(tmp_path / "first.log")
    workers = [start_worker(i, ports, mini_fer2013, run_dir, epochs, log if i == 0 else os.devnull) for i in range(2)]
    backups = [os.path.join(run_dir, "backup", "ckpt-1.index"),
               os.path.join(worker_scratch(run_dir, 1), "backup", "ckpt-1.index")]
    deadline = time.time() + 900
    while time.time() < deadline and not all(os.path.exists(path) for path in backups):
        time.sleep(0.5)
    assert all(os.path.exists(path) for path in backups), open(log).read()[-2000:]
    workers[1].send_signal(signal.SIGKILL)  # mid-training: epoch 1 is backed up everywhere, epoch 2 under way
    workers[1].wait()
    workers[0].communicate(timeout=600)  # the chief's collectives fail without its peer
    assert workers[0].returncode == 1
    lines = [line for line in open(log).read().splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "start every worker again" in lines[0] and "Traceback" not in open(log).read()
    assert 1 <= json.load(open(os.path.join(run_dir, "state.json")))["epochs_done"] < epochs

    logs = [str(tmp_path / f"again{i}.log") for i in range(2)]
    again = [start_worker(i, ports, mini_fer2013, run_dir, epochs, logs[i]) for i in range(2)]
    for worker in again:
        worker.communicate(timeout=900)
    texts = [open(path).read() for path in logs]
    assert [w.returncode for w in again] == [0, 0], texts[0][-2000:] + texts[1][-2000:]
    assert all("restored the backup of epoch" in text for text in texts)
    assert history_epochs(run_dir) == list(range(1, epochs + 1))
    assert json.load(open(os.path.join(run_dir, "state.json")))["epochs_done"] == epochs
    assert not os.path.exists(worker_scratch(run_dir, 1))
