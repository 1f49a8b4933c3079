"""`filters.png`: the weights of the first convolution, one panel per filter."""

import keras
import numpy as np
from matplotlib.figure import Figure

from mmcnn.report.drawing import _DPI, _grid
from mmcnn.report.errors import ReportError
from mmcnn.report.model_walk import _CONV_TYPES, first_conv


def filter_panels(layer):
    """The filters of a convolution layer as pictures, one per panel.

    Args:
        layer: a built `Conv1D`, `Conv2D`, `SeparableConv1D/2D` or
            `DepthwiseConv1D/2D` layer.

    Returns:
        `(panels, rgb)`: `panels` is a float array `(n, height, width)` (or
        `(n, height, width, 3)` when `rgb`). 2-D kernels `(kh, kw, cin, cout)`
        give `cout` panels of `(kh, kw)`, averaged over the input channels, or
        in colour when `cin == 3`. 1-D kernels `(k, cin, cout)` give `cout`
        heat maps of `(cin, k)`: input channels (mel bins, embedding dims)
        down, window position across. Separable and depthwise layers show
        their depthwise (spatial) kernels: `cin * depth_multiplier` panels in
        2-D, `depth_multiplier` heat maps of `(cin, k)` in 1-D.
    """
    if not isinstance(layer, _CONV_TYPES):
        raise ReportError(f"`layer` must be a convolution layer. Received: {type(layer).__name__}")
    depthwise = isinstance(
        layer,
        (
            keras.layers.SeparableConv1D,
            keras.layers.SeparableConv2D,
            keras.layers.DepthwiseConv1D,
            keras.layers.DepthwiseConv2D,
        ),
    )
    kernel = np.asarray(
        keras.ops.convert_to_numpy(layer.depthwise_kernel if depthwise else layer.kernel), dtype="float32"
    )
    if kernel.ndim == 4:
        kh, kw, cin, cout = kernel.shape
        if depthwise:
            # Each (input channel, multiplier) pair has its own spatial kernel.
            return np.transpose(kernel.reshape(kh, kw, cin * cout), (2, 0, 1)), False
        if cin == 3:
            return np.transpose(kernel, (3, 0, 1, 2)), True
        return np.transpose(kernel.mean(axis=2), (2, 0, 1)), False
    if kernel.ndim == 3:
        # (k, cin, cout) -> (cout, cin, k); depthwise: cout is the depth multiplier.
        return np.transpose(kernel, (2, 1, 0)), False
    raise ReportError(f"unexpected kernel shape {kernel.shape} in {layer.name}")


def plot_filters(model):
    """The filters of the first convolution of `model` (see `filter_panels`).

    One axes per filter, each holding one image; 2-D filters share one
    symmetric colour scale so that their weights compare (colour filters are
    each stretched to 0..1). The number of panels is in
    `fig.mmcnn_panels`.
    """
    found = first_conv(model)
    if found is None:
        raise ReportError("the model has no convolution layer")
    path, layer = found
    panels, rgb = filter_panels(layer)
    n = len(panels)
    one_d = panels.ndim == 3 and len(layer.kernel_size) == 1
    cols, rows = _grid(n, max_cols=16 if one_d else 8)
    if one_d:
        cin, k = panels.shape[1:]
        panel_h = min(max(cin / max(k, 1) * 0.25, 1.2), 4.0)
        figsize = (min(0.9 * cols + 1.5, 18), panel_h * rows + 1.0)
    else:
        figsize = (1.1 * cols + 1.5, 1.1 * rows + 0.9)
    fig = Figure(figsize=figsize, dpi=_DPI, layout="constrained")
    limit = float(np.abs(panels).max()) or 1.0
    image = None
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        if rgb:
            low, high = panel.min(), panel.max()
            ax.imshow((panel - low) / (high - low if high > low else 1.0), interpolation="nearest")
        else:
            image = ax.imshow(
                panel,
                cmap="RdBu_r",
                vmin=-limit,
                vmax=limit,
                interpolation="nearest",
                aspect="auto" if one_d else "equal",
                origin="lower" if one_d else "upper",
            )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(str(i), fontsize=7, pad=2)
    if image is not None:
        fig.colorbar(image, ax=fig.axes, shrink=0.6, label="weight")
    shape = "x".join(str(s) for s in layer.kernel_size)
    what = "depthwise kernels" if panels.shape[0] != getattr(layer, "filters", n) else "filters"
    detail = (
        f"{n} {what} of {shape}; rows: {panels.shape[1]} input channels"
        if one_d
        else f"{n} {what} of {shape}"
        + (" (RGB)" if rgb else ", mean over input channels" if layer.kernel.shape[-2] > 1 else "")
    )
    fig.suptitle(f"first convolution {path}: {detail}")
    fig.mmcnn_panels = n
    return fig
