"""A fifth modality, defined only here, gets the whole classifier contract from the core.

A 1-D sensor signal classifier: float arrays `(samples, channels)` in, a
standardising layer of its own and a `ConvBlock(rank=1)` adapter. Nothing
outside this file knows it: it registers itself by being defined, trains,
saves, loads through `mmcnn.load`, and exports through the generic exporter.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmcnn
from mmcnn.data import LabeledData
from mmcnn.layers import ConvBlock
from mmcnn.models import Classifier, registry
from mmcnn.testing import run_classifier_test

LENGTH, CHANNELS = 32, 3


@keras.saving.register_keras_serializable(package="sensor_test")
class Standardize(keras.layers.Layer):
    """Per-example, per-channel zero mean and unit variance over time."""

    def call(self, inputs):
        mean = keras.ops.mean(inputs, axis=1, keepdims=True)
        std = keras.ops.std(inputs, axis=1, keepdims=True)
        return (inputs - mean) / (std + 1e-6)


class SensorClassifier(Classifier):
    """Sensor traces `(samples, channels)` -> class probabilities."""

    modality = "sensor"
    presets = {
        "tiny": dict(
            rank=1,
            stages=[{"filters": 8, "pooling": "max"}],
            learning_rate=1e-2,
            epochs=2,
            batch_size=4,
        )
    }
    default_preset = "tiny"

    def __init__(self, num_classes=None, length=LENGTH, channels=CHANNELS, class_names=None, preset=None,
                 augmentation="none", learning_rate=None, epochs=None, batch_size=None, seed=0):  # fmt: skip
        super().__init__(num_classes=num_classes, class_names=class_names, preset=preset,
                         augmentation=augmentation, learning_rate=learning_rate, epochs=epochs,
                         batch_size=batch_size, seed=seed)  # fmt: skip
        self.length = length
        self.channels = channels

    def model_input(self):
        return keras.Input((self.length, self.channels), name="signal")

    def front_layers(self):
        return [Standardize(name="standardize"), ConvBlock(8, 5, rank=1, name="adapter")]

    def example_nbytes(self):
        return self.length * self.channels * 4

    def input_dataset(self, data, training=False):
        return tf.data.Dataset.from_tensor_slices(np.asarray(data.inputs, "float32"))

    def preprocess(self, inputs):
        x = np.asarray(inputs, "float32")
        return x[None] if x.ndim == 2 else x


def sensor_data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, LENGTH)
    labels = np.arange(n) % 2
    # Class 0 is a slow sine, class 1 a fast one, on every channel, with noise.
    signals = np.stack(
        [
            np.sin(2 * np.pi * (2 + 6 * y) * t)[:, None] + 0.1 * rng.standard_normal((LENGTH, CHANNELS))
            for y in labels
        ]
    )
    return LabeledData(signals.astype("float32"), labels, ["slow", "fast"], kind="arrays")


def test_the_new_modality_is_registered_by_being_defined():
    assert registry.get_classifier("sensor") is SensorClassifier
    assert "sensor" in registry.modality_names()


@pytest.mark.slow
def test_the_new_modality_passes_the_classifier_contract(tmp_path):
    data = sensor_data()
    clf = run_classifier_test(
        SensorClassifier,
        {},
        data,
        raw_inputs=data.inputs[:3],
        serving_inputs={"signal": data.inputs[:3]},
        tmp_dir=tmp_path,
    )
    # Loaded through the core, with no module of mmcnn knowing the modality.
    loaded = mmcnn.load(tmp_path / "sensor.keras")
    assert isinstance(loaded, SensorClassifier) and loaded.model.get_layer("standardize")
    assert clf.model.get_layer("adapter").rank == 1


def test_a_named_preprocessor_runs_once_per_example_in_fit(caplog):
    data = sensor_data()
    clf = SensorClassifier(class_names=data.class_names)
    assert clf.cached_feature_layer(data) is None  # it names no preprocessor: the whole model trains
    clf.preprocessor_layer = "standardize"  # no weights, nothing random, right after the input
    assert clf.cached_feature_layer(data) == "standardize"
    with caplog.at_level("INFO", logger="mmcnn"):
        clf.fit(data, verbose=0)
    assert "up to 'standardize' run once per example" in caplog.text
    assert clf.model.input_shape == (None, LENGTH, CHANNELS)  # the model still takes raw traces
    clf.preprocessor_layer = "adapter"
    with pytest.raises(ValueError, match="'adapter', which has trainable weights"):
        clf.cached_feature_layer(data)


def test_an_unknown_modality_is_a_clear_error():
    with pytest.raises(ValueError, match="no mmcnn classifier is registered for modality 'smell'.*known"):
        registry.get_classifier("smell")


@pytest.mark.slow
def test_the_new_modality_is_a_table_column_with_no_more_code():
    """A table with a sensor column and a number: the table classifier uses the new modality's hooks
    as the column's encoder, and predicts rows that lack the trace."""
    from mmcnn.multimodal import TableClassifier, TableData

    data = sensor_data(n=12)
    rows = [{"trace": trace, "hour": float(i % 5)} for i, trace in enumerate(data.inputs)]
    table = TableData(rows, data.labels, data.class_names, {"trace": "sensor", "hour": "number"})
    clf = TableClassifier(epochs=2, batch_size=4, fusion_units=4)
    clf.fit(table, verbose=0, calibrate=False)
    assert clf.model.get_layer("trace_encoder").get_layer("adapter").rank == 1
    probabilities = clf.predict_proba([{"trace": data.inputs[0], "hour": 1.0}, {"hour": 1.0}])
    assert probabilities.shape == (2, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
