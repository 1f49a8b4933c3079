"""The run report: pictures of a trained classifier and one HTML page that shows them.

`write_report(classifier, report_dir, history=None, metrics=None, example=None)`
writes, into `report_dir`:

- `learning_curves.png`: loss and accuracy per epoch, training and validation.
- `confusion_matrix.png`: true against predicted class, counts in the cells,
  colours normalised per true class (row).
- `filters.png`: the weights of the first convolution, one panel per filter.
- `feature_maps.png`: what the first convolution blocks output for one example.
- `receptive_field.png`: how far one unit of each convolution sees into the
  example (rectangles over an image, intervals under a spectrogram or under
  the tokens of a text).
- `index.html`: the metrics table and the pictures with one-line captions,
  self-contained (relative image paths, inline style, no script).

Every picture is made on its own: one that cannot be made (no example, no
history, no convolution in the model) is skipped with a logged warning and
the page says that it is missing and why.

The walk over the model is the one `mmcnn.inspect` does: the functional
model's layers in order, descending into blocks through their
`inspect_path()` and into nested `keras.Sequential` models.

Figures are plain `matplotlib.figure.Figure` objects drawn on the Agg canvas:
no pyplot, no display needed, and the global matplotlib backend of the
caller (a notebook, say) is left alone.
"""

import html
import logging
import math
import os
import pathlib

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from matplotlib import colormaps, patheffects
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mmcnn.inspect import receptive_field
from mmcnn.layers import ConvBlock, ResidualBlock
from mmcnn.layers.conv_block import SequentialBlock

logger = logging.getLogger("mmcnn")

_CONV_TYPES = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
)
_CONV_TYPE_NAMES = tuple(t.__name__ for t in _CONV_TYPES)
_BLOCK_TYPES = (ConvBlock, ResidualBlock)

# At most this many panels per block in feature_maps.png; wide layers show their first ones.
MAX_MAPS_PER_BLOCK = 64
# Blocks drawn in feature_maps.png.
FEATURE_MAP_BLOCKS = 3
# Longest stretch of tokens drawn in the text receptive-field picture.
MAX_TOKENS_DRAWN = 64
_DPI = 100

PICTURES = {
    "learning_curves.png": "Loss and accuracy after each epoch on the training data (solid) and the "
    "validation data (dashed); the dotted line marks the epoch of lowest "
    "validation loss.",
    "confusion_matrix.png": "Rows are the true classes, columns the predicted ones; each cell holds "
    "the number of examples, its colour the fraction of its true class.",
    "filters.png": "The weights of the first convolution, one panel per filter: the pattern each "
    "filter responds to most strongly (red positive, blue negative; "
    "filters over three colour channels are drawn in colour).",
    "feature_maps.png": "What the first convolution blocks output for one example: one panel (or row) "
    "per filter, bright where the filter's pattern is found.",
    "receptive_field.png": "How much of the input one unit of each convolution sees: the receptive "
    "field grows with depth, faster after pooling or strides.",
}


class ReportError(ValueError):
    """A picture cannot be made from what was given (the reason is the message)."""


# ------------------------------------------------------------------ the walk
def _children(layer):
    if hasattr(layer, "inspect_path"):
        return list(layer.inspect_path())
    if isinstance(layer, keras.Sequential):
        return list(layer.layers)
    return None


def iter_layers(model):
    """Yields `(path, layer)` for every primitive layer, in `mmcnn.inspect`'s order.

    `path` is the same slash-separated name `mmcnn.inspect.receptive_field`
    gives the layer (`"adapter/stem/conv"`); side branches (a residual
    shortcut) are not visited.
    """

    def visit(layer, prefix):
        name = f"{prefix}{layer.name}"
        children = _children(layer)
        if children is None:
            yield name, layer
            return
        for child in children:
            yield from visit(child, f"{name}/")

    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        yield from visit(layer, "")


