"""The image receptive-field front door: 2-D windows over pixels."""

import keras

from mmcnn.layers import validation as v
from mmcnn.layers.conv_block import ConvBlock, SequentialBlock


@keras.saving.register_keras_serializable(package="mmcnn")
class ImageAdapter(SequentialBlock):
    """Scales pixels to [0, 1] and applies the 2-D stem convolution.

    Args:
        filters: feature maps of the stem.
        kernel_size: stem window (pixels).
        strides: stem stride (2 for large images).
        pad_mode: padding fill mode of the stem.
        pooling: `None`, `"max"` or `"avg"`: 2x2 pooling after the stem, so
            that the first stage works at half the resolution (small images
            on a small machine).
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            (`"float16"`, `"mixed_bfloat16"`, ...) is passed on to the scaling
            and the stem.

    Input shape:
        `(batch, height, width, channels)` float pixels in 0..255.

    Output shape:
        `(batch, height / strides, width / strides, filters)` (halved again
        with `pooling`), in the compute dtype.

    Example:
    >>> import numpy as np
    >>> ImageAdapter(8)(np.zeros((2, 32, 32, 3), "float32")).shape
    TensorShape([2, 32, 32, 8])
    """

    def __init__(self, filters=32, kernel_size=3, strides=1, pad_mode="zeros", pooling=None, **kwargs):
        super().__init__(**kwargs)
        self.filters = v.check_positive_int("filters", filters)
        self.kernel_size = kernel_size
        self.strides = strides
        self.pad_mode = pad_mode
        self.pooling = pooling
        policy = self.dtype_policy
        self._sequence = [
            keras.layers.Rescaling(1.0 / 255.0, name="scale", dtype=policy),
            ConvBlock(
                filters,
                kernel_size,
                rank=2,
                strides=strides,
                pad_mode=pad_mode,
                pooling=pooling,
                name="stem",
                dtype=policy,
            ),
        ]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "pad_mode": self.pad_mode,
                "pooling": self.pooling,
            }
        )
        return config
