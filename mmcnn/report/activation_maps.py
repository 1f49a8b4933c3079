"""Drawing one Grad-CAM explanation: a map over a picture, a log-mel, or the tokens of a text.

What `Classifier.explain` returns says what to draw: each map comes with a
`background` (pixels `(height, width, channels)`, a log-mel `(frames, mel_bins)`,
or a list of token strings) and, for audio, a per-frame `curve`. The kind of
picture follows from the background's type and shape, so the report knows no
modality.

A map that is all zero carries no information (no position of the input adds
evidence for the class: `Classifier.explain`'s `empty`); it is not drawn as a
flat overlay but named as empty on the panel.
"""

import os

import numpy as np
from matplotlib.figure import Figure

from mmcnn.report.drawing import _DPI, MAX_TOKENS_DRAWN

MAP_COLORS = "jet"
MAP_ALPHA = 0.45
EMPTY_MAP_NOTE = "no map: no part of the input\nadds evidence for this class"
# Token rows in a drawn text: characters per line (monospace) and most lines.
_CHARS_PER_LINE = 48
_MAX_LINES = 8


def background_kind(background):
    """`"tokens"`, `"image"`, `"spectrogram"` or `"none"`: how a map's background is drawn."""
    if background is None:
        return "none"
    if isinstance(background, (list, tuple)):
        return "tokens"
    array = np.asarray(background)
    if array.ndim == 3:
        return "image"
    if array.ndim == 2:
        return "spectrogram"
    return "none"