def _nested_convs(layer):
    """Convolutions tracked inside a layer that `inspect_path()` does not open."""
    return [
        sub
        for sub in layer._flatten_layers(include_self=False, recursive=True)
        if isinstance(sub, _CONV_TYPES)
    ]


def first_conv(model):
    """`(path, layer)` of the first convolution on the model's path, or `None`.

    A layer that hides its convolutions from the walk (no `inspect_path()`,
    such as text's parallel-window adapter) is searched through its tracked
    sublayers.
    """
    walk = list(iter_layers(model))
    for path, layer in walk:
        if isinstance(layer, _CONV_TYPES):
            return path, layer
    for path, layer in walk:
        nested = _nested_convs(layer)
        if nested:
            return f"{path}/{nested[0].name}", nested[0]
    return None


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


def _trace(model, batch):
    """Runs `batch` through `model` eagerly, layer by layer, in inference mode.

    Sequential blocks are opened (their `call` is the chain of their
    `inspect_path()`), so that the blocks inside the adapter and the backbone
    are reached. Returns a list of `(path, layer, input, output)`, one per
    layer called, innermost first.
    """
    records = []

    def run(layer, x, prefix):
        name = f"{prefix}{layer.name}"
        # Only a block whose call is the plain chain may be opened; any other is run whole.
        if isinstance(layer, SequentialBlock) and type(layer).call is SequentialBlock.call:
            y = x
            for child in layer.inspect_path():
                y = run(child, y, f"{name}/")
        else:
            y = layer(x, training=False)
        records.append((name, layer, x, y))
        return y

    values = {id(t): tf.convert_to_tensor(v) for t, v in zip(model.inputs, [batch])}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        node = layer._inbound_nodes[0]
        inputs = [values[id(t)] for t in node.input_tensors]
        out = run(layer, inputs[0], "") if len(inputs) == 1 else layer(inputs, training=False)
        for t, v in zip(node.output_tensors, keras.tree.flatten(out)):
            values[id(t)] = v
    return records


def _blocks(records):
    """The convolution blocks of a trace in order; plain conv layers if there are none."""
    blocks = [r for r in records if isinstance(r[1], _BLOCK_TYPES)]
    if not blocks:
        blocks = [r for r in records if isinstance(r[1], _CONV_TYPES)]
    if not blocks:  # convolutions hidden inside a layer: take that layer's output
        blocks = [r for r in records if _nested_convs(r[1])]
    if not blocks:
        raise ReportError("the model has no convolution layer")
    return blocks


def _numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


# --------------------------------------------------------------- the example
def _example_batch(classifier, model, example):
    """One example as a batch of one model input."""
    if example is None:
        raise ReportError("no example input was given")
    spec = model.inputs[0]
    shape = tuple(spec.shape[1:])
    if spec.dtype == "string":
        if isinstance(example, bytes):
            example = example.decode("utf-8", errors="replace")
        if not isinstance(example, str):
            raise ReportError(f"the model reads texts; the example is a {type(example).__name__}")
        return tf.constant([[example]] if shape == (1,) else [example])
    if not isinstance(example, (str, bytes, os.PathLike)):
        array = np.asarray(example)
        if array.dtype.kind in "uif" and array.shape == shape:
            return array[None].astype("float32")
    if classifier is None or not hasattr(classifier, "preprocess"):
        raise ReportError(f"the example has shape {np.shape(example)}, the model wants {shape}")
    if isinstance(example, (str, bytes, os.PathLike)):
        prepared = classifier.preprocess([example])
    else:
        prepared = classifier.preprocess(np.asarray(example)[None])
    return np.asarray(prepared, dtype="float32")[:1]


def _is_text(model):
    return model.inputs[0].dtype == "string"


