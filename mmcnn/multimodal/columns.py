"""The columns of a table model: one encoder per column, from cells to a pooled embedding.

A column's encoder says, for its kind, what the Keras model takes for the
column (`keras_input`), the layers from that input to a `(batch, d)`
embedding (`embed`), and how cells become model inputs in training
(`dataset`), in `predict` (`batch`) and in an export (`serving_spec`,
`serve`). Every encoder takes a missing cell (`None` in the rows; an empty
string or NaN in an export) without failing: what it makes of it is masked
out by the model's `Fusion`, which puts the column's learned "missing"
embedding in its place.

- A media column (`"image"`, `"audio"`, `"text"` or any registered modality)
  uses that modality's classifier as its encoder: its `model_input`,
  `front_layers` and `backbone_layer` (the receptive-field adapter and the
  shared backbone), pooled as the modality's head pools, its `input_dataset`
  and `preprocess` for the cells, and its `serving_input` for exports.
- A `"number"` column is standardised with the training cells' mean and
  variance (a Keras `Normalization` layer).
- A `"category"` column is looked up in the training cells' values
  (`StringLookup`, one out-of-vocabulary id) and embedded.
"""

import json
import re

import keras
import numpy as np
import tensorflow as tf

from mmcnn.data.container import LabeledData
from mmcnn.data.policy import DataError
from mmcnn.layers.head import _GLOBAL, resolve_pooling
from mmcnn.models import registry

# A column classifier's constructor arguments that are the table's, not the column's.
NOT_COLUMN_SETTINGS = (
    "num_classes",
    "class_names",
    "seed",
    "init_from",
    "freeze_epochs",
    "fine_tune_learning_rate",
    "learning_rate",
    "epochs",
    "batch_size",
    "precision",
    "multi_label",
)
# The model's input that says which cells a row has: float32 (batch, columns), 1 = present.
PRESENT = "present"
# The size of a category column's embedding, at most (fewer values: smaller).
CATEGORY_EMBEDDING_DIM = 8
# The category columns' lookup: a value not seen in training (or missing) gets the OOV id.
CATEGORY_MISSING = ""


def input_name(column):
    """The Keras (and export signature) input name of a column: letters, digits and `_`.

    Example:
    >>> input_name("product photo"), input_name("2nd-title")
    ('product_photo', 'c_2nd_title')
    """
    name = re.sub(r"[^0-9A-Za-z_]", "_", str(column).strip()) or "column"
    return name if name[0].isalpha() else f"c_{name}"


def _fill(values, filler):
    return [filler if value is None else value for value in values]


def _zeros_like_input(spec, n):
    shape = [n, *[1 if d is None else d for d in spec.shape[1:]]]
    if spec.dtype == "string":
        return np.full(shape, b"", dtype=object)
    return np.zeros(shape, dtype=spec.dtype)


class MediaColumn:
    """A column of file paths (or texts) encoded by its modality's classifier's layers."""

    def __init__(self, column, kind, settings, seed):
        self.column, self.kind, self.name = column, kind, input_name(column)
        self.settings = dict(settings)
        cls = registry.get_classifier(kind)
        self.classifier = cls(num_classes=2, seed=seed, **self.settings)

    def prepare(self, values):
        """Learns what the encoder learns from the training cells (the text vocabulary, an image
        size decided from the pictures)."""
        present = [value for value in values if value is not None]
        if not present:
            raise DataError(f"column {self.column!r} ({self.kind}) has no cell in the training data")
        self.classifier.prepare_for_training(self._data(present))

    def resolved_settings(self):
        """The encoder's constructor arguments as its classifier now holds them (settings that
        training data decided, such as `image_size="auto"`, concrete), JSON-ready; what a loaded
        model's column is made with."""
        config = self.classifier.get_config()
        return json.loads(json.dumps({k: v for k, v in config.items() if k not in NOT_COLUMN_SETTINGS}))

    def _data(self, values):
        kind = "texts" if self.kind == "text" else "files"
        if values and not isinstance(values[0], str):
            kind = "arrays"
        return LabeledData(list(values), np.zeros(len(values), "int32"), ["a", "b"], kind)

    def keras_input(self):
        spec = self.classifier.model_input()
        return keras.Input(shape=spec.shape[1:], dtype=spec.dtype, name=self.name)

    def embed(self, x):
        """The modality's front layers and backbone, pooled as its head pools: `(batch, d)`."""
        inputs = keras.Input(shape=x.shape[1:], dtype=x.dtype, name=self.name)
        h = inputs
        for layer in self.classifier.front_layers():
            h = layer(h)
        backbone = self.classifier.backbone_layer()
        if backbone is not None:
            h = backbone(h)
        pooling = resolve_pooling(self.classifier.preset_config.get("head_pooling", "avg"), h.shape)
        if pooling == "flatten" or len(h.shape) == 2:
            h = keras.layers.Flatten(name="flatten")(h)
        else:
            h = _GLOBAL[(pooling, len(h.shape) - 2)](name="pool")(h)
        encoder = keras.Model(inputs, h, name=f"{self.name}_encoder")
        return encoder(x)

    def example_nbytes(self):
        return self.classifier.example_nbytes()

    def dataset(self, values):
        """Unbatched model inputs of the cells, in order; a missing cell gets the first present one's."""
        present = [value for value in values if value is not None]
        if not present:
            spec = self.keras_input()
            return tf.data.Dataset.from_tensor_slices(_zeros_like_input(spec, len(values)))
        return self.classifier.input_dataset(self._data(_fill(values, present[0])), training=False)

    def batch(self, values):
        """A batch of model inputs for `predict`: the modality's `preprocess` of the present cells."""
        spec = self.keras_input()
        out = _zeros_like_input(spec, len(values))
        rows = [i for i, value in enumerate(values) if value is not None]
        if rows:
            made = self.classifier.preprocess([values[i] for i in rows])
            made = made.numpy() if tf.is_tensor(made) else np.asarray(made)
            out = out.astype(made.dtype) if out.dtype != object else out
            out[rows] = made
        return out

    def serving_spec(self):
        spec, _ = self.classifier.serving_input()
        return tf.TensorSpec(spec.shape, spec.dtype, name=self.name)

    def serve(self, raw):
        """`(model input, present)` of a batch of raw cells of an export."""
        _, make = self.classifier.serving_input()
        return make(raw), present_mask(raw)

    def serving_metadata(self):
        return self.classifier.serving_metadata()


