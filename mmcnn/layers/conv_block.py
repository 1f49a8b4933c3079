"""The convolution block, written once for 1-D and 2-D inputs."""

import keras

from mmcnn.layers import validation as v
from mmcnn.layers.padding import PAD_MODES, Pad, same_padding

POOLINGS = (None, "max", "avg")
NORMALIZATIONS = (None, "batch", "layer")

_CONV = {1: keras.layers.Conv1D, 2: keras.layers.Conv2D}
_SEPARABLE = {1: keras.layers.SeparableConv1D, 2: keras.layers.SeparableConv2D}
_POOL = {
    ("max", 1): keras.layers.MaxPooling1D,
    ("max", 2): keras.layers.MaxPooling2D,
    ("avg", 1): keras.layers.AveragePooling1D,
    ("avg", 2): keras.layers.AveragePooling2D,
}
_DROPOUT = {1: keras.layers.SpatialDropout1D, 2: keras.layers.SpatialDropout2D}


class SequentialBlock(keras.layers.Layer):
    """Base for blocks that run their sublayers one after another.

    Subclasses fill `self._sequence` in `__init__`, creating each sublayer with
    `dtype=self.dtype_policy` so that the block's policy (`"float16"`,
    `"mixed_bfloat16"`, ...) reaches every computation; `build`, `call`,
    `compute_output_shape` and the inspection walk follow it.
    """

    def build(self, input_shape):
        shape = input_shape
        for layer in self._sequence:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._sequence:
            x = _call(layer, x, training)
        return x

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for layer in self._sequence:
            shape = layer.compute_output_shape(shape)
        return shape

    def inspect_path(self):
        """The sublayers an input passes through, in order (for `mmcnn.inspect`)."""
        return list(self._sequence)


def _call(layer, x, training):
    if isinstance(
        layer,
        (
            keras.layers.BatchNormalization,
            keras.layers.Dropout,
            keras.layers.SpatialDropout1D,
            keras.layers.SpatialDropout2D,
            SequentialBlock,
        ),
    ):
        return layer(x, training=training)
    return layer(x)