def _token_strings(model, records):
    """The example's tokens (padding dropped) from the tokenizer's output and vocabulary."""
    ids = None
    for _, _, _, y in records:
        if y.dtype.is_integer and len(y.shape) == 2:
            ids = _numpy(y)[0]
            break
    if ids is None:
        raise ReportError("no token ids found in the model (no tokenizer layer)")
    vocabulary = None
    for _, layer in iter_layers(model):
        if hasattr(layer, "get_vocabulary"):
            vocabulary = list(layer.get_vocabulary())
            break
    ids = [int(i) for i in ids]
    real = len(ids)
    while real > 0 and ids[real - 1] == 0:
        real -= 1
    tokens = [vocabulary[i] if vocabulary is not None and i < len(vocabulary) else str(i) for i in ids]
    return tokens, real


def _audio_timing(model):
    """(sample_rate, hop_length, n_fft) of the model's spectrogram layer, or None."""
    for _, layer in iter_layers(model):
        if all(hasattr(layer, a) for a in ("sample_rate", "hop_length")):
            return layer.sample_rate, layer.hop_length, getattr(layer, "n_fft", None)
    return None


# ------------------------------------------------------------------ pictures
def _grid(n, max_cols=16):
    cols = min(n, max_cols)
    return cols, math.ceil(n / cols)


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


