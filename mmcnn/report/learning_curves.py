"""`learning_curves.png`: loss and accuracy per epoch, training and validation."""

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmcnn.report.drawing import _DPI
from mmcnn.report.errors import ReportError


def plot_learning_curves(history):
    """Loss and accuracy per epoch, training (solid) and validation (dashed).

    Args:
        history: a `keras.callbacks.History`, its `.history` dict of lists, or
            a DataFrame read from a `CSVLogger` file (an `epoch` column, counted
            from 0, is used as the x axis when present).

    Returns:
        A matplotlib `Figure`.
    """
    if history is None:
        raise ReportError("no training history was given")
    if hasattr(history, "history") and not isinstance(history, pd.DataFrame):
        history = history.history
    frame = pd.DataFrame(history) if not isinstance(history, pd.DataFrame) else history.copy()
    if frame.empty:
        raise ReportError("the training history is empty")
    epochs = frame["epoch"].to_numpy() + 1 if "epoch" in frame.columns else np.arange(1, len(frame) + 1)
    panels = [
        (name, [k for k in (name, f"val_{name}") if k in frame.columns]) for name in ("loss", "accuracy")
    ]
    panels = [(name, keys) for name, keys in panels if keys]
    if not panels:
        raise ReportError(f"the history has no loss or accuracy; columns: {list(frame.columns)}")
    fig = Figure(figsize=(5 * len(panels), 3.6), dpi=_DPI, layout="constrained")
    best = (
        int(epochs[int(np.nanargmin(frame["val_loss"].to_numpy()))])
        if "val_loss" in frame.columns and frame["val_loss"].notna().any()
        else None
    )
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
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    return fig
