"""Receptive fields, parameter and multiply-add counts of a convolutional network.

Both functions walk a built Keras model layer by layer (descending into mmcnn
blocks and nested `keras.Sequential` models, see `mmcnn.inspect.walk`) and
return a pandas DataFrame with one row per primitive layer. Per-axis values are
tuples, one entry per spatial axis (height, width for images; time for audio
frames and text tokens).

Receptive-field arithmetic follows Dumoulin & Visin (2016): a layer with window
`k` (dilated: `k_eff = d * (k - 1) + 1`), stride `s` and `p` cells of padding
before the input maps an input field `(size, jump, start)` to
`size + (k_eff - 1) * jump`, `jump * s` and `start + ((k_eff - 1) / 2 - p) * jump`.
`start` is the centre of the first output unit's field in input index
coordinates (it may be negative where padding is involved).
"""

import math

import keras
import numpy as np
import pandas as pd

from mmcnn.inspect.walk import CONV_TYPES as _CONV_TYPES
from mmcnn.inspect.walk import fold_layer, graph_layers

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


class _Field:
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
        return _Field(size, jump, start, self.extent)

    def make_global(self):
        return _Field(self.extent, self.jump, [(e - 1) / 2 for e in self.extent], self.extent, is_global=True)


def _spatial(shape):
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
    spatial = _spatial(input_shape)
    if padding == "valid":
        pads = (0,) * len(kernel)
    elif padding == "causal":
        pads = tuple(d * (k - 1) for k, d in zip(kernel, dilation))
    else:
        pads = tuple(
            _same_pad(n, d * (k - 1) + 1, s) for n, k, s, d in zip(spatial, kernel, stride, dilation)
        )
    return tuple(kernel), tuple(stride), tuple(dilation), pads


def _count_macs(layer, input_shape, output_shape):
    """Multiply-adds of one forward pass for one example (weights layers only)."""
    out_positions = int(np.prod([n for n in _spatial(output_shape) if n is not None] or [1]))
    if isinstance(layer, (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)):
        cin = input_shape[-1]
        k = int(np.prod(layer.kernel_size))
        depth = layer.depth_multiplier
        return out_positions * (k * cin * depth + cin * depth * layer.filters)
    if isinstance(layer, (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)):
        return out_positions * int(np.prod(layer.kernel_size)) * input_shape[-1] * layer.depth_multiplier
    if isinstance(layer, (keras.layers.Conv1D, keras.layers.Conv2D)):
        return (
            out_positions * int(np.prod(layer.kernel_size)) * input_shape[-1] * layer.filters // layer.groups
        )
    if isinstance(layer, keras.layers.Dense):
        positions = int(np.prod([n for n in input_shape[1:-1] if n is not None] or [1]))
        return positions * input_shape[-1] * layer.units
    return 0


def _elements(shape):
    dims = shape[1:]
    return None if any(d is None for d in dims) else int(np.prod(dims))


def _layer_rows(layer, input_shape, field, rows):
    """Appends rows for the primitive layers of `layer`; returns `(output_shape, output_field)`.

    The layers come from `mmcnn.inspect.walk.fold_layer`: the main path, the
    side layers (`on_path` False) and parallel branches, whose widest field is
    the layer's. A layer met twice is listed once.
    """
    seen = set()

    def step(path, sub, value, on_path):
        input_shape, field = value
        output_shape = tuple(sub.compute_output_shape(tuple(input_shape)))
        out_field = _next_field(sub, input_shape, output_shape, field)
        if id(sub) not in seen:
            seen.add(id(sub))
            rows.append(_row(path, sub, input_shape, output_shape, out_field, on_path))
        return output_shape, out_field

    def join(sub, value, ends):
        input_shape, _ = value
        return tuple(sub.compute_output_shape(tuple(input_shape))), _widest(f for _, f in ends)

    return fold_layer(layer, (input_shape, field), step, join)


def _row(path, layer, input_shape, output_shape, field, on_path):
    weights_kind = isinstance(layer, (*_CONV_TYPES, keras.layers.Dense))
    in_elems, out_elems = _elements(input_shape), _elements(output_shape)
    return {
        "layer": path,
        "type": type(layer).__name__,
        "output_shape": output_shape,
        "field": field,
        "on_path": on_path,
        "params": int(layer.count_params()) if layer.built else 0,
        "macs": _count_macs(layer, input_shape, output_shape),
        "dense_params": (in_elems * out_elems if weights_kind and in_elems and out_elems else None),
    }


