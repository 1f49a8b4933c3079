"""The classification head shared by every modality."""

import keras
import numpy as np

from mmcnn.layers import validation as v

_GLOBAL = {
    ("max", 1): keras.layers.GlobalMaxPooling1D,
    ("max", 2): keras.layers.GlobalMaxPooling2D,
    ("avg", 1): keras.layers.GlobalAveragePooling1D,
    ("avg", 2): keras.layers.GlobalAveragePooling2D,
}


# `head_pooling="auto"` flattens feature maps of at most this many values (a 7x7x128 map of a
# 28x28 image): there, where a feature is keeps information that global pooling throws away,
# and the dense layer stays small; larger maps are averaged.
FLATTEN_MAX_FEATURES = 8192


def resolve_pooling(pooling, feature_shape):
    """The head's pooling for feature maps of `feature_shape` (batch axis first).

    `"avg"`, `"max"` and `"flatten"` are returned as they are; `"auto"` is
    `"flatten"` where the map has a known size of at most
    `FLATTEN_MAX_FEATURES` values and `"avg"` otherwise.

    Example:
    >>> resolve_pooling("auto", (None, 7, 7, 128)), resolve_pooling("auto", (None, 28, 28, 128))
    ('flatten', 'avg')
    """
    if pooling != "auto":
        return pooling
    sizes = tuple(feature_shape[1:])
    if None in sizes or int(np.prod(sizes)) > FLATTEN_MAX_FEATURES:
        return "avg"
    return "flatten"


@keras.saving.register_keras_serializable(package="mmcnn")
class ClassifierHead(keras.layers.Layer):
    """Global pooling (or flatten) -> dropout -> dense -> softmax (or sigmoid, for multi-label).

    The head also carries the ordered class names, so that they travel with
    a saved model. Under a half-precision dtype policy (`"float16"`,
    `"mixed_float16"`, `"mixed_bfloat16"`) everything up to the logits runs in
    the compute dtype and the softmax in float32, so the probabilities are
    float32.

    Args:
        num_classes: number of classes.
        rank: spatial rank of the feature maps it receives (1 or 2).
        pooling: `"avg"`, `"max"` or `"flatten"` (a preset's `"auto"` is
            resolved by `resolve_pooling` before the head is made).
        dropout: dropout rate before the dense layer.
        hidden_units: optional width of a hidden dense layer (ReLU) before the output.
        class_names: optional list of `num_classes` names, in label order.
        activation: `"softmax"` (default: one class per example) or
            `"sigmoid"` (multi-label: an independent score per class), in
            float32 under a half-precision policy either way.
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            is passed on to every sublayer but the softmax (see above).

    Input shape:
        `(batch, *spatial, channels)` with `rank` spatial axes.

    Output shape:
        `(batch, num_classes)` probabilities that sum to 1, or per-class
        scores in [0, 1] with `activation="sigmoid"` (float32 under a
        half-precision policy, else the compute dtype).

    Example:
    >>> import numpy as np
    >>> head = ClassifierHead(3, rank=1, class_names=["a", "b", "c"])
    >>> head(np.ones((2, 5, 4), "float32")).shape
    TensorShape([2, 3])
    """

    def __init__(
        self,
        num_classes,
        rank=2,
        pooling="avg",
        dropout=0.0,
        hidden_units=None,
        class_names=None,
        activation="softmax",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = v.check_positive_int("num_classes", num_classes)
        self.rank = v.check_choice("rank", rank, (1, 2))
        self.pooling = v.check_choice("pooling", pooling, ("avg", "max", "flatten"))
        self.activation = v.check_choice("activation", activation, ("softmax", "sigmoid"))
        self.dropout = v.check_fraction("dropout", dropout)
        self.hidden_units = (
            None if hidden_units is None else v.check_positive_int("hidden_units", hidden_units)
        )
        if class_names is not None:
            class_names = [str(name) for name in class_names]
            if len(class_names) != num_classes or len(set(class_names)) != num_classes:
                raise ValueError(
                    f"`class_names` must hold {num_classes} distinct names (num_classes). "
                    f"Received: class_names={class_names!r}"
                )
        self.class_names = class_names
        policy = self.dtype_policy
        self.pool = (
            keras.layers.Flatten(name="flatten", dtype=policy)
            if pooling == "flatten"
            else _GLOBAL[(pooling, rank)](name="pool", dtype=policy)
        )
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=policy) if self.dropout else None
        self.hidden = (
            keras.layers.Dense(hidden_units, activation="relu", name="hidden", dtype=policy)
            if hidden_units
            else None
        )
        self.dense = keras.layers.Dense(num_classes, name="logits", dtype=policy)
        # Softmax in float32 under half-precision policies (Keras's mixed-precision advice),
        # so the probabilities and the loss computed on them keep float32 precision.
        # (The attribute keeps its name for either activation: the walk and explanations find it.)
        self.softmax = (
            keras.layers.Softmax(dtype=self._probability_dtype(), name="softmax")
            if activation == "softmax"
            else keras.layers.Activation("sigmoid", dtype=self._probability_dtype(), name="sigmoid")
        )

    def _probability_dtype(self):
        compute = self.dtype_policy.compute_dtype
        return "float32" if compute in ("float16", "bfloat16") else compute

    def build(self, input_shape):
        shape = self.pool.compute_output_shape(input_shape)
        if self.hidden is not None:
            self.hidden.build(shape)
            shape = self.hidden.compute_output_shape(shape)
        self.dense.build(shape)

    def call(self, inputs, training=None):
        x = self.pool(inputs)
        if self.hidden is not None:
            x = self.hidden(x)
        if self.drop is not None:
            x = self.drop(x, training=training)
        return self.softmax(self.dense(x))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes)

    def compute_output_spec(self, inputs, training=None):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype=self._probability_dtype())

    def inspect_path(self):
        return [
            layer
            for layer in (self.pool, self.hidden, self.drop, self.dense, self.softmax)
            if layer is not None
        ]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "rank": self.rank,
                "pooling": self.pooling,
                "dropout": self.dropout,
                "hidden_units": self.hidden_units,
                "class_names": self.class_names,
                "activation": self.activation,
            }
        )
        return config
