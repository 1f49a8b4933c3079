"""`learning_curves.png`: loss and the training metrics per epoch, training and validation."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmcnn.report.drawing import _DPI
from mmcnn.report.errors import ReportError

# The history's columns drawn, one panel each, and their names in titles and captions: accuracy
# for single-label runs, micro-F1 and the precision-recall AUC for multi-label ones.
PANELS = {
    "loss": "loss",
    "accuracy": "accuracy",
    "micro_f1": "micro-F1 (at 0.5)",
    "pr_auc": "PR-AUC (mean over classes)",
}


def _frame(history):
    if hasattr(history, "history") and not isinstance(history, pd.DataFrame):
        history = history.history
    return pd.DataFrame(history) if not isinstance(history, pd.DataFrame) else history.copy()


def _panels(frame):
    panels = [(name, [k for k in (name, f"val_{name}") if k in frame.columns]) for name in PANELS]
    return [(name, keys) for name, keys in panels if keys]


def _has_best(frame):
    return "val_loss" in frame.columns and frame["val_loss"].notna().any()


def learning_curves_caption(history):
    """The caption of `learning_curves.png` for `history`: names the panels it draws.

    Example:
    >>> learning_curves_caption({"loss": [1.0], "micro_f1": [0.5]})
    'Loss and micro-F1 (at 0.5) after each epoch on the training data (solid).'
    """
    frame = _frame(history) if history is not None else pd.DataFrame()
    names = [PANELS[name] for name, _ in _panels(frame)]
    if not names:
        return "Loss and metrics after each epoch (none recorded)."
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    validation = any(key.startswith("val_") for _, keys in _panels(frame) for key in keys)
    text = f"{listed[0].upper()}{listed[1:]} after each epoch on the training data (solid)"
    text += " and the validation data (dashed)" if validation else ""
    if _has_best(frame):
        text += "; the dotted line marks the epoch of lowest validation loss"
    return text + "."


def plot_learning_curves(history):
    """Loss and each metric of `PANELS` the history has, per epoch, training (solid) and
    validation (dashed).

    Args:
        history: a `keras.callbacks.History`, its `.history` dict of lists, or
            a DataFrame read from a `CSVLogger` file (an `epoch` column, counted
            from 0, is used as the x axis when present).

    Returns:
        A matplotlib `Figure`.
    """
    if history is None:
        raise ReportError("no training history was given")
    frame = _frame(history)
    if frame.empty:
        raise ReportError("the training history is empty")
    epochs = frame["epoch"].to_numpy() + 1 if "epoch" in frame.columns else np.arange(1, len(frame) + 1)
    panels = _panels(frame)
    if not panels:
        raise ReportError(f"the history has none of {list(PANELS)}; columns: {list(frame.columns)}")
    fig = Figure(figsize=(5 * len(panels), 3.6), dpi=_DPI, layout="constrained")
    best = int(epochs[int(np.nanargmin(frame["val_loss"].to_numpy()))]) if _has_best(frame) else None
    for i, (name, keys) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for key in keys:
            validation = key.startswith("val_")
            ax.plot(
                epochs,
                frame[key].to_numpy(dtype=float),
                marker="o",
                markersize=3,
                linestyle="--" if validation else "-",
                color="tab:orange" if validation else "tab:blue",
                label="validation" if validation else "training",
            )
        if best is not None:
            ax.axvline(best, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("epoch")
        ax.set_ylabel(PANELS[name])
        ax.set_title(PANELS[name])
        ax.grid(alpha=0.3)
        ax.legend()
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    return fig