def plot_feature_maps(classifier, example, blocks=FEATURE_MAP_BLOCKS):
    """Feature maps of `example` after the first `blocks` convolution blocks.

    2-D blocks: one panel per filter (at most `MAX_MAPS_PER_BLOCK`). 1-D
    blocks: one heat map per block, filters down and time (frames or tokens)
    across. The first row shows the input of the first block.
    """
    model = getattr(classifier, "model", classifier)
    batch = _example_batch(classifier, model, example)
    records = _trace(model, batch)
    chosen = _blocks(records)[:blocks]
    first_input = _numpy(chosen[0][2])[0]
    one_d = _numpy(chosen[0][3]).ndim == 3
    fig = Figure(
        figsize=(12, 2.2 + 2.4 * len(chosen) if one_d else 3 + 2.0 * len(chosen) + 1.0),
        dpi=_DPI,
        layout="constrained",
    )
    if one_d:
        axes = fig.subplots(len(chosen) + 1, 1)
        if first_input.ndim == 2:
            _show_input(axes[0], first_input)
            axes[0].set_title(
                f"input of {chosen[0][0]}: {first_input.shape[1]} channels x {first_input.shape[0]} steps",
                fontsize=9,
            )
            axes[0].set_ylabel("channel")
        else:  # token ids: show the tokens themselves
            tokens, real = _token_strings(model, records)
            axes[0].axis("off")
            axes[0].text(
                0.0,
                0.5,
                " ".join(tokens[: min(real, MAX_TOKENS_DRAWN)]),
                fontsize=9,
                va="center",
                wrap=True,
                transform=axes[0].transAxes,
            )
            axes[0].set_title(f"input of {chosen[0][0]}: {real} tokens", fontsize=9)
        for ax, (path, _, _, y) in zip(axes[1:], chosen):
            maps = _numpy(y)[0]
            image = ax.imshow(maps.T, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest")
            fig.colorbar(image, ax=ax, pad=0.01)
            ax.set_title(f"{path}: {maps.shape[1]} filters x {maps.shape[0]} steps", fontsize=9)
            ax.set_ylabel("filter")
        axes[-1].set_xlabel("token" if _is_text(model) else "frame")
        fig.mmcnn_panels = [_numpy(y).shape[-1] for _, _, _, y in chosen]
        return fig

    sizes = [min(_numpy(y).shape[-1], MAX_MAPS_PER_BLOCK) for _, _, _, y in chosen]
    rows_per = [_grid(n)[1] for n in sizes]
    fig.set_size_inches(12, 2.0 + sum(0.85 * r + 0.4 for r in rows_per))
    subfigs = fig.subfigures(len(chosen) + 1, 1, height_ratios=[2.0] + [0.85 * r + 0.4 for r in rows_per])
    ax = subfigs[0].subplots()
    raw = _numpy(batch)[0]
    _show_input(ax, raw if raw.ndim == 3 else first_input)
    ax.set_xticks([])
    ax.set_yticks([])
    subfigs[0].suptitle("input example", fontsize=9)
    for sub, (path, _, _, y), n in zip(subfigs[1:], chosen, sizes):
        maps = _numpy(y)[0]
        cols, rows = _grid(n)
        for i in range(n):
            a = sub.add_subplot(rows, cols, i + 1)
            a.imshow(maps[..., i], cmap="viridis", interpolation="nearest")
            a.set_xticks([])
            a.set_yticks([])
        total = maps.shape[-1]
        note = f" (first {n} of {total})" if n < total else ""
        sub.suptitle(f"{path}: {total} maps of {maps.shape[0]}x{maps.shape[1]}{note}", fontsize=9)
    fig.mmcnn_panels = sizes
    return fig


def conv_fields(model):
    """Receptive field of each convolution, in units of the first convolution's input.

    Returns:
        list of `(path, size)`, `size` a tuple with one entry per spatial
        axis: input positions (pixels, frames, tokens) one output unit sees.
        The sizes come from `mmcnn.inspect.receptive_field`, rescaled by the
        field of the first convolution's input (so an audio model counts
        spectrogram frames even if the table counts samples).
    """
    table = receptive_field(model)
    table = table[table["on_path"]].reset_index(drop=True)
    is_conv = table["type"].isin(_CONV_TYPE_NAMES)
    if not is_conv.any():
        for path, layer in iter_layers(model):
            # Text's adapter hides its windows from the table but states them itself.
            if hasattr(layer, "token_windows"):
                widths = sorted({width for _, width, _ in layer.token_windows()})
                return [(f"{path} ({width}-token windows)", (width,)) for width in widths]
        raise ReportError("the model has no convolution layer")
    first = int(np.flatnonzero(is_conv.to_numpy())[0])
    if first > 0 and table.loc[first - 1, "size"] is not None:
        size0, jump0 = table.loc[first - 1, "size"], table.loc[first - 1, "jump"]
    else:
        rank = len(table.loc[first, "size"])
        size0, jump0 = (1,) * rank, (1,) * rank
    fields = []
    for _, row in table[is_conv].iterrows():
        size = tuple(int(round((s - s0) / j0)) + 1 for s, s0, j0 in zip(row["size"], size0, jump0))
        fields.append((row["layer"], size))
    return fields


def _conv_stack_fields(model, block_input_shape):
    """`conv_fields` of the model's primitive layers from the first conv block on, alone.

    Used when the whole-model table has fewer field axes than the convolutions
    (a layer that adds a spatial axis, such as audio's channel axis for 2-D
    convolutions over the spectrogram, is taken by `mmcnn.inspect` for an
    embedding). Fresh copies of the layers (configs only, no weights) are
    stacked on an input of the first block's input shape.
    """
    walk = list(iter_layers(model))
    conv_at = [i for i, (_, layer) in enumerate(walk) if isinstance(layer, _CONV_TYPES)]
    prefix = walk[conv_at[0]][0].rsplit("/", 1)[0] + "/"
    start = next(i for i, (path, _) in enumerate(walk) if path.startswith(prefix))
    copies, paths = [], {}
    for path, layer in walk[start : conv_at[-1] + 1]:
        config = layer.get_config()
        config["name"] = f"layer{len(copies)}"  # unique in the stack
        paths[config["name"]] = path
        copies.append(type(layer).from_config(config))
    stack = keras.Sequential([keras.Input(tuple(block_input_shape)), *copies])
    return [(paths[name], size) for name, size in conv_fields(stack)]


def _short(path):
    return path[:-5] if path.endswith("/conv") else path


def plot_receptive_field(classifier, example):
    """The receptive field of each convolution drawn over the example.

    Images: concentric rectangles centred on the image centre. Audio: one
    interval per convolution under the spectrogram, along time. Text: one bar
    per convolution under the example's tokens (the token window it sees).
    """
    model = getattr(classifier, "model", classifier)
    fields = conv_fields(model)
    batch = _example_batch(classifier, model, example)
    records = _trace(model, batch)
    canvas = _numpy(_blocks(records)[0][2])[0]
    if len(fields[0][1]) < canvas.ndim - 1:
        fields = _conv_stack_fields(model, canvas.shape)
    # Categorical colours that stay visible over grey images and dark spectrograms.
    colours = [colormaps["tab10"](i % 10) for i in range(len(fields))]
    if canvas.ndim == 3:
        unit = "pixels" if len(model.inputs[0].shape) == 4 else "positions"
        return _receptive_field_2d(fields, canvas, _numpy(batch)[0], colours, unit)
    if _is_text(model):
        tokens, real = _token_strings(model, records)
        return _receptive_field_text(fields, tokens, real, colours)
    return _receptive_field_audio(fields, canvas, _audio_timing(model), colours)


def _receptive_field_2d(fields, canvas, raw, colours, unit):
    h, w = canvas.shape[:2]
    fig = Figure(figsize=(8.5, 6), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    _show_input(ax, raw if raw.ndim == 3 and raw.shape[:2] == (h, w) else canvas)
    cy, cx = (h - 1) // 2, (w - 1) // 2
    halo = [patheffects.withStroke(linewidth=3.5, foreground="white")]
    for (path, (fh, fw)), colour in zip(fields, colours):
        # Centred on a real unit's field: a pixel for odd sizes, a pixel edge for even ones.
        y0, x0 = _centre(cy, fh) - fh / 2, _centre(cx, fw) - fw / 2
        ax.add_patch(
            Rectangle(
                (x0, y0),
                fw,
                fh,
                fill=False,
                edgecolor=colour,
                linewidth=2,
                path_effects=halo,
                label=f"{_short(path)}: {fh}x{fw}",
            )
        )
    biggest_h = max(f[1][0] for f in fields)
    biggest_w = max(f[1][1] for f in fields)
    half_h, half_w = max(h, biggest_h) / 2 * 1.05, max(w, biggest_w) / 2 * 1.05
    mid_y, mid_x = (h - 1) / 2, (w - 1) / 2
    ax.set_xlim(mid_x - half_w, mid_x + half_w)
    ax.set_ylim(mid_y + half_h, mid_y - half_h)
    ax.set_title(f"receptive field by depth over a {h}x{w} input ({unit})")
    fig.legend(loc="outside right center", fontsize=8, title="conv layer: field")
    return fig


def _centre(index, size):
    """Centre of a field of `size` cells around cell `index` (a cell edge for even sizes)."""
    return index + (0.5 if size % 2 == 0 else 0.0)


def _interval_bars(ax, fields, index, colours, unit):
    for depth, ((_path, (size,)), colour) in enumerate(zip(fields, colours)):
        left = _centre(index, size) - size / 2
        ax.barh(depth, size, left=left, height=0.6, color=colour, alpha=0.85)
        ax.text(left + size + 0.3, depth, f"{size} {unit}", va="center", fontsize=7)
    ax.set_yticks(range(len(fields)), [_short(p) for p, _ in fields], fontsize=7)
    ax.set_ylim(len(fields) - 0.4, -0.6)


def _receptive_field_audio(fields, canvas, timing, colours):
    frames = canvas.shape[0]
    fig = Figure(figsize=(11, 3.0 + 0.28 * len(fields)), dpi=_DPI, layout="constrained")
    top, bottom = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3.0, 0.8 + 0.25 * len(fields)]}
    )
    top.imshow(
        canvas.T,
        aspect="auto",
        origin="lower",
        cmap="magma",
        interpolation="nearest",
        extent=(-0.5, frames - 0.5, -0.5, canvas.shape[1] - 0.5),
    )
    top.set_ylabel("mel bin / channel")
    centre = (frames - 1) // 2
    biggest = max(s[0] for _, s in fields)
    for (_, (size,)), colour in zip(fields, colours):
        left = _centre(centre, size) - size / 2
        for edge in (left, left + size):
            top.axvline(edge, color=colour, linewidth=1.5, linestyle="--")
    _interval_bars(bottom, fields, centre, colours, "frames")
    half = max(frames, biggest) / 2 * 1.05
    bottom.set_xlim(centre - half, centre + half)
    bottom.set_xlabel("frame")
    title = f"receptive field by depth over {frames} spectrogram frames"
    if timing is not None:
        rate, hop, n_fft = timing
        seconds = ((biggest - 1) * hop + (n_fft or hop)) / rate
        title += f" (hop {1000 * hop / rate:.0f} ms; the last layer sees {seconds * 1000:.0f} ms)"
    top.set_title(title, fontsize=10)
    return fig


