"""`SparseLabelSmoothingCrossentropy` and the presets' `label_smoothing`."""

import doctest

import keras
import numpy as np
import pytest

import mmcnn.image
from mmcnn.models import losses
from mmcnn.models.losses import SparseLabelSmoothingCrossentropy


def probabilities(n=6, k=4, seed=0):
    logits = np.random.default_rng(seed).normal(size=(n, k)).astype("float32")
    return np.exp(logits) / np.exp(logits).sum(-1, keepdims=True), logits


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_matches_keras_categorical_crossentropy_on_one_hot_labels(smoothing):
    p, logits = probabilities()
    ids = np.array([0, 1, 2, 3, 1, 0])
    one_hot = np.eye(4, dtype="float32")[ids]
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)(one_hot, p)
    np.testing.assert_allclose(SparseLabelSmoothingCrossentropy(smoothing)(ids, p), expected, rtol=1e-5)
    np.testing.assert_allclose(
        SparseLabelSmoothingCrossentropy(smoothing)(ids[:, None], p), expected, rtol=1e-5
    )
    from_logits = SparseLabelSmoothingCrossentropy(smoothing, from_logits=True)(ids, logits)
    np.testing.assert_allclose(from_logits, expected, rtol=1e-4)
    if smoothing == 0.0:
        plain = keras.losses.SparseCategoricalCrossentropy()(ids, p)
        np.testing.assert_allclose(SparseLabelSmoothingCrossentropy(0.0)(ids, p), plain, rtol=1e-5)


def test_smoothing_stops_rewarding_certainty():
    # Plain cross-entropy keeps falling as the right class's probability goes to 1; with
    # smoothing it is lowest before that.
    loss = SparseLabelSmoothingCrossentropy(0.1)
    sure = np.array([[0.999, 0.0005, 0.0005]], "float32")
    fair = np.array([[0.934, 0.033, 0.033]], "float32")
    assert float(loss([0], fair)) < float(loss([0], sure))


@pytest.mark.parametrize("value", [-0.1, 1.0, "0.1", True])
def test_bad_smoothing_is_refused(value):
    with pytest.raises(ValueError, match="label_smoothing"):
        SparseLabelSmoothingCrossentropy(value)


def test_config_round_trip():
    loss = SparseLabelSmoothingCrossentropy(0.2, from_logits=True)
    again = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(again, SparseLabelSmoothingCrossentropy)
    assert (again.label_smoothing, again.from_logits) == (0.2, True)


class SmoothedImageClassifier(mmcnn.image.ImageClassifier):
    presets = {
        **mmcnn.image.ImageClassifier.presets,
        "tiny_smoothed": {**mmcnn.image.ImageClassifier.presets["tiny"], "label_smoothing": 0.1},
    }


def test_preset_label_smoothing_trains_and_the_model_file_loads(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.arange(32) % 2
    pixels = np.clip(rng.normal(80 + 90 * labels[:, None, None], 30, (32, 12, 12)), 0, 255).astype("uint8")
    data = mmcnn.image.from_arrays(pixels, labels, class_names=["dark", "bright"])
    clf = SmoothedImageClassifier(
        image_size=(12, 12), channels=1, preset="tiny_smoothed", augmentation="none", epochs=2, batch_size=8
    )
    clf.fit(data, verbose=0)
    assert (
        isinstance(clf.model.loss, SparseLabelSmoothingCrossentropy) and clf.model.loss.label_smoothing == 0.1
    )
    path = tmp_path / "model.keras"
    clf.model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode, no custom_objects
    assert isinstance(loaded.loss, SparseLabelSmoothingCrossentropy)
    x = pixels[:4, :, :, None].astype("float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), clf.model.predict(x, verbose=0), rtol=1e-6)


def test_the_default_image_preset_smooths_labels():
    loss = mmcnn.image.ImageClassifier(num_classes=2).training_loss()
    assert isinstance(loss, SparseLabelSmoothingCrossentropy) and loss.label_smoothing == 0.1


def test_a_preset_without_smoothing_keeps_the_plain_loss():
    clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(12, 12), channels=1, preset="tiny")
    assert isinstance(clf.training_loss(), keras.losses.SparseCategoricalCrossentropy)


def test_docstring_examples_run():
    assert doctest.testmod(losses).failed == 0
