"""The report's walk over the model: its first convolution, and one example run layer by layer.

The layers are listed by `mmcnn.inspect.walk.iter_layers`, the walk
`mmcnn.inspect` makes (the functional model's layers in order, descending into
blocks through their `inspect_path()` and into nested `keras.Sequential`
models), so that a path in a picture is the name `mmcnn.inspect` gives the layer.
"""

import keras
import numpy as np
import tensorflow as tf

from mmcnn._keras_compat import flatten_layers
from mmcnn.inspect.walk import CONV_TYPES as _CONV_TYPES
from mmcnn.inspect.walk import graph_layers, iter_layers
from mmcnn.layers import ConvBlock, ResidualBlock
from mmcnn.layers.conv_block import SequentialBlock
from mmcnn.report.errors import ReportError

_CONV_TYPE_NAMES = tuple(t.__name__ for t in _CONV_TYPES)
_BLOCK_TYPES = (ConvBlock, ResidualBlock)


def _nested_convs(layer):
    """Convolutions tracked inside a layer that `inspect_path()` does not open."""
    return [sub for sub in flatten_layers(layer, include_self=False) if isinstance(sub, _CONV_TYPES)]


def first_conv(model):
    """`(path, layer)` of the first convolution on the model's path, or `None`.

    A layer that hides its convolutions from the walk (no `inspect_path()`,
    such as text's parallel-window adapter) is searched through its tracked
    sublayers.
    """
    walk = list(iter_layers(model))
    for path, layer in walk:
        if isinstance(layer, _CONV_TYPES):
            return path, layer
    for path, layer in walk:
        nested = _nested_convs(layer)
        if nested:
            return f"{path}/{nested[0].name}", nested[0]
    return None


def _trace(model, batch):
    """Runs `batch` through `model` eagerly, layer by layer, in inference mode.

    Sequential blocks are opened (their `call` is the chain of their
    `inspect_path()`), so that the blocks inside the adapter and the backbone
    are reached. Returns a list of `(path, layer, input, output)`, one per
    layer called, innermost first.

    The graph is `mmcnn.inspect.walk.graph_layers`'s, but a block is opened
    only where running its path is running the block: a residual block's path
    leaves out the shortcut and the sum, so it is run whole.
    """
    records = []

    def run(layer, x, prefix):
        name = f"{prefix}{layer.name}"
        # Only a block whose call is the plain chain may be opened; any other is run whole.
        if isinstance(layer, SequentialBlock) and type(layer).call is SequentialBlock.call:
            y = x
            for child in layer.inspect_path():
                y = run(child, y, f"{name}/")
        else:
            y = layer(x, training=False)
        records.append((name, layer, x, y))
        return y

    values = {id(t): tf.convert_to_tensor(v) for t, v in zip(model.inputs, [batch])}
    for layer, inputs, outputs in graph_layers(model):
        xs = [values[id(t)] for t in inputs]
        out = run(layer, xs[0], "") if len(xs) == 1 else layer(xs, training=False)
        for t, v in zip(outputs, keras.tree.flatten(out)):
            values[id(t)] = v
    return records


def _blocks(records):
    """The convolution blocks of a trace in order; plain conv layers if there are none."""
    blocks = [r for r in records if isinstance(r[1], _BLOCK_TYPES)]
    if not blocks:
        blocks = [r for r in records if isinstance(r[1], _CONV_TYPES)]
    if not blocks:  # convolutions hidden inside a layer: take that layer's output
        blocks = [r for r in records if _nested_convs(r[1])]
    if not blocks:
        raise ReportError("the model has no convolution layer")
    return blocks


def _numpy(x):
    """A tensor as a NumPy array; bfloat16 and float16 values (mixed precision) as float32, which
    matplotlib and NumPy's reductions take."""
    array = np.asarray(keras.ops.convert_to_numpy(x))
    if array.dtype.kind == "V" or array.dtype == np.float16:  # ml_dtypes' bfloat16 is kind "V"
        return array.astype("float32")
    return array
