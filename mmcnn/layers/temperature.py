"""Temperature scaling of class probabilities: the calibration step after the head."""

import math
import numbers

import keras
from keras import ops

# Probabilities below this are clipped before the log: softmax in float32 can give exact zeros.
_TINY = 1e-30


@keras.saving.register_keras_serializable(package="mmcnn")
class Temperature(keras.layers.Layer):
    """Divides the logits behind class probabilities by a temperature `T`: `softmax(log(p) / T)`.

    `log(p)` differs from the head's logits by a constant per example, so
    this is temperature scaling (Guo et al., 2017): `T > 1` softens
    over-confident probabilities, `T < 1` sharpens them, `T = 1` is the
    identity (up to float rounding), and the most probable class never
    changes. `T` is a non-trainable weight: `Classifier.fit(calibrate=True)`
    sets it after training (`set_temperature`), and it travels in `.keras`
    files and exports with the other weights.

    Under a half-precision dtype policy the computation runs in float32 (as
    the head's softmax does), so the probabilities stay float32.

    Args:
        temperature: the starting temperature, a positive number.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Input shape:
        `(batch, num_classes)` probabilities.

    Output shape:
        `(batch, num_classes)` probabilities that sum to 1.

    Example:
    >>> import numpy as np
    >>> layer = Temperature(2.0)
    >>> np.round(np.asarray(layer(np.array([[0.8, 0.2]], "float32"))), 3)
    array([[0.667, 0.333]], dtype=float32)
    """

    def __init__(self, temperature=1.0, **kwargs):
        # The log of probabilities must not be taken in float16: cast to float32 in `call`.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.temperature = _check_temperature(temperature)
        self.temperature_weight = self.add_weight(
            name="temperature",
            shape=(),
            initializer=keras.initializers.Constant(self.temperature),
            trainable=False,
            dtype="float32",
        )

    def _probability_dtype(self):
        compute = self.dtype_policy.compute_dtype
        return "float32" if compute in ("float16", "bfloat16") else compute

    def set_temperature(self, temperature):
        """Sets `T` (a positive number)."""
        self.temperature = _check_temperature(temperature)
        self.temperature_weight.assign(self.temperature)

    def get_temperature(self):
        """The current `T` as a Python float."""
        return float(ops.convert_to_numpy(self.temperature_weight))

    def call(self, inputs):
        dtype = self._probability_dtype()
        probabilities = ops.cast(inputs, dtype)
        logits = ops.log(ops.maximum(probabilities, ops.cast(_TINY, dtype)))
        return ops.softmax(logits / ops.cast(self.temperature_weight, dtype), axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(tuple(inputs.shape), dtype=self._probability_dtype())

    def get_config(self):
        config = super().get_config()
        config.pop("autocast", None)
        # The fitted value, so that a clone built from the config alone keeps the calibration.
        config["temperature"] = self.get_temperature()
        return config


def _check_temperature(value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"`temperature` must be a positive finite number. Received: temperature={value!r}")
    return float(value)
