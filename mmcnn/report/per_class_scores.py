"""`per_class_scores.png`: precision, recall and F1 of each class (multi-label reports)."""

import numpy as np
from matplotlib.figure import Figure

from mmcnn.report.drawing import _DPI
from mmcnn.report.errors import ReportError

SCORES = (("precision", "#4c72b0"), ("recall", "#dd8452"), ("f1", "#55a868"))


def plot_per_class_scores(metrics):
    """Grouped bars of each class's precision, recall and F1 from `metrics["per_class"]`.

    What a multi-label report shows instead of the confusion matrix (an
    example with several classes has no single true/predicted cell). The
    title gives micro-F1 and mean average precision when `metrics` has them.
    """
    per_class = (metrics or {}).get("per_class")
    if not per_class:
        raise ReportError("no metrics with per-class scores were given")
    names = [str(name) for name in per_class]
    k = len(names)
    x = np.arange(k)
    width = 0.27
    fig = Figure(figsize=(min(max(5.0, 0.6 * k + 2.5), 30.0), 4.0), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    for offset, (key, colour) in zip((-width, 0.0, width), SCORES):
        values = [float(per_class[name].get(key) or 0.0) for name in per_class]
        ax.bar(x + offset, values, width, label=key if key != "f1" else "F1", color=colour)
    ax.set_xticks(x, names, rotation=45 if k > 3 else 0, ha="right" if k > 3 else "center")
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("score at the class's threshold")
    # Outside the axes: inside, the legend covered the bars of a class at any corner.
    fig.legend(loc="outside upper right", ncols=len(SCORES), fontsize=8)
    parts = [
        f"{label} {metrics[key]:.3f}"
        for key, label in (("micro_f1", "micro-F1"), ("mean_average_precision", "mAP"))
        if metrics.get(key) is not None
    ]
    ax.set_title("per-class scores" + (f" ({', '.join(parts)})" if parts else ""))
    return fig
