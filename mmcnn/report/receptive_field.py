"""`receptive_field.png`: how far one unit of each convolution sees into the example.

Rectangles over an image, intervals under a spectrogram or under the tokens of
a text. The sizes come from `mmcnn.inspect.receptive_field`.
"""

import math

import keras
import numpy as np
from matplotlib import colormaps, patheffects
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mmcnn.inspect import receptive_field
from mmcnn.report.drawing import _DPI, MAX_TOKENS_DRAWN, _show_input
from mmcnn.report.errors import ReportError
from mmcnn.report.example import _audio_timing, _example_batch, _token_strings, input_axes
from mmcnn.report.model_walk import _CONV_TYPE_NAMES, _CONV_TYPES, _blocks, _numpy, _trace, iter_layers


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
    axes = input_axes(classifier)
    if canvas.ndim == 3:
        unit = "pixels" if axes[:2] == ("height", "width") else "positions"
        return _receptive_field_2d(fields, canvas, _numpy(batch)[0], colours, unit)
    if axes[0] == "tokens":
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
