"""The audio receptive-field front door: 1-D windows of spectrogram frames (time).

The log-mel converter lays a clip out as `(batch, frames, mel_bins)`. The default
adapter slides 1-D convolutions along the frames and treats the mel bins as
channels, so each filter sees every frequency band of a few consecutive frames
(a short stretch of time). With `rank=2` the spectrogram is treated as a
one-channel image instead (windows over both time and frequency), for comparison.
"""

import keras

from mmcnn.layers import validation as v
from mmcnn.layers.conv_block import ConvBlock, SequentialBlock
from mmcnn.layers.padding import PAD_MODES

# Layout of the spectrogram the adapter receives.
TIME_AXIS = 1
MEL_AXIS = 2


@keras.saving.register_keras_serializable(package="mmcnn")
class AddChannelAxis(keras.layers.Layer):
    """Appends a channel axis of size 1: `(batch, frames, mel_bins)` -> `(..., 1)`.

    Lets a 2-D convolution read a spectrogram as a one-channel image.

    Input shape:
        `(batch, frames, mel_bins)`.

    Output shape:
        `(batch, frames, mel_bins, 1)`.

    Example:
    >>> import numpy as np
    >>> AddChannelAxis()(np.zeros((2, 101, 64), "float32")).shape
    TensorShape([2, 101, 64, 1])
    """

    def call(self, inputs):
        return keras.ops.expand_dims(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape, 1)


@keras.saving.register_keras_serializable(package="mmcnn")
class AudioAdapter(SequentialBlock):
    """The stem convolution over a spectrogram: 1-D along time, or 2-D as an image.

    With `rank=1` (the default) a `ConvBlock` slides `kernel_size` frames at a
    time over the spectrogram with the mel bins as input channels: every filter
    weighs all frequency bands of a short stretch of time. With `rank=2` a
    channel axis is added first and the stem slides a `kernel_size` x
    `kernel_size` window over (frames, mel bins), as over an image.

    Args:
        filters: feature maps of the stem.
        kernel_size: stem window, in frames (rank 1) or frames x bins (rank 2).
        strides: stem stride (2 halves the number of frames).
        rank: 1 (time windows, mel bins as channels) or 2 (spectrogram as image).
        pad_mode: padding fill mode of the stem: `"zeros"`, `"reflect"`,
            `"symmetric"` or `"edge"`.
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            (`"float16"`, `"mixed_bfloat16"`, ...) is passed on to every
            sublayer.

    Input shape:
        `(batch, frames, mel_bins)` log-mel (or MFCC) features (float32 from
        the converter; cast to the compute dtype on the way in).

    Output shape:
        rank 1: `(batch, frames / strides, filters)`;
        rank 2: `(batch, frames / strides, mel_bins / strides, filters)`;
        in the compute dtype.

    Example:
    >>> import numpy as np
    >>> AudioAdapter(32)(np.zeros((2, 101, 64), "float32")).shape
    TensorShape([2, 101, 32])
    >>> AudioAdapter(8, rank=2)(np.zeros((2, 101, 64), "float32")).shape
    TensorShape([2, 101, 64, 8])
    """

    def __init__(self, filters=64, kernel_size=5, strides=1, rank=1, pad_mode="zeros", **kwargs):
        super().__init__(**kwargs)
        self.filters = v.check_positive_int("filters", filters)
        self.kernel_size = v.check_positive_int("kernel_size", kernel_size)
        self.strides = v.check_positive_int("strides", strides)
        self.rank = v.check_choice("rank", rank, (1, 2))
        self.pad_mode = v.check_choice("pad_mode", pad_mode, PAD_MODES)
        policy = self.dtype_policy
        stem = ConvBlock(
            filters, kernel_size, rank=rank, strides=strides, pad_mode=pad_mode, name="stem", dtype=policy
        )
        self._sequence = [stem] if rank == 1 else [AddChannelAxis(name="channel_axis", dtype=policy), stem]

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "`AudioAdapter` expects a 3D input (batch, frames, mel_bins). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        super().build(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "rank": self.rank,
                "pad_mode": self.pad_mode,
            }
        )
        return config
