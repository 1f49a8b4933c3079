"""Cross-entropy with label smoothing for integer class ids.

Keras's `SparseCategoricalCrossentropy` has no `label_smoothing`; only the
one-hot `CategoricalCrossentropy` does. The classifiers feed class ids (a
one-hot copy of every label would cost memory and a pipeline change), so
`SparseLabelSmoothingCrossentropy` makes the one-hot targets inside the loss.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmcnn")
class SparseLabelSmoothingCrossentropy(keras.losses.Loss):
    """Cross-entropy between class ids and predicted probabilities, with label smoothing.

    The target of an example of class `c` among `K` classes puts
    `1 - label_smoothing + label_smoothing / K` on `c` and `label_smoothing / K`
    on every other class, as `keras.losses.CategoricalCrossentropy(label_smoothing=...)`
    does with one-hot labels; `label_smoothing=0` is the plain sparse cross-entropy.
    Smoothing keeps the logits from growing without bound once the training
    examples are all right, so the validation loss stops climbing from
    overconfidence while accuracy still rises (bench/results/time_to_accuracy*.md).

    Args:
        label_smoothing: float in `[0, 1)`.
        from_logits: whether `y_pred` holds logits instead of probabilities.
        **kwargs: base loss arguments (`name`, `reduction`, `dtype`).

    Example:
    >>> import numpy as np
    >>> loss = SparseLabelSmoothingCrossentropy(label_smoothing=0.1)
    >>> probabilities = np.array([[0.9, 0.05, 0.05]], dtype="float32")
    >>> round(float(loss(np.array([0]), probabilities)), 4)
    0.2981
    """

    def __init__(
        self, label_smoothing=0.1, from_logits=False, name="sparse_label_smoothing_crossentropy", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)):
            raise ValueError(
                f"`label_smoothing` must be a number. Received: label_smoothing={label_smoothing!r}"
            )
        if not 0 <= label_smoothing < 1:
            raise ValueError(
                f"`label_smoothing` must be in [0, 1). Received: label_smoothing={label_smoothing!r}"
            )
        self.label_smoothing = float(label_smoothing)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        num_classes = ops.shape(y_pred)[-1]
        ids = ops.cast(ops.reshape(y_true, ops.shape(y_pred)[:-1]), "int32")
        one_hot = ops.one_hot(ids, num_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, from_logits=self.from_logits, label_smoothing=self.label_smoothing
        )

    def get_config(self):
        config = super().get_config()
        config.update({"label_smoothing": self.label_smoothing, "from_logits": self.from_logits})
        return config