class NumberColumn:
    """A numeric column, standardised with the training cells' mean and variance."""

    kind = "number"

    def __init__(self, column, seed):
        self.column, self.name = column, input_name(column)
        self.mean = self.variance = None

    def prepare(self, values):
        present = np.array([value for value in values if value is not None], "float64")
        if not len(present):
            raise DataError(f"column {self.column!r} (number) has no cell in the training data")
        self.mean, self.variance = float(present.mean()), float(max(present.var(), 1e-12))

    def keras_input(self):
        return keras.Input(shape=(1,), dtype="float32", name=self.name)

    def embed(self, x):
        if self.mean is None:
            raise ValueError(f"column {self.column!r}: fit the classifier (or call prepare) before building")
        return keras.layers.Normalization(
            mean=self.mean, variance=self.variance, name=f"{self.name}_normalization"
        )(x)

    def example_nbytes(self):
        return 4

    def _array(self, values):
        return np.array([[0.0 if value is None else float(value)] for value in values], "float32")

    def dataset(self, values):
        return tf.data.Dataset.from_tensor_slices(self._array(values).reshape(len(values), 1))

    def batch(self, values):
        return self._array(values)

    def serving_spec(self):
        return tf.TensorSpec([None], tf.float32, name=self.name)

    def serve(self, raw):
        raw = tf.cast(raw, tf.float32)
        present = tf.cast(tf.logical_not(tf.math.is_nan(raw)), tf.float32)
        return tf.where(tf.math.is_nan(raw), 0.0, raw)[:, None], present


class CategoryColumn:
    """A column of a few distinct values: looked up in the training values and embedded."""

    kind = "category"

    def __init__(self, column, seed):
        self.column, self.name = column, input_name(column)
        self.vocabulary = None

    def prepare(self, values):
        present = sorted({str(value) for value in values if value is not None and str(value)})
        if not present:
            raise DataError(f"column {self.column!r} (category) has no cell in the training data")
        self.vocabulary = present

    def keras_input(self):
        return keras.Input(shape=(), dtype="string", name=self.name)

    def embed(self, x):
        if self.vocabulary is None:
            raise ValueError(f"column {self.column!r}: fit the classifier (or call prepare) before building")
        ids = keras.layers.StringLookup(vocabulary=self.vocabulary, name=f"{self.name}_lookup")(x)
        size = len(self.vocabulary) + 1
        dim = min(CATEGORY_EMBEDDING_DIM, size)
        return keras.layers.Embedding(size, dim, name=f"{self.name}_embedding")(ids)

    def example_nbytes(self):
        return 16

    def _array(self, values):
        return np.array(
            [CATEGORY_MISSING if value is None else str(value) for value in values], dtype=object
        ).astype(bytes)

    def dataset(self, values):
        return tf.data.Dataset.from_tensor_slices(tf.constant(self._array(values), tf.string))

    def batch(self, values):
        return self._array(values).astype(object)

    def serving_spec(self):
        return tf.TensorSpec([None], tf.string, name=self.name)

    def serve(self, raw):
        return raw, present_mask(raw)


def present_mask(raw):
    """1.0 per example whose raw cell is there: a non-empty string, or a value that is not all NaN."""
    if raw.dtype == tf.string:
        return tf.cast(tf.strings.length(raw) > 0, tf.float32)
    values = tf.reshape(tf.cast(raw, tf.float32), [tf.shape(raw)[0], -1])
    return tf.cast(tf.reduce_any(tf.logical_not(tf.math.is_nan(values)), axis=1), tf.float32)


def column_encoder(column, kind, settings=None, seed=0):
    """The encoder of one column of `kind` (`"number"`, `"category"`, `"text"` or a modality)."""
    settings = dict(settings or {})
    if kind in ("number", "category"):
        if settings:
            raise ValueError(
                f"column {column!r} is a {kind} column, which takes no settings. "
                f"Received: column_settings[{column!r}]={settings!r}"
            )
        return (NumberColumn if kind == "number" else CategoryColumn)(column, seed)
    return MediaColumn(column, kind, settings, seed)
