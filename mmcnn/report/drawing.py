"""What the pictures share: the resolution, the grid of panels, how an input example is drawn."""

import math

# Longest stretch of tokens drawn in the text pictures.
MAX_TOKENS_DRAWN = 64
_DPI = 100


def _grid(n, max_cols=16):
    cols = min(n, max_cols)
    return cols, math.ceil(n / cols)


def _show_input(ax, array, rgb_ok=True):
    """Draws one example's input tensor (without batch) on `ax`."""
    if array.ndim == 3:
        if array.shape[-1] == 3 and rgb_ok:
            low, high = array.min(), array.max()
            ax.imshow((array - low) / (high - low if high > low else 1.0))
        else:
            ax.imshow(array.mean(axis=-1), cmap="gray")
    elif array.ndim == 2:
        ax.imshow(array.T, aspect="auto", origin="lower", cmap="magma", interpolation="nearest")
    else:
        ax.plot(array)