def _receptive_field_text(fields, tokens, real, colours):
    biggest = max(s[0] for _, s in fields)
    centre = (max(real, 1) - 1) // 2
    span = min(max(real, biggest) + 2, MAX_TOKENS_DRAWN)
    low = max(int(math.floor(centre - span / 2)), 0)
    high = min(low + span, len(tokens))
    longest = max(min(len(t), 14) for t in tokens[low:high])
    token_height = 0.3 + 0.075 * longest  # inches taken by the vertical token labels
    fig = Figure(
        figsize=(max(7.0, min(2.5 + 0.3 * (high - low), 18)), token_height + 1.4 + 0.3 * len(fields)),
        dpi=_DPI,
        layout="constrained",
    )
    top, bottom = fig.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [token_height, 0.8 + 0.3 * len(fields)]}
    )
    for i in range(low, high):
        padding = i >= real
        token = tokens[i] if len(tokens[i]) <= 14 else tokens[i][:13] + "…"
        top.text(
            i,
            0.0,
            token,
            rotation=90,
            ha="center",
            va="bottom",
            fontsize=8,
            color="lightgrey" if padding else "black",
        )
    top.set_ylim(0, 1)
    top.axis("off")
    top.set_title(f"receptive field by depth over the example's {real} tokens (padding in grey)", fontsize=10)
    _interval_bars(bottom, fields, centre, colours, "tokens")
    bottom.set_xlim(low - 0.5 - 0.05 * span, high - 0.5 + 0.15 * span)
    bottom.set_xlabel("token position")
    return fig


