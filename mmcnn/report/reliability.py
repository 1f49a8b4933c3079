"""`reliability.png`: how sure the model is against how often it is right, before and after scaling."""

import numpy as np
from matplotlib.figure import Figure

from mmcnn.explain import ECE_BINS, expected_calibration_error, reliability_bins, scale_probabilities
from mmcnn.report.drawing import _DPI
from mmcnn.report.errors import ReportError


def plot_reliability(probabilities, labels, temperature=1.0, bins=ECE_BINS, split="test"):
    """Reliability diagram of the model's probabilities, with and without its temperature.

    Each bar is one of `bins` equal-width bins of the top probability: its
    height the share of correct answers, against the diagonal of perfect
    calibration; the gap is what the expected calibration error (ECE) averages.
    The lower panel counts the examples per bin.

    Args:
        probabilities: `(n, num_classes)` the model's probabilities (its
            temperature applied).
        labels: `(n,)` true class ids.
        temperature: the model's `T`; the "before" bars undo it.
        bins: number of bins.
        split: the split's name, for the title.
    """
    probabilities = np.asarray(probabilities, dtype="float64")
    labels = np.asarray(labels)
    if probabilities.ndim != 2 or not len(probabilities):
        raise ReportError("no predictions were given for the reliability diagram")
    before = scale_probabilities(probabilities, 1.0 / temperature)
    fig = Figure(figsize=(6.5, 6.5), dpi=_DPI, layout="constrained")
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    width = 1.0 / bins
    series = [
        ("before scaling (T = 1)", before, "#c9673b", -0.22),
        (f"after (T = {temperature:.3f})", probabilities, "#3b78c9", 0.22),
    ]
    if abs(temperature - 1.0) < 1e-6:
        series = [("model (T = 1)", probabilities, "#3b78c9", 0.0)]
    for name, probs, color, shift in series:
        stats = reliability_bins(probs, labels, bins)
        centers = stats["edges"][:-1] + width / 2
        used = stats["count"] > 0
        ece = expected_calibration_error(probs, labels, bins)
        bar_width = width * (0.42 if len(series) > 1 else 0.85)
        top.bar(
            centers[used] + shift * width,
            stats["accuracy"][used],
            width=bar_width,
            color=color,
            alpha=0.8,
            label=f"{name}: ECE {ece:.4f}",
        )
        bottom.bar(centers + shift * width, stats["count"], width=bar_width, color=color, alpha=0.8)
    top.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="perfect calibration")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("share correct")
    top.legend(loc="upper left", fontsize=8)
    top.set_title(f"reliability on the {split} split ({len(labels)} examples, {bins} bins)", fontsize=10)
    bottom.set_xlabel("top probability (confidence)")
    bottom.set_ylabel("examples")
    return fig
