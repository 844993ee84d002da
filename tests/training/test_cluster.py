"""TF_CONFIG is checked before TensorFlow reads it: every malformed one is one line."""

import json

import pytest
from helpers import assert_one_line_error, edgefer_without_tensorflow

from edgefer.core.errors import EdgeferError
from edgefer.training.cluster import Cluster, cluster_from_env

TWO = {"worker": ["127.0.0.1:12345", "127.0.0.1:12346"]}


@pytest.mark.parametrize("config, fragment", [
    ("{not json", "not JSON"),
    ({"cluster": TWO, "task": {"type": "worker", "index": 2}}, "task index 2 is not from 0 to 1"),
    ({"cluster": TWO, "task": {"type": "worker", "index": -1}}, "task index -1"),
    ({"cluster": TWO, "task": {"type": "worker", "index": "0"}}, "task index '0'"),
    ({"cluster": {"worker": ["", "127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}, "address '' is not host:port"),
    ({"cluster": {"worker": "127.0.0.1:1,127.0.0.1:2"}}, "worker must be a non-empty list"),
    ({"cluster": {**TWO, "ps": ["127.0.0.1:3"]}, "task": {"type": "ps", "index": 0}}, "job 'ps' is not supported"),
    ({"cluster": {"worker": ["127.0.0.1:99999", "127.0.0.1:2"]}}, "port from 1 to 65535"),
    ({"cluster": {"worker": ["127.0.0.1", "127.0.0.1:2"]}}, "not host:port"),
    ({"cluster": TWO, "task": {"type": "chief", "index": 0}}, "task type 'chief' names no job"),
    ([1, 2], "no cluster"),
])
def test_a_malformed_tf_config_is_one_line(monkeypatch, config, fragment):
    monkeypatch.setenv("TF_CONFIG", config if isinstance(config, str) else json.dumps(config))
    with pytest.raises(EdgeferError, match=fragment):
        cluster_from_env()


def test_a_good_tf_config_names_this_task(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"chief": ["a:1"], **TWO}, "task": {"type": "worker", "index": 1}}))
    assert cluster_from_env() == Cluster(3, "worker", 1, True)
    monkeypatch.delenv("TF_CONFIG")
    assert cluster_from_env() == Cluster()


def test_train_refuses_a_malformed_tf_config_before_loading_tensorflow(kaggle_folders, tmp_path):
    result = edgefer_without_tensorflow("train", kaggle_folders, "--out", str(tmp_path / "run"),
                                        env={"TF_CONFIG": json.dumps({"cluster": TWO, "task": {"index": 5}})})
    assert_one_line_error(result, "TF_CONFIG: task index 5")
    assert not (tmp_path / "run").exists()
