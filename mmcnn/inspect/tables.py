"""The per-layer tables of `mmcnn.inspect`: receptive fields, parameters and multiply-adds.

Each function walks a built Keras model layer by layer (`mmcnn.inspect.walk`),
carrying the receptive field (`mmcnn.inspect.fields`) and the shape, and
returns a pandas DataFrame with one row per primitive layer.
"""

import keras
import numpy as np
import pandas as pd

from mmcnn.inspect.fields import Field, next_field, spatial_axes, widest
from mmcnn.inspect.walk import CONV_TYPES as _CONV_TYPES
from mmcnn.inspect.walk import fold_layer, graph_layers


def _count_macs(layer, input_shape, output_shape):
    """Multiply-adds of one forward pass for one example (weights layers only)."""
    out_positions = int(np.prod([n for n in spatial_axes(output_shape) if n is not None] or [1]))
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
        out_field = next_field(sub, input_shape, output_shape, field)
        if id(sub) not in seen:
            seen.add(id(sub))
            rows.append(_row(path, sub, input_shape, output_shape, out_field, on_path))
        return output_shape, out_field

    def join(sub, value, ends):
        input_shape, _ = value
        return tuple(sub.compute_output_shape(tuple(input_shape))), widest(f for _, f in ends)

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


def _model_rows(model):
    if not model.built:
        raise ValueError(
            f"The model must be built (called on data or given an Input). Received: {model.name}"
        )
    fields = {}  # id(KerasTensor) -> Field or None
    rows = []
    for tensor in model.inputs:
        is_string = tensor.dtype == "string"
        fields[id(tensor)] = None if is_string else Field.origin(spatial_axes(tensor.shape))
    for layer, inputs, outputs in graph_layers(model):
        # Merges (add, concatenate) see as far as their widest input.
        field = widest(fields.get(id(t)) for t in inputs)
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
