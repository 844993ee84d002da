import numpy as np
import pytest

from edgefer.core.metrics import classification_metrics, confusion_matrix


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_metrics_of_a_known_confusion_matrix():
    # true a: 8 right, 2 called b; true b: 3 right, 1 called a; true c: 5 right
    y_true = [0] * 10 + [1] * 4 + [2] * 5
    y_pred = [0] * 8 + [1] * 2 + [1] * 3 + [0] + [2] * 5
    m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    assert m["n"] == 19
    assert m["accuracy"] == pytest.approx(16 / 19)
    a, b, c = (m["per_class"][k] for k in "abc")
    assert (a["precision"], a["recall"]) == (pytest.approx(8 / 9), pytest.approx(0.8))
    assert (b["precision"], b["recall"]) == (pytest.approx(3 / 5), pytest.approx(0.75))
    assert (c["precision"], c["recall"], c["f1"]) == (1.0, 1.0, 1.0)
    assert a["f1"] == pytest.approx(2 * (8 / 9) * 0.8 / (8 / 9 + 0.8))
    assert m["macro_recall"] == pytest.approx((0.8 + 0.75 + 1.0) / 3)
    assert m["confusion"] == [[8, 2, 0], [1, 3, 0], [0, 0, 5]]


def test_classes_without_support_are_left_out_of_the_macro_means():
    m = classification_metrics(np.array([0, 0, 1]), np.array([0, 0, 1]), ["a", "b", "c"])
    assert m["macro_recall"] == 1.0 and m["per_class"]["c"]["support"] == 0
