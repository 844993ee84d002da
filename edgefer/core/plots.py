"""PNG figures: confusion matrices, class balance, sample grids and training curves.

matplotlib is imported on use: a device installed without it (the ``device`` extra alone)
draws nothing, and each function returns False instead of True.
"""

import numpy as np

from edgefer.core.files import write_with


def pyplot():
    """matplotlib's pyplot on its file-only backend, or None where matplotlib is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


def _save(plt, fig, path):
    fig.tight_layout()
    try:
        write_with(path, lambda temporary: fig.savefig(temporary, dpi=110, format="png"))
    finally:
        plt.close(fig)
    return True


def confusion_png(matrix, labels, path, title):
    """Row-normalised confusion matrix with counts in each cell."""
    plt = pyplot()
    if plt is None:
        return False
    matrix = np.asarray(matrix)
    rates = matrix / np.maximum(1, matrix.sum(axis=1, keepdims=True))
    fig, ax = plt.subplots(figsize=(1.0 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{rates[i, j]:.2f}\n{matrix[i, j]}", ha="center", va="center", fontsize=7,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=9)
    return _save(plt, fig, path)


def class_balance_png(counts, path, title):
    """Grouped bars: images per class for each split (``counts`` = {split: {label: n}})."""
    plt = pyplot()
    if plt is None:
        return False
    splits = list(counts)
    labels = list(next(iter(counts.values())))
    width = 0.8 / len(splits)
    fig, ax = plt.subplots(figsize=(9, 4))
    for k, split in enumerate(splits):
        xs = np.arange(len(labels)) + (k - (len(splits) - 1) / 2) * width
        ax.bar(xs, [counts[split][label] for label in labels], width, label=split)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_ylabel("images")
    ax.set_title(title, fontsize=9)
    ax.legend()
    return _save(plt, fig, path)


def image_grid_png(images, captions, path, title, columns=8):
    """A grid of grey (H, W) or RGB (H, W, 3) uint8 images, each with a caption below it."""
    plt = pyplot()
    if plt is None:
        return False
    rows = max(1, int(np.ceil(len(images) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.3, rows * 1.5 + 0.4), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, image, caption in zip(axes.ravel(), images, captions):
        image = np.asarray(image)
        if image.ndim == 3:
            ax.imshow(image.astype(np.uint8), interpolation="nearest")
        else:
            ax.imshow(image.astype(np.float32), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(caption, fontsize=7)
    fig.suptitle(title, fontsize=9)
    return _save(plt, fig, path)


def curves_png(history, path, title):
    """Loss and accuracy per epoch from a {column: [values]} history (train and val_)."""
    plt = pyplot()
    if plt is None:
        return False
    epochs = np.arange(1, len(history["loss"]) + 1)
    metrics = [m for m in ("loss", "accuracy", "precision", "recall") if m in history]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        ax.plot(epochs, history[metric], "o-", label="train")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], "o-", label="val")
        ax.set_xlabel("epoch")
        ax.set_title(metric)
        ax.legend()
    fig.suptitle(title, fontsize=9)
    return _save(plt, fig, path)
