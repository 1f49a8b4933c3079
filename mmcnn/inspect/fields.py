"""Receptive-field arithmetic: how one layer maps the field of its input to that of its output.

Follows Dumoulin & Visin (2016): a layer with window `k` (dilated:
`k_eff = d * (k - 1) + 1`), stride `s` and `p` cells of padding before the
input maps an input field `(size, jump, start)` to `size + (k_eff - 1) * jump`,
`jump * s` and `start + ((k_eff - 1) / 2 - p) * jump`. `start` is the centre of
the first output unit's field in input index coordinates (it may be negative
where padding is involved). `mmcnn.inspect.tables` applies it layer by layer.
"""

import math

import keras
import numpy as np

from mmcnn.inspect.walk import CONV_TYPES as _CONV_TYPES

_POOL_TYPES = (
    keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D,
    keras.layers.AveragePooling1D,
    keras.layers.AveragePooling2D,
)
_GLOBAL_TYPES = (
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.Flatten,
)
_PAD_TYPES = (keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D)


class Field:
    """Receptive field of one tensor: per spatial axis size, jump and start."""

    def __init__(self, size, jump, start, extent, is_global=False):
        self.size, self.jump, self.start = tuple(size), tuple(jump), tuple(start)
        self.extent = tuple(extent)  # input length along each axis, for global layers
        self.is_global = is_global

    @classmethod
    def origin(cls, spatial_shape):
        rank = len(spatial_shape)
        return cls((1,) * rank, (1,) * rank, (0.0,) * rank, spatial_shape)

    def window(self, kernel, stride, dilation, pad_before):
        size, jump, start = [], [], []
        for n, j, st, k, s, d, p in zip(
            self.size, self.jump, self.start, kernel, stride, dilation, pad_before
        ):
            k_eff = d * (k - 1) + 1
            size.append(n + (k_eff - 1) * j)
            jump.append(j * s)
            start.append(st + ((k_eff - 1) / 2 - p) * j)
        return Field(size, jump, start, self.extent)

    def make_global(self):
        return Field(self.extent, self.jump, [(e - 1) / 2 for e in self.extent], self.extent, is_global=True)


def spatial_axes(shape):
    """Spatial axes of a channels-last shape: all but batch and channels."""
    return tuple(shape[1:-1]) if len(shape) >= 3 else tuple(shape[1:])


def _same_pad(n, k_eff, s):
    if n is None:  # unknown length: TF pads (k_eff - s) // 2 when n divides by s
        return max(k_eff - s, 0) // 2
    total = max((math.ceil(n / s) - 1) * s + k_eff - n, 0)
    return total // 2


def _window_params(layer, input_shape):
    """(kernel, stride, dilation, pad_before) of a windowed layer, or None."""
    if hasattr(layer, "receptive_field_params"):
        p = layer.receptive_field_params()
        rank = len(p["kernel"])
        return p["kernel"], p["stride"], p.get("dilation", (1,) * rank), p["pad_before"]
    if isinstance(layer, _PAD_TYPES):
        pads = layer.padding if isinstance(layer.padding[0], (tuple, list)) else (layer.padding,)
        rank = len(pads)
        return (1,) * rank, (1,) * rank, (1,) * rank, tuple(p[0] for p in pads)
    if isinstance(layer, _CONV_TYPES):
        kernel, stride, dilation = layer.kernel_size, layer.strides, layer.dilation_rate
        padding = layer.padding
    elif isinstance(layer, _POOL_TYPES):
        kernel, stride, padding = layer.pool_size, layer.strides, layer.padding
        dilation = (1,) * len(kernel)
    else:
        return None
    spatial = spatial_axes(input_shape)
    if padding == "valid":
        pads = (0,) * len(kernel)
    elif padding == "causal":
        pads = tuple(d * (k - 1) for k, d in zip(kernel, dilation))
    else:
        pads = tuple(
            _same_pad(n, d * (k - 1) + 1, s) for n, k, s, d in zip(spatial, kernel, stride, dilation)
        )
    return tuple(kernel), tuple(stride), tuple(dilation), pads


def widest(fields):
    """The field that sees the most input positions (None when none is known)."""
    known = [f for f in fields if f is not None]
    return max(known, key=lambda f: np.prod(f.size)) if known else None


def next_field(layer, input_shape, output_shape, field):
    """The field of `layer`'s output, given that of its input (None: the input is not spatial)."""
    if field is None:
        # A layer that turns non-spatial input (strings) into a sequence starts a new field.
        if len(output_shape) >= 2 and not isinstance(layer, keras.layers.Dense):
            return Field.origin(spatial_axes(output_shape))
        return None
    if field.is_global:
        return field
    params = _window_params(layer, input_shape)
    if params is not None:
        return field.window(*params)
    if isinstance(layer, _GLOBAL_TYPES) or isinstance(layer, keras.layers.Dense) and len(output_shape) == 2:
        return field.make_global()
    out_spatial = spatial_axes(output_shape)
    if len(out_spatial) > len(field.size) and len(output_shape) == len(input_shape) + 1:
        # A new trailing axis: features become a spatial axis (a spectrogram read as an image).
        extra = out_spatial[len(field.size) :]
        return Field(
            field.size + (1,) * len(extra),
            field.jump + (1,) * len(extra),
            field.start + (0.0,) * len(extra),
            field.extent + tuple(extra),
        )
    if len(out_spatial) == len(field.size) or len(output_shape) == len(input_shape) + 1:
        return field  # element-wise, normalisation, embedding (adds a feature axis): same field
    return field.make_global()