@keras.saving.register_keras_serializable(package="mmcnn")
class ConvBlock(SequentialBlock):
    """Convolution -> normalisation -> activation -> pooling -> dropout.

    One filter of `kernel_size` positions slides over the input sharing its
    weights; `rank` says whether it slides along one axis (audio frames, text
    tokens) or two (image pixels).

    Args:
        filters: number of output feature maps.
        kernel_size: window size, an int or one int per spatial axis.
        rank: 1 or 2 spatial axes.
        strides: step of the window; 2 halves the resolution (a strided
            convolution instead of pooling).
        dilation_rate: spacing between the window's taps.
        padding: `"same"` keeps the length at stride 1; `"valid"` does not pad.
        pad_mode: fill for `padding="same"`: `"zeros"`, `"reflect"`,
            `"symmetric"` or `"edge"`.
        normalization: `"batch"`, `"layer"` or `None`.
        activation: any Keras activation name, or `None` for linear.
        pooling: `None`, `"max"` or `"avg"`, applied after the activation.
        pool_size: pooling window (and stride).
        dropout: spatial dropout rate after pooling, in [0, 1).
        separable: use a depthwise-separable convolution (far fewer weights).
        kernel_initializer: initializer of the convolution kernel.
        kernel_regularizer: optional regularizer of the kernel.
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            (`"float16"`, `"mixed_bfloat16"`, ...) is passed on to every sublayer.

    Input shape:
        `(batch, *spatial, channels)` with `rank` spatial axes.

    Output shape:
        `(batch, *new_spatial, filters)`.

    Example:
    >>> import numpy as np
    >>> block = ConvBlock(8, 3, rank=2, pooling="max")
    >>> block(np.zeros((2, 32, 32, 3), "float32")).shape
    TensorShape([2, 16, 16, 8])
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        rank=2,
        strides=1,
        dilation_rate=1,
        padding="same",
        pad_mode="zeros",
        normalization="batch",
        activation="relu",
        pooling=None,
        pool_size=2,
        dropout=0.0,
        separable=False,
        kernel_initializer="he_normal",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.rank = v.check_choice("rank", rank, (1, 2))
        self.filters = v.check_positive_int("filters", filters)
        self.kernel_size = v.to_tuple("kernel_size", kernel_size, rank)
        self.strides = v.to_tuple("strides", strides, rank)
        self.dilation_rate = v.to_tuple("dilation_rate", dilation_rate, rank)
        self.padding = v.check_choice("padding", padding, ("same", "valid"))
        self.pad_mode = v.check_choice("pad_mode", pad_mode, PAD_MODES)
        self.normalization = v.check_choice("normalization", normalization, NORMALIZATIONS)
        self.activation = activation
        self.pooling = v.check_choice("pooling", pooling, POOLINGS)
        self.pool_size = v.to_tuple("pool_size", pool_size, rank)
        self.dropout = v.check_fraction("dropout", dropout)
        self.separable = bool(separable)
        self.kernel_initializer = kernel_initializer
        self.kernel_regularizer = kernel_regularizer
        if any(d > 1 for d in self.dilation_rate) and any(s > 1 for s in self.strides):
            raise ValueError(
                "`dilation_rate` > 1 cannot be combined with `strides` > 1. "
                f"Received: strides={strides}, dilation_rate={dilation_rate}"
            )
        self._sequence = self._make_layers()

    def _make_layers(self):
        policy = self.dtype_policy
        layers = []
        conv_padding = self.padding
        if self.padding == "same" and self.pad_mode != "zeros":
            pads = tuple(same_padding(k, d) for k, d in zip(self.kernel_size, self.dilation_rate))
            layers.append(Pad(pads, mode=self.pad_mode, rank=self.rank, name="pad", dtype=policy))
            conv_padding = "valid"
        use_bias = self.normalization is None
        common = dict(
            kernel_size=self.kernel_size,
            strides=self.strides,
            dilation_rate=self.dilation_rate,
            padding=conv_padding,
            use_bias=use_bias,
            name="conv",
            dtype=policy,
        )
        if self.separable:
            layers.append(
                _SEPARABLE[self.rank](
                    self.filters,
                    depthwise_initializer=self.kernel_initializer,
                    pointwise_initializer=self.kernel_initializer,
                    pointwise_regularizer=keras.regularizers.get(self.kernel_regularizer),
                    **common,
                )
            )
        else:
            layers.append(
                _CONV[self.rank](
                    self.filters,
                    kernel_initializer=self.kernel_initializer,
                    kernel_regularizer=keras.regularizers.get(self.kernel_regularizer),
                    **common,
                )
            )
        if self.normalization == "batch":
            # momentum 0.9 (PyTorch's default): moving statistics that catch up within
            # a few dozen steps, so small data sets evaluate sensibly early on.
            layers.append(keras.layers.BatchNormalization(momentum=0.9, name="norm", dtype=policy))
        elif self.normalization == "layer":
            layers.append(keras.layers.LayerNormalization(name="norm", dtype=policy))
        if self.activation is not None:
            layers.append(keras.layers.Activation(self.activation, name="act", dtype=policy))
        if self.pooling is not None:
            layers.append(
                _POOL[(self.pooling, self.rank)](pool_size=self.pool_size, name="pool", dtype=policy)
            )
        if self.dropout:
            layers.append(_DROPOUT[self.rank](self.dropout, name="dropout", dtype=policy))
        return layers

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "rank": self.rank,
                "strides": self.strides,
                "dilation_rate": self.dilation_rate,
                "padding": self.padding,
                "pad_mode": self.pad_mode,
                "normalization": self.normalization,
                "activation": self.activation,
                "pooling": self.pooling,
                "pool_size": self.pool_size,
                "dropout": self.dropout,
                "separable": self.separable,
                "kernel_initializer": self.kernel_initializer,
                "kernel_regularizer": self.kernel_regularizer,
            }
        )
        return config
