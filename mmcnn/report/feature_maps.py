"""`feature_maps.png`: what the first convolution blocks output for one example."""

from matplotlib.figure import Figure

from mmcnn.report.drawing import _DPI, MAX_TOKENS_DRAWN, _grid, _show_input
from mmcnn.report.example import _example_batch, _token_strings, input_axes
from mmcnn.report.model_walk import _blocks, _numpy, _trace

# At most this many panels per block in feature_maps.png; wide layers show their first ones.
MAX_MAPS_PER_BLOCK = 64
# Blocks drawn in feature_maps.png.
FEATURE_MAP_BLOCKS = 3


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
        drawn = []
        for ax, (path, layer, _, y) in zip(axes[1:], chosen):
            maps, bag = _window_maps(layer, _numpy(y)[0])
            image = ax.imshow(maps.T, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest")
            fig.colorbar(image, ax=ax, pad=0.01)
            note = f" (and {bag} bag values, the same at every token, not drawn)" if bag else ""
            ax.set_title(f"{path}: {maps.shape[1]} filters x {maps.shape[0]} steps{note}", fontsize=9)
            ax.set_ylabel("filter")
            drawn.append(maps.shape[1])
        axes[-1].set_xlabel("token" if input_axes(classifier)[0] == "tokens" else "frame")
        fig.mmcnn_panels = drawn
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


def _window_maps(layer, maps):
    """`(maps, bag)`: a 1-D layer's `(steps, channels)` output without the channels of a bag
    (text's wide adapter: one value for the whole text, repeated at every token; its
    `bag_channels()` are the last ones), and how many those were."""
    bag = layer.bag_channels() if hasattr(layer, "bag_channels") else 0
    return maps[:, : maps.shape[-1] - bag], bag
