"""Spatial padding with a choice of fill mode, for any rank."""

import keras
import tensorflow as tf

from mmcnn.layers import validation as v

PAD_MODES = ("zeros", "reflect", "symmetric", "edge")


def same_padding(kernel_size, dilation_rate=1):
    """Return `(before, after)` padding that keeps the length for stride 1.

    Splits like TensorFlow's `padding="same"` does: the extra cell goes after.
    """
    total = dilation_rate * (kernel_size - 1)
    return (total // 2, total - total // 2)


@keras.saving.register_keras_serializable(package="mmcnn")
class Pad(keras.layers.Layer):
    """Pads the spatial axes of a channels-last tensor.

    `zeros` fills with 0; `reflect` mirrors without repeating the border
    (`abc|ba`), `symmetric` mirrors with it (`abc|cb`), `edge` repeats the
    border value (`abc|cc`). The non-zero modes avoid the dark frame that zero
    padding paints around an image or the silence it adds to a spectrogram.

    Args:
        padding: one `(before, after)` pair per spatial axis, e.g.
            `((1, 1), (2, 2))` for rank 2; an int pads every side by it.
        mode: one of `"zeros"`, `"reflect"`, `"symmetric"`, `"edge"`.
        rank: number of spatial axes (1 or 2).

    Input shape:
        `(batch, *spatial, channels)` with `rank` spatial axes.

    Output shape:
        `(batch, *padded_spatial, channels)`.

    Example:
    >>> import numpy as np
    >>> x = np.arange(3, dtype="float32").reshape(1, 3, 1)
    >>> Pad(padding=((1, 2),), mode="edge", rank=1)(x)[0, :, 0].numpy().tolist()
    [0.0, 0.0, 1.0, 2.0, 2.0, 2.0]
    """

    def __init__(self, padding, mode="zeros", rank=2, **kwargs):
        super().__init__(**kwargs)
        self.rank = v.check_choice("rank", rank, (1, 2))
        self.mode = v.check_choice("mode", mode, PAD_MODES)
        self.padding = _normalize_padding(padding, self.rank)

    def call(self, inputs):
        if self.mode == "edge":
            return _edge_pad(inputs, self.padding)
        paddings = [[0, 0], *[list(p) for p in self.padding], [0, 0]]
        tf_mode = {"zeros": "CONSTANT", "reflect": "REFLECT", "symmetric": "SYMMETRIC"}
        return tf.pad(inputs, paddings, mode=tf_mode[self.mode])

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (before, after) in enumerate(self.padding, start=1):
            if shape[axis] is not None:
                shape[axis] += before + after
        return tuple(shape)

    def receptive_field_params(self):
        """Padding shifts positions but widens no window."""
        return {
            "kernel": (1,) * self.rank,
            "stride": (1,) * self.rank,
            "pad_before": tuple(p[0] for p in self.padding),
        }

    def get_config(self):
        config = super().get_config()
        config.update({"padding": self.padding, "mode": self.mode, "rank": self.rank})
        return config


def _normalize_padding(padding, rank):
    if isinstance(padding, int):
        padding = ((padding, padding),) * rank
    try:
        pairs = tuple((int(a), int(b)) for a, b in padding)
    except (TypeError, ValueError):
        raise ValueError(
            "`padding` must be an int or one (before, after) pair per spatial axis. "
            f"Received: padding={padding!r}"
        ) from None
    if len(pairs) != rank or any(a < 0 or b < 0 for a, b in pairs):
        raise ValueError(
            f"`padding` must hold {rank} non-negative (before, after) pairs for rank={rank}. "
            f"Received: padding={padding!r}"
        )
    return pairs


def _edge_pad(x, padding):
    for axis, (before, after) in enumerate(padding, start=1):
        length = tf.shape(x)[axis]
        parts = []
        if before:
            first = tf.gather(x, [0], axis=axis)
            parts.append(tf.repeat(first, before, axis=axis))
        parts.append(x)
        if after:
            last = tf.gather(x, [length - 1], axis=axis)
            parts.append(tf.repeat(last, after, axis=axis))
        x = tf.concat(parts, axis=axis)
    return x
