"""The walk over a model's layers, written once for `mmcnn.inspect` and `mmcnn.report`.

A model is a graph of layers (`graph_layers`), and a layer in it may be made of
others. Such a composite layer says what it is made of:

- `inspect_path()`: the sublayers an input passes through, in order (a nested
  `keras.Sequential` is read as its `layers`);
- `inspect_side()`: layers off that path that read the block's input, such as a
  residual shortcut;
- `inspect_branches()`: parallel sequences that each read the block's input and
  are joined at the end (`None` when the layer has none).

`fold_layer` carries a value through the primitive layers of one layer in that
order (`mmcnn.inspect` carries a shape and a receptive field); `iter_layers`
lists a model's primitive layers on the main path with their slash-separated
paths (`"adapter/stem/conv"`), the names `mmcnn.inspect.receptive_field` gives
them.
"""

import keras

from mmcnn._keras_compat import first_inbound_node

# The Keras layers with a sliding window and weights: what inspect counts and the report draws.
CONV_TYPES = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
)


def path_layers(layer):
    """The sublayers on `layer`'s main path, in order, or `None` for a layer that is not opened."""
    if hasattr(layer, "inspect_path"):
        return list(layer.inspect_path())
    if isinstance(layer, keras.Sequential):
        return list(layer.layers)
    return None


def side_layers(layer):
    """The layers of `layer` off its main path that read its input (a residual shortcut)."""
    return list(layer.inspect_side()) if hasattr(layer, "inspect_side") else []


def branch_layers(layer):
    """The parallel sequences of `layer` that are joined at its end, or `None`."""
    return layer.inspect_branches() if hasattr(layer, "inspect_branches") else None


def model_layers(model):
    """The layers of `model` in order, its input layers left out."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def graph_layers(model):
    """Yields `(layer, inputs, outputs)` for each layer of a built model, in order.

    `inputs` and `outputs` are the symbolic tensors of the layer's first call in
    the model (input layers are left out), so that a caller can carry values
    from tensor to tensor: shapes and fields, or real outputs.
    """
    for layer in model_layers(model):
        node = first_inbound_node(layer)
        yield layer, list(node.input_tensors), list(node.output_tensors)


def fold_layer(layer, value, step, join=None, prefix="", on_path=True):
    """Carries `value` through the primitive layers of `layer`; returns the value after it.

    The main path is followed in order, then each side layer from the value at
    the block's input (what it returns is dropped).

    Args:
        layer: a Keras layer, primitive or composite.
        value: what reaches the layer's input (for `mmcnn.inspect`, a shape and
            a receptive field).
        step: `fn(path, layer, value, on_path) -> value`, called for each
            primitive layer with the value at its input; returns the value at
            its output. `on_path` is False inside a side branch.
        join: `fn(layer, value, ends) -> value`, the value after a layer with
            `inspect_branches()` from the value at its input and the value at
            the end of each branch. Without `join` such a layer is one step: its
            branches may hold layers made only to describe it (text's per-width
            padding), which a walk that lists or runs real layers must not meet.
        prefix: the path of the layer's parent, ending in `/` (`""` at the top).
        on_path: False when `layer` is itself off the main path.

    Example:
    >>> from mmcnn.layers import ConvBlock
    >>> block = ConvBlock(4, normalization=None, name="block")
    >>> fold_layer(block, [], lambda path, layer, seen, on_path: [*seen, path])
    ['block/conv', 'block/act']
    """
    path = f"{prefix}{layer.name}"
    branches = branch_layers(layer) if join is not None else None
    if branches is not None:
        ends = []
        for branch in branches:
            end = value
            for child in branch:
                end = fold_layer(child, end, step, join, f"{path}/", on_path)
            ends.append(end)
        return join(layer, value, ends)
    children = path_layers(layer)
    if children is None:
        return step(path, layer, value, on_path)
    out = value
    for child in children:
        out = fold_layer(child, out, step, join, f"{path}/", on_path)
    for child in side_layers(layer):
        fold_layer(child, value, step, join, f"{path}/", False)
    return out


def iter_layers(model):
    """Yields `(path, layer)` for every primitive layer on the main path of `model`, in order.

    Composite layers are opened through `inspect_path()` (and nested
    `keras.Sequential` models through their layers); side branches (a residual
    shortcut) are not visited, and a layer with `inspect_branches()` is listed
    whole. `path` is the name `mmcnn.inspect.receptive_field` gives the layer.

    Example:
    >>> import keras
    >>> from mmcnn.layers import ConvBlock
    >>> m = keras.Sequential([keras.Input((8, 8, 1)), ConvBlock(4, normalization=None, name="block")])
    >>> [path for path, _ in iter_layers(m)]
    ['block/conv', 'block/act']
    """
    for layer in model_layers(model):
        yield from fold_layer(layer, [], _listed)


def _listed(path, layer, found, on_path):
    return [*found, (path, layer)] if on_path else found


__all__ = [
    "branch_layers",
    "fold_layer",
    "graph_layers",
    "iter_layers",
    "model_layers",
    "path_layers",
    "side_layers",
]