def draw_explanation(ax, background, cam_map, curve=None, overlay=True, empty=False):
    """Draws `cam_map` over `background` on `ax` (see the module docstring for the kinds).

    With `overlay=False`, only the background (the input) is drawn. With `empty=True` (a map
    that carries no information), the background is drawn with `EMPTY_MAP_NOTE` over it.
    """
    if empty and overlay:
        draw_explanation(ax, background, None, overlay=False)
        ax.text(
            0.5,
            0.5,
            EMPTY_MAP_NOTE,
            ha="center",
            va="center",
            fontsize=7,
            transform=ax.transAxes,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "#b22222"},
        )
        return
    kind = background_kind(background)
    cam_map = None if cam_map is None else np.asarray(cam_map, dtype="float32")
    if kind == "tokens":
        _draw_tokens(ax, list(background), cam_map if overlay else None)
        return
    if kind == "image":
        pixels = np.asarray(background, dtype="float32")
        if pixels.shape[-1] == 3:
            low, high = pixels.min(), pixels.max()
            ax.imshow((pixels - low) / (high - low if high > low else 1.0), interpolation="nearest")
        else:
            ax.imshow(pixels.mean(axis=-1), cmap="gray", interpolation="nearest")
        if overlay and cam_map is not None and cam_map.ndim == 2:
            ax.imshow(cam_map, cmap=MAP_COLORS, alpha=MAP_ALPHA, vmin=0, vmax=1, interpolation="bilinear")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    if kind == "spectrogram":
        spectrogram = np.asarray(background, dtype="float32")
        ax.imshow(spectrogram.T, aspect="auto", origin="lower", cmap="gray", interpolation="nearest")
        if overlay and cam_map is not None and cam_map.ndim == 2:
            ax.imshow(
                cam_map.T,
                aspect="auto",
                origin="lower",
                cmap=MAP_COLORS,
                alpha=MAP_ALPHA,
                vmin=0,
                vmax=1,
                interpolation="nearest",
            )
        if overlay and curve is not None:
            bins = spectrogram.shape[1]
            ax.plot(np.asarray(curve) * (bins - 1), color="white", linewidth=1.2)
        ax.set_xlabel("frame", fontsize=7)
        ax.set_ylabel("mel bin", fontsize=7)
        ax.tick_params(labelsize=6)
        return
    # No background: the map alone, at the feature maps' resolution.
    if cam_map is None:
        ax.axis("off")
    elif cam_map.ndim == 2:
        ax.imshow(cam_map, cmap=MAP_COLORS, vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.plot(cam_map.reshape(-1))
        ax.set_ylim(0, 1.05)


def _draw_tokens(ax, tokens, scores):
    """The tokens in reading order, each on a patch coloured by its score (monospace, wrapped)."""
    import matplotlib

    ax.axis("off")
    cmap = matplotlib.colormaps[MAP_COLORS]
    shown = tokens[:MAX_TOKENS_DRAWN]
    line, column = 0, 0
    for i, token in enumerate(shown):
        text = str(token)[:_CHARS_PER_LINE]
        if column and column + len(text) > _CHARS_PER_LINE:
            line, column = line + 1, 0
        if line >= _MAX_LINES:
            break
        face = "white"
        if scores is not None and i < len(scores):
            face = cmap(float(scores[i]))
            face = (*face[:3], 0.25 + 0.6 * float(scores[i]))
        ax.text(
            column / _CHARS_PER_LINE,
            1.0 - (line + 0.5) / _MAX_LINES,
            text,
            family="monospace",
            fontsize=8,
            va="center",
            ha="left",
            transform=ax.transAxes,
            bbox={"boxstyle": "square,pad=0.1", "facecolor": face, "edgecolor": "none"},
        )
        column += len(text) + 1
    if not shown:
        ax.text(0.0, 0.5, "(empty text)", fontsize=8, style="italic", transform=ax.transAxes)
    elif len(tokens) > len(shown) or line >= _MAX_LINES:
        ax.text(1.0, 0.0, "...", fontsize=8, ha="right", transform=ax.transAxes)


def explanation_item(explanation, index):
    """The `index`-th input's `(background, map, curve)` from `Classifier.explain`'s result."""
    backgrounds = explanation.get("backgrounds") or [None] * len(explanation["maps"])
    curves = explanation.get("curves")
    return (
        backgrounds[index],
        explanation["maps"][index],
        None if curves is None else curves[index],
    )


def explanation_empty(explanation, index):
    """Whether the `index`-th map of `Classifier.explain`'s result carries no information."""
    empty = explanation.get("empty")
    if empty is None:
        return not np.any(np.asarray(explanation["maps"][index]) > 0)
    return bool(empty[index])


def plot_explanation(explanation, index=0, source=None):
    """One input's picture for `mmcnn explain`: the input, its map, and the top classes.

    Args:
        explanation: what `Classifier.explain` returned.
        index: which of its inputs.
        source: a name for the title (the file, or the text).

    Returns:
        A `matplotlib.figure.Figure`.
    """
    if "maps" not in explanation and "columns" in explanation:
        from mmcnn.report.columns import plot_column_attribution

        return plot_column_attribution(explanation, index, source)
    background, cam_map, curve = explanation_item(explanation, index)
    kind = background_kind(background)
    wide = kind in ("tokens", "spectrogram")
    fig = Figure(figsize=(12, 3.4) if wide else (10, 3.6), dpi=_DPI, layout="constrained")
    axes = fig.subplots(1, 3, width_ratios=[1.4, 1.4, 1] if wide else [1, 1, 1])
    draw_explanation(axes[0], background, cam_map, overlay=False)
    axes[0].set_title("input", fontsize=9)
    empty = explanation_empty(explanation, index)
    draw_explanation(axes[1], background, cam_map, curve, empty=empty)
    explained = explanation["class_names"][index]
    if empty:
        axes[1].set_title(f"Grad-CAM map for {explained!r} is empty: it shows nothing", fontsize=9)
    else:
        axes[1].set_title(f"where the evidence for {explained!r} lies (Grad-CAM)", fontsize=9)
    top = explanation["top_k"][index]
    names = [str(name) for name, _ in top][::-1]
    values = [p for _, p in top][::-1]
    bars = axes[2].barh(range(len(top)), values, color="#4a7bb7")
    axes[2].set_yticks(range(len(top)), names, fontsize=8)
    axes[2].set_xlim(0, 1)
    axes[2].bar_label(bars, labels=[f"{p:.3f}" for p in values], fontsize=8, padding=2)
    axes[2].set_title("top classes", fontsize=9)
    axes[2].tick_params(labelsize=7)
    if source is not None:
        name = os.path.basename(os.fspath(source)) if os.path.exists(os.fspath(source)) else str(source)
        fig.suptitle(name if len(name) <= 90 else name[:87] + "...", fontsize=10)
    return fig
