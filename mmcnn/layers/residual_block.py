"""The residual block: two convolutions and a shortcut, for any rank."""

import keras

from mmcnn.layers import validation as v
from mmcnn.layers.conv_block import _DROPOUT, _POOL, NORMALIZATIONS, POOLINGS, ConvBlock
from mmcnn.layers.padding import PAD_MODES


@keras.saving.register_keras_serializable(package="mmcnn")
class ResidualBlock(keras.layers.Layer):
    """`activation(conv_block(conv_block(x)) + shortcut(x))` (He et al., 2016).

    The shortcut is the identity when the shape is kept, else a 1x1
    convolution with the block's stride. With `separable=True` both
    convolutions are depthwise-separable (the MobileNet / Xception variant).

    Args:
        filters: number of output feature maps.
        kernel_size: window of both convolutions.
        rank: 1 or 2 spatial axes.
        strides: stride of the first convolution and of the shortcut.
        pad_mode: `"zeros"`, `"reflect"`, `"symmetric"` or `"edge"`.
        normalization: `"batch"`, `"layer"` or `None`.
        activation: activation after the first convolution and after the sum.
        pooling: optional `"max"` / `"avg"` pooling after the sum.
        pool_size: pooling window (and stride).
        dropout: spatial dropout rate at the end of the block.
        separable: use depthwise-separable convolutions.
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            (`"float16"`, `"mixed_bfloat16"`, ...) is passed on to every sublayer.

    Input shape:
        `(batch, *spatial, channels)` with `rank` spatial axes.

    Output shape:
        `(batch, *spatial / strides / pool_size, filters)`.

    Example:
    >>> import numpy as np
    >>> ResidualBlock(16, 3, rank=1, strides=2)(np.zeros((2, 20, 8), "float32")).shape
    TensorShape([2, 10, 16])
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        rank=2,
        strides=1,
        pad_mode="zeros",
        normalization="batch",
        activation="relu",
        pooling=None,
        pool_size=2,
        dropout=0.0,
        separable=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = v.check_positive_int("filters", filters)
        self.kernel_size = v.to_tuple("kernel_size", kernel_size, rank)
        self.rank = v.check_choice("rank", rank, (1, 2))
        self.strides = v.to_tuple("strides", strides, rank)
        self.pad_mode = v.check_choice("pad_mode", pad_mode, PAD_MODES)
        self.normalization = v.check_choice("normalization", normalization, NORMALIZATIONS)
        self.activation = activation
        self.pooling = v.check_choice("pooling", pooling, POOLINGS)
        self.pool_size = v.to_tuple("pool_size", pool_size, rank)
        self.dropout = v.check_fraction("dropout", dropout)
        self.separable = bool(separable)
        common = dict(
            rank=rank,
            kernel_size=self.kernel_size,
            pad_mode=pad_mode,
            normalization=normalization,
            separable=separable,
            dtype=self.dtype_policy,
        )
        self.conv1 = ConvBlock(filters, strides=self.strides, activation=activation, name="conv1", **common)
        self.conv2 = ConvBlock(filters, activation=None, name="conv2", **common)
        self.shortcut = None
        policy = self.dtype_policy
        self.out_activation = keras.layers.Activation(activation or "linear", name="act", dtype=policy)
        self.pool = (
            _POOL[(pooling, rank)](pool_size=self.pool_size, name="pool", dtype=policy) if pooling else None
        )
        self.drop = _DROPOUT[rank](self.dropout, name="dropout", dtype=policy) if self.dropout else None

    def build(self, input_shape):
        self.conv1.build(input_shape)
        mid = self.conv1.compute_output_shape(input_shape)
        self.conv2.build(mid)
        if input_shape[-1] != self.filters or any(s > 1 for s in self.strides):
            self.shortcut = ConvBlock(
                self.filters,
                kernel_size=1,
                rank=self.rank,
                strides=self.strides,
                normalization=self.normalization,
                activation=None,
                name="shortcut",
                dtype=self.dtype_policy,
            )
            self.shortcut.build(input_shape)

    def call(self, inputs, training=None):
        x = self.conv2(self.conv1(inputs, training=training), training=training)
        shortcut = inputs if self.shortcut is None else self.shortcut(inputs, training=training)
        x = self.out_activation(x + shortcut)
        if self.pool is not None:
            x = self.pool(x)
        if self.drop is not None:
            x = self.drop(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        shape = self.conv2.compute_output_shape(self.conv1.compute_output_shape(input_shape))
        if self.pool is not None:
            shape = self.pool.compute_output_shape(shape)
        return shape

    def inspect_path(self):
        """The longest path through the block (the shortcut sees less)."""
        tail = [layer for layer in (self.out_activation, self.pool, self.drop) if layer]
        return [self.conv1, self.conv2, *tail]

    def inspect_side(self):
        """Layers off the main path that read the block's input."""
        return [self.shortcut] if self.shortcut is not None else []

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "rank": self.rank,
                "strides": self.strides,
                "pad_mode": self.pad_mode,
                "normalization": self.normalization,
                "activation": self.activation,
                "pooling": self.pooling,
                "pool_size": self.pool_size,
                "dropout": self.dropout,
                "separable": self.separable,
            }
        )
        return config