# -------------------------------------------------------------------- report
def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def _metrics_html(metrics):
    if not metrics:
        return "<p class='missing'>No metrics were given.</p>"
    rows = [
        ("accuracy", metrics.get("accuracy")),
        ("macro-F1", metrics.get("macro_f1")),
        ("examples", metrics.get("num_examples")),
        ("skipped inputs", metrics.get("skipped")),
    ]
    parts = ["<table><tbody>"]
    parts += [f"<tr><th>{name}</th><td>{_fmt(value)}</td></tr>" for name, value in rows if value is not None]
    parts.append("</tbody></table>")
    per_class = metrics.get("per_class") or {}
    if per_class:
        parts.append(
            "<h3>Per class</h3><table><thead><tr><th>class</th><th>precision</th>"
            "<th>recall</th><th>F1</th><th>support</th></tr></thead><tbody>"
        )
        for name, scores in per_class.items():
            cells = "".join(
                f"<td>{_fmt(scores.get(k, ''))}</td>" for k in ("precision", "recall", "f1", "support")
            )
            parts.append(f"<tr><th>{html.escape(str(name))}</th>{cells}</tr>")
        parts.append("</tbody></table>")
    return "\n".join(parts)


def _model_html(classifier, model):
    items = [("model", model.name), ("parameters", f"{model.count_params():,}")]
    for name in ("modality", "preset"):
        if hasattr(classifier, name):
            items.append((name, getattr(classifier, name)))
    class_names = getattr(classifier, "class_names", None)
    if class_names:
        items.append(("classes", ", ".join(map(str, class_names))))
    try:
        from mmcnn.inspect import total_macs

        items.append(("multiply-adds per example", f"{total_macs(model):,}"))
    except Exception as error:  # the page must not fail on a count
        logger.debug("report: no multiply-add count: %s", error)
    return "<p>" + "<br>\n".join(f"<b>{html.escape(k)}</b>: {html.escape(str(v))}" for k, v in items) + "</p>"


_STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4;text-align:left}figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.95em}.missing{color:#a33}"""


def write_report(classifier, report_dir, history=None, metrics=None, example=None):
    """Writes the run report: PNG pictures and an `index.html` that shows them.

    Args:
        classifier: an mmcnn classifier (or a built Keras model).
        report_dir: folder to write into (created if needed; files of the
            same names are replaced).
        history: training history: a `History`, its `.history` dict, or a
            DataFrame read from `history.csv`.
        metrics: the dict of `Classifier.evaluate` /
            `mmcnn.models.metrics.classification_report`.
        example: one model input for the feature-map and receptive-field
            pictures: image pixels `(h, w, c)`, an audio waveform `(samples,)`,
            a text string (or a file path the classifier can read).

    Returns:
        List of `pathlib.Path` of the files written, `index.html` last.
        Pictures that could not be made are left out, logged as warnings
        and named as missing in the page.

    Example:
    >>> import tempfile, mmcnn
    >>> clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
    >>> files = write_report(clf, tempfile.mkdtemp())
    >>> [f.name for f in files]
    ['filters.png', 'index.html']
    """
    report_dir = pathlib.Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    model = getattr(classifier, "model", classifier)
    makers = {
        "learning_curves.png": lambda: plot_learning_curves(history),
        "confusion_matrix.png": lambda: plot_confusion_matrix(metrics),
        "filters.png": lambda: plot_filters(model),
        "feature_maps.png": lambda: plot_feature_maps(classifier, example),
        "receptive_field.png": lambda: plot_receptive_field(classifier, example),
    }
    written, missing = [], {}
    for name, make in makers.items():
        try:
            fig = make()
            info = {"Title": name, "Description": PICTURES[name], "Software": "mmcnn"}
            if hasattr(fig, "mmcnn_panels"):
                info["mmcnn:panels"] = str(fig.mmcnn_panels)
            fig.savefig(report_dir / name, metadata=info)
            written.append(report_dir / name)
        except Exception as error:  # one picture must never sink the report
            reason = str(error) or type(error).__name__
            if not isinstance(error, ReportError):
                reason = f"{type(error).__name__}: {reason}"
                logger.debug("report: %s failed", name, exc_info=True)
            logger.warning("report: %s was not made: %s", name, reason)
            missing[name] = reason

    title = f"mmcnn report: {model.name}"
    sections = []
    for name, caption in PICTURES.items():
        if name in missing:
            sections.append(f"<p class='missing'><b>{name}</b> is missing: {html.escape(missing[name])}</p>")
        else:
            sections.append(
                f'<figure><img src="{name}" alt="{name}">'
                f"<figcaption><b>{name}</b>: {html.escape(caption)}</figcaption></figure>"
            )
    page = (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{_model_html(classifier, model)}\n"
        f"<h2>Metrics</h2>\n{_metrics_html(metrics)}\n<h2>Pictures</h2>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
    index = report_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    written.append(index)
    return written


__all__ = [
    "ReportError",
    "conv_fields",
    "filter_panels",
    "first_conv",
    "iter_layers",
    "plot_confusion_matrix",
    "plot_feature_maps",
    "plot_filters",
    "plot_learning_curves",
    "plot_receptive_field",
    "write_report",
]