def _widest(fields):
    """The field that sees the most input positions (None when none is known)."""
    known = [f for f in fields if f is not None]
    return max(known, key=lambda f: np.prod(f.size)) if known else None


def _next_field(layer, input_shape, output_shape, field):
    if field is None:
        # A layer that turns non-spatial input (strings) into a sequence starts a new field.
        if len(output_shape) >= 2 and not isinstance(layer, keras.layers.Dense):
            return _Field.origin(_spatial(output_shape))
        return None
    if field.is_global:
        return field
    params = _window_params(layer, input_shape)
    if params is not None:
        return field.window(*params)
    if isinstance(layer, _GLOBAL_TYPES) or isinstance(layer, keras.layers.Dense) and len(output_shape) == 2:
        return field.make_global()
    out_spatial = _spatial(output_shape)
    if len(out_spatial) > len(field.size) and len(output_shape) == len(input_shape) + 1:
        # A new trailing axis: features become a spatial axis (a spectrogram read as an image).
        extra = out_spatial[len(field.size) :]
        return _Field(
            field.size + (1,) * len(extra),
            field.jump + (1,) * len(extra),
            field.start + (0.0,) * len(extra),
            field.extent + tuple(extra),
        )
    if len(out_spatial) == len(field.size) or len(output_shape) == len(input_shape) + 1:
        return field  # element-wise, normalisation, embedding (adds a feature axis): same field
    return field.make_global()


def _model_rows(model):
    if not model.built:
        raise ValueError(
            f"The model must be built (called on data or given an Input). Received: {model.name}"
        )
    fields = {}  # id(KerasTensor) -> _Field or None
    rows = []
    for tensor in model.inputs:
        is_string = tensor.dtype == "string"
        fields[id(tensor)] = None if is_string else _Field.origin(_spatial(tensor.shape))
    for layer, inputs, outputs in graph_layers(model):
        # Merges (add, concatenate) see as far as their widest input.
        field = _widest(fields.get(id(t)) for t in inputs)
        _, out_field = _layer_rows(layer, tuple(inputs[0].shape), field, rows)
        for t in outputs:
            fields[id(t)] = out_field
    return rows


def receptive_field(model):
    """Receptive field of every layer of a built Keras model.

    Args:
        model: a built Keras model (functional or Sequential) made of mmcnn
            blocks or of plain Keras convolution, pooling and dense layers.

    Returns:
        DataFrame with columns `layer`, `type`, `size`, `jump`, `start`,
        `output_shape`, `on_path` (False for side branches such as a residual
        shortcut). `size` is the number of input positions one output unit
        sees along each axis, `jump` the input distance between neighbouring
        output units, `start` the centre of the first unit's field.

    Example:
    >>> import keras
    >>> from mmcnn.layers import ConvBlock
    >>> m = keras.Sequential([keras.Input((32, 32, 1)), ConvBlock(4), ConvBlock(4)])
    >>> receptive_field(m)["size"].tolist()[-1]
    (5, 5)
    """
    records = []
    for row in _model_rows(model):
        f = row["field"]
        records.append(
            {
                "layer": row["layer"],
                "type": row["type"],
                "size": f.size if f else None,
                "jump": f.jump if f else None,
                "start": f.start if f else None,
                "output_shape": row["output_shape"],
                "on_path": row["on_path"],
            }
        )
    return pd.DataFrame.from_records(records)


def summary(model):
    """Parameters and multiply-adds per layer, beside the fully-connected cost.

    Args:
        model: a built Keras model.

    Returns:
        DataFrame with columns `layer`, `type`, `output_shape`, `params`,
        `macs` (multiply-adds per example of the layer's weights; pooling and
        activations count 0) and `dense_params`: for layers with weights, the
        weights a fully-connected layer mapping the same input to the same
        output would need (input elements x output elements), so the saving
        of local receptive fields and weight sharing is visible.

    Example:
    >>> import keras
    >>> m = keras.Sequential([keras.Input((100, 100, 3)), keras.layers.Flatten(), keras.layers.Dense(1000)])
    >>> int(summary(m)["dense_params"].iloc[-1])
    30000000
    """
    rows = _model_rows(model)
    frame = pd.DataFrame.from_records(
        [{k: r[k] for k in ("layer", "type", "output_shape", "params", "macs", "dense_params")} for r in rows]
    )
    frame["dense_params"] = frame["dense_params"].astype("Int64")
    return frame


def total_macs(model):
    """Multiply-adds of one forward pass for one example."""
    return int(summary(model)["macs"].sum())


__all__ = ["receptive_field", "summary", "total_macs"]
