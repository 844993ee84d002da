"""Classification metrics from predicted and true labels (numpy only, usable on the device)."""

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes):
    """Counts with true classes in rows and predicted classes in columns."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def classification_metrics(y_true, y_pred, labels):
    """Accuracy, macro precision / recall / F1 and per-class figures as a JSON-ready dict."""
    return confusion_metrics(confusion_matrix(y_true, y_pred, len(labels)), labels)


def confusion_metrics(matrix, labels):
    """``classification_metrics`` from a confusion matrix (true classes in rows), e.g. one summed over folds."""
    matrix = np.asarray(matrix, dtype=np.int64)
    tp = np.diag(matrix).astype(float)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp), where=precision + recall > 0)
    present = support > 0
    return {
        "n": int(support.sum()),
        "accuracy": float(tp.sum() / max(1, support.sum())),
        "macro_precision": float(precision[present].mean()),
        "macro_recall": float(recall[present].mean()),
        "macro_f1": float(f1[present].mean()),
        "per_class": {
            label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                    "support": int(support[i])}
            for i, label in enumerate(labels)
        },
        "confusion": matrix.tolist(),
    }


# Student's t, two-sided 95%: the quantile 0.975 for 1 to 30 degrees of freedom
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
         2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def mean_interval(values) -> dict:
    """The mean of per-fold figures with its 95% confidence interval (Student's t over the folds)."""
    values = np.asarray(values, dtype=float)
    mean = float(values.mean())
    if len(values) < 2:
        return {"mean": mean, "low": mean, "high": mean}
    half = (_T975[len(values) - 2] if len(values) <= 31 else 1.96) * values.std(ddof=1) / np.sqrt(len(values))
    return {"mean": mean, "low": float(mean - half), "high": float(mean + half)}
