"""`confusion_matrix.png`: true against predicted class."""

import numpy as np
from matplotlib.figure import Figure

from mmcnn.report.drawing import _DPI
from mmcnn.report.errors import ReportError


def plot_confusion_matrix(metrics):
    """Confusion matrix from `metrics["confusion_matrix"]` and `metrics["labels"]`.

    Colours are row-normalised (the fraction of each true class), so that
    rare classes are as readable as common ones; the cells hold counts.
    """
    if not metrics or "confusion_matrix" not in metrics:
        raise ReportError("no metrics with a confusion matrix were given")
    counts = np.asarray(metrics["confusion_matrix"], dtype=int)
    k = counts.shape[0]
    if counts.ndim != 2 or counts.shape != (k, k):
        raise ReportError(f"the confusion matrix must be square; its shape is {counts.shape}")
    labels = [str(c) for c in metrics.get("labels") or range(k)]
    totals = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    side = min(max(4.0, 0.45 * k + 2.5), 30.0)
    fig = Figure(figsize=(side + 1.2, side), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(fractions, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class")
    ax.set_xticks(range(k), labels, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    accuracy = metrics.get("accuracy")
    ax.set_title("confusion matrix" + (f" (accuracy {accuracy:.3f})" if accuracy is not None else ""))
    if k <= 30:  # beyond that the digits no longer fit their cells
        size = max(6, 12 - k // 4)
        for i in range(k):
            for j in range(k):
                ax.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=size,
                    color="white" if fractions[i, j] > 0.5 else "black",
                )
    return fig
