import json
import os

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytestmark = pytest.mark.slow

from helpers import assert_one_line_error, edgefer  # noqa: E402


def epoch_file(run_dir, epoch):
    return os.path.join(run_dir, "epochs", f"epoch-{epoch:02d}.npz")


def npz_weights(path):
    with np.load(path) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def keras_weights(path):
    import keras

    return keras.models.load_model(path, compile=False).get_weights()


def test_a_run_keeps_every_epochs_weights_and_the_last_is_its_checkpoint(tiny_run):
    assert sorted(os.listdir(os.path.join(tiny_run, "epochs"))) == [f"epoch-0{i}.npz" for i in (1, 2, 3, 4)]
    last, checkpoint = npz_weights(epoch_file(tiny_run, 4)), keras_weights(os.path.join(tiny_run, "checkpoint.keras"))
    assert len(last) == len(checkpoint)
    assert all(np.array_equal(a, b) for a, b in zip(last, checkpoint))
    assert not all(np.array_equal(a, b) for a, b in zip(npz_weights(epoch_file(tiny_run, 3)), last))


def test_average_writes_the_mean_of_a_run_and_its_epochs_as_a_run_that_scores_as_it_says(tiny_run, mini_fer2013,
                                                                                       tmp_path):
    out = str(tmp_path / "mean")
    sources = [tiny_run, epoch_file(tiny_run, 3), epoch_file(tiny_run, 4)]
    result = edgefer("average", *sources, "--out", out, "--data", mini_fer2013)
    assert result.returncode == 0, result.stderr[-2000:]
    parts = [keras_weights(os.path.join(tiny_run, "model.keras"))] + [npz_weights(p) for p in sources[1:]]
    averaged = keras_weights(os.path.join(out, "model.keras"))
    assert all(np.allclose(w, np.mean(ws, axis=0), atol=1e-6) for w, ws in zip(averaged, zip(*parts)))
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["averaged_from"] == [os.path.normpath(p) for p in sources]
    assert config["labels"] == json.load(open(os.path.join(tiny_run, "config.json")))["labels"]
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert printed["split"] == "val" and printed["n"] == 150
    again = edgefer("evaluate", out, mini_fer2013, "--split", "val", "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.load(open(tmp_path / "again" / "metrics.json"))["accuracy"] == pytest.approx(printed["accuracy"])


def test_epochs_alone_are_averaged_on_their_runs_network(tiny_run, mini_fer2013, tmp_path):
    out = str(tmp_path / "mean")
    result = edgefer("average", epoch_file(tiny_run, 2), epoch_file(tiny_run, 4), "--out", out, "--data", mini_fer2013)
    assert result.returncode == 0, result.stderr[-2000:]
    expected = [np.mean(pair, axis=0) for pair in zip(npz_weights(epoch_file(tiny_run, 2)), npz_weights(epoch_file(tiny_run, 4)))]
    assert all(np.allclose(w, e, atol=1e-6) for w, e in zip(keras_weights(os.path.join(out, "model.keras")), expected))
    assert json.load(open(os.path.join(out, "config.json")))["image_size"] == 64


def test_weights_of_another_network_are_refused_and_nothing_is_written(tiny_run, mini_fer2013, tmp_path):
    stranger = str(tmp_path / "stranger.npz")
    np.savez(stranger, np.zeros((3, 3)))
    out = tmp_path / "mean"
    result = edgefer("average", tiny_run, stranger, "--out", str(out), "--data", mini_fer2013)
    assert_one_line_error(result, "stranger.npz", "do not fit")
    assert not out.exists()


def test_average_will_not_overwrite_a_run(tiny_run, mini_fer2013):
    before = os.path.getmtime(os.path.join(tiny_run, "model.keras"))
    result = edgefer("average", tiny_run, epoch_file(tiny_run, 4), "--out", tiny_run, "--data", mini_fer2013)
    assert_one_line_error(result, "already holds")
    assert os.path.getmtime(os.path.join(tiny_run, "model.keras")) == before


def test_weights_holding_nan_are_refused_by_average_and_nothing_is_written(tiny_run, mini_fer2013, tmp_path):
    weights = npz_weights(epoch_file(tiny_run, 2))
    weights[0] = weights[0].copy()
    weights[0].flat[0] = np.nan
    diverged = tmp_path / "epochs" / "epoch-09.npz"
    diverged.parent.mkdir()
    np.savez(diverged, *weights)
    result = edgefer("average", epoch_file(tiny_run, 1), str(diverged), "--data", mini_fer2013,
                     "--out", str(tmp_path / "mean"))
    assert_one_line_error(result, "epoch-09.npz: 1 weight values are NaN or infinite")
    assert not (tmp_path / "mean").exists()
