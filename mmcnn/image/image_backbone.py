"""Image feature extractors from elsewhere, and the grey/RGB stem of a warm start.

`ImageClassifier(backbone=...)` takes any Keras model that maps scaled pixels
`(batch, height, width, channels)` to a feature map `(batch, h, w, features)`
or a vector `(batch, features)`: a `keras.applications` network built with
`weights=None` and loaded from a weights file the user has, a `.keras` file, a
KerasHub backbone saved as `.keras`. `user_backbone` makes the layer named
`"backbone"` that the classifier puts between its pixel scaling and its head.
"""

import json
import os

import keras
import numpy as np

from mmcnn.image.image_converter import _LUMA_WEIGHTS

BACKBONE_NAME = "backbone"


def check_backbone(backbone):
    """The value `ImageClassifier` stores for its `backbone` argument.

    None; a `.keras` file path (read when the model is built); or a Keras
    model, stored as its serialized config (a dict) so that `get_config()`
    and the `.keras` file hold JSON (the weights travel in the classifier's
    own model).
    """
    if backbone is None:
        return None
    if isinstance(backbone, keras.Model):
        try:
            # Plain JSON types: the config travels in `get_config()` and the model file's metadata.
            return json.loads(json.dumps(keras.saving.serialize_keras_object(backbone)))
        except NotImplementedError:
            raise ValueError(
                "`backbone` must be a functional or Sequential Keras model (a subclassed model "
                f"has no config to rebuild it from). Received: {type(backbone).__name__}"
            ) from None
    if isinstance(backbone, (str, os.PathLike)):
        path = os.fspath(backbone)
        if not path.lower().endswith(".keras"):
            raise ValueError(
                f"`backbone` must be a Keras model or a `.keras` file. Received: backbone={path!r}"
            )
        return path
    if isinstance(backbone, dict) and "class_name" in backbone and "config" in backbone:
        return backbone  # a config from get_config(): the architecture, fresh weights
    raise ValueError(
        "`backbone` must be None, a Keras model or a `.keras` file path. "
        f"Received: {type(backbone).__name__} {backbone!r:.80}"
    )


def check_input_range(value):
    """`(low, high)`: the range a given backbone wants pixels 0..255 mapped to."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"`backbone_input_range` must be a pair (low, high) of numbers. Received: {value!r}"
        ) from None
    if not low < high:
        raise ValueError(f"`backbone_input_range` must have low < high. Received: ({low}, {high})")
    return (low, high)


def _load(backbone):
    if isinstance(backbone, keras.Model):
        return backbone
    if isinstance(backbone, dict):
        return keras.saving.deserialize_keras_object(backbone)
    from mmcnn.training import check_keras_file

    if not os.path.isfile(backbone):
        raise ValueError(f"`backbone` {backbone!r}: no such .keras file")
    check_keras_file(backbone, allowed=keras.saving.get_custom_objects())
    return keras.saving.load_model(backbone, compile=False)


def user_backbone(backbone, image_size, channels):
    """The classifier's `"backbone"` layer made from a given model, its weights copied.

    A copy of the model (rebuilt from its config and renamed `"backbone"`,
    so that the given model is left as it is and the classifier's `.keras`
    file holds one plain nested model); a model that ends in a vector gets a
    `(1, 1, features)` reshape so that the head's pooling passes it through.

    Args:
        backbone: a Keras model, a `.keras` path or a serialized model config.
        image_size: `(height, width)` of the classifier.
        channels: channels of the classifier's pixels.

    Input shape:
        `(batch, height, width, channels)` scaled pixels.

    Output shape:
        `(batch, h, w, features)`.

    Raises:
        ValueError: the model's input does not take these pixels, naming both shapes.
    """
    model = _load(backbone)
    shape = tuple(model.input_shape) if not isinstance(model.input_shape, list) else None
    if shape is None or len(shape) != 4:
        raise ValueError(
            "`backbone` must take one image batch (batch, height, width, channels). "
            f"Received a model with input shape {model.input_shape}"
        )
    if shape[3] != channels:
        raise ValueError(
            f"`backbone` takes {shape[3]} channels, this classifier has channels={channels}; make the "
            f"classifier with channels={shape[3]} (images are converted to it)"
        )
    for given, ours, axis in zip(shape[1:3], image_size, ("height", "width")):
        if given is not None and given != ours:
            raise ValueError(
                f"`backbone` takes images of {axis} {given}, this classifier has image_size="
                f"{tuple(image_size)}; make the classifier with image_size={tuple(shape[1:3])}"
            )
    output = tuple(model.output_shape) if not isinstance(model.output_shape, list) else None
    if output is None or len(output) not in (2, 4):
        raise ValueError(
            "`backbone` must end in a feature map (batch, h, w, features) or a vector (batch, features). "
            f"Received output shape {model.output_shape}"
        )
    config = model.get_config()
    copy = type(model).from_config({**config, "name": BACKBONE_NAME if len(output) == 4 else "features"})
    copy.set_weights(model.get_weights())
    if len(output) == 4:
        return copy
    return keras.Sequential(
        [keras.Input(shape[1:]), copy, keras.layers.Reshape((1, 1, output[1]), name="as_map")],
        name=BACKBONE_NAME,
    )


def adapt_stem_channels(layer_name, variable_path, value, target_shape):
    """The image stem's kernel from grey to RGB or back (`ImageClassifier.adapt_transfer_weight`).

    Grey to RGB: the kernel times the luma weights per colour channel, so the
    RGB model gives on a colour image what the grey model gives on the same
    image converted to grey (the conversion mmcnn's converter makes). RGB to
    grey: the sum over the colour channels, so the grey model gives on a grey
    image what the RGB model gives on that image repeated over three channels.
    None for any other variable.
    """
    if layer_name != "adapter" or not variable_path.endswith("stem/conv/kernel") or value.ndim != 4:
        return None
    if len(target_shape) != 4 or value.shape[:2] != target_shape[:2] or value.shape[3] != target_shape[3]:
        return None
    if (value.shape[2], target_shape[2]) == (1, 3):
        return value * np.asarray(_LUMA_WEIGHTS, value.dtype)[None, None, :, None]
    if (value.shape[2], target_shape[2]) == (3, 1):
        return value.sum(axis=2, keepdims=True)
    return None
