import json

import numpy as np

from edgefer.evaluation.reports import write_metrics


def test_metrics_files_name_their_data_and_split(tmp_path):
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    source = {"dataset": "fer2013", "path": "/data/fer2013", "split": "test"}
    metrics = write_metrics(probs, np.array([0, 1, 1]), ["a", "b"], str(tmp_path / "out"), source, "m")
    saved = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert saved == metrics
    assert (saved["dataset"], saved["split"], saved["n"]) == ("fer2013", "test", 3)
    assert saved["accuracy"] == 2 / 3 and saved["confusion"] == [[1, 0], [1, 1]]
    assert (tmp_path / "out" / "confusion.png").stat().st_size > 1000
