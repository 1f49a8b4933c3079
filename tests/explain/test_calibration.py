"""Calibration: ECE and the reliability bins against hand-computed numbers, the fitted
temperature against a known one, the `Temperature` layer's contract, and one tiny
over-confident classifier calibrated, saved, loaded and exported."""

import numpy as np
import pytest
import tensorflow as tf

import mmcnn
import mmcnn.image as mi
from mmcnn.explain import (
    calibration_summary,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    reliability_bins,
    scale_probabilities,
)
from mmcnn.layers import Temperature
from mmcnn.models import ClassifierModel
from mmcnn.testing import run_layer_test

SIZE = 16


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_ece_and_bins_by_hand():
    probs = np.array([[0.95, 0.05], [0.9, 0.1], [0.35, 0.65], [0.6, 0.4], [0.55, 0.45]])
    labels = np.array([0, 1, 1, 1, 0])
    bins = reliability_bins(probs, labels, bins=10)
    # Top probabilities 0.95, 0.9, 0.65, 0.6, 0.55 -> bins (0.9, 1], (0.8, 0.9], (0.6, 0.7], (0.5, 0.6] x2.
    np.testing.assert_array_equal(bins["count"], [0, 0, 0, 0, 0, 2, 1, 0, 1, 1])
    np.testing.assert_allclose(bins["confidence"][[5, 6, 8, 9]], [0.575, 0.65, 0.9, 0.95])
    np.testing.assert_allclose(bins["accuracy"][[5, 6, 8, 9]], [0.5, 1.0, 0.0, 1.0])
    expected = (2 * 0.075 + 1 * 0.35 + 1 * 0.9 + 1 * 0.05) / 5
    assert expected_calibration_error(probs, labels, bins=10) == pytest.approx(expected)
    assert negative_log_likelihood(probs, labels) == pytest.approx(
        -np.mean(np.log([0.95, 0.1, 0.65, 0.4, 0.55]))
    )
    assert expected_calibration_error(np.zeros((0, 3)), np.zeros(0)) == 0.0
    with pytest.raises(ValueError, match="labels"):
        expected_calibration_error(probs, [0, 1, 2, 0, 0])


def test_fit_temperature_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2.0, (4000, 5))
    labels = np.array([rng.choice(5, p=p) for p in softmax(logits)])
    for true_t in (0.5, 3.0):
        # Probabilities sharpened (or softened) by 1 / true_t: the fitted T undoes it.
        over = softmax(logits / true_t)
        fitted = fit_temperature(over, labels)
        assert fitted == pytest.approx(1 / true_t, rel=0.08), (true_t, fitted)
        scaled = scale_probabilities(over, fitted)
        np.testing.assert_array_equal(scaled.argmax(1), over.argmax(1))
        summary = calibration_summary(over, labels, fitted)
        assert summary["nll_after"] < summary["nll_before"]
        assert summary["ece_after"] < summary["ece_before"]


def test_temperature_layer_contract():
    probs = softmax(np.random.default_rng(0).normal(size=(3, 4))).astype("float32")
    run_layer_test(
        Temperature,
        dict(temperature=1.5),
        probs,
        expected_output_shape=(3, 4),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=1,
        run_training_step=False,
    )
    identity = Temperature()
    np.testing.assert_allclose(identity(probs), probs, atol=1e-6)
    hot = Temperature(2.0)
    np.testing.assert_allclose(hot(probs), scale_probabilities(probs, 2.0), atol=1e-6)
    hot.set_temperature(0.5)
    assert hot.get_temperature() == 0.5 and hot.get_config()["temperature"] == 0.5
    for bad in (0, -1.0, float("nan"), "2"):
        with pytest.raises(ValueError, match="temperature"):
            Temperature(bad)


def square_data(n, seed, noise=0.25):
    """Bright square in the top-left quadrant vs none; a share `noise` of the labels flipped."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 60, (n, SIZE, SIZE)).astype("float32")
    labels = np.arange(n) % 2
    for i in np.flatnonzero(labels):
        r, c = rng.integers(0, SIZE // 2 - 3, 2)
        images[i, r : r + 4, c : c + 4] = 240
    flip = rng.random(n) < noise
    labels = np.where(flip, 1 - labels, labels)
    return mi.from_arrays(images, labels, class_names=["plain", "square"])


@pytest.fixture(scope="module")
def overconfident():
    """A tiny image classifier trained on noisy labels, its logits then scaled by 5."""
    train, val = square_data(96, seed=0), square_data(64, seed=1)
    clf = mi.ImageClassifier(
        image_size=(SIZE, SIZE),
        channels=1,
        preset="tiny",
        augmentation="none",
        epochs=6,
        batch_size=16,
        seed=0,
    )
    clf.fit(train, validation_data=val, verbose=0, calibrate=False)
    assert clf.temperature == 1.0 and clf.calibration is None
    dense = clf.model.get_layer("head").dense
    dense.kernel.assign(dense.kernel * 5.0)
    dense.bias.assign(dense.bias * 5.0)
    return clf, val


@pytest.mark.slow
def test_overconfident_model_gets_t_above_1(overconfident, tmp_path):
    clf, val = overconfident
    test = square_data(64, seed=2)
    before_val = clf.model.predict(val.inputs, verbose=0)
    before_test = clf.model.predict(test.inputs, verbose=0)
    summary = clf.calibrate(val)
    assert set(summary) >= {"temperature", "ece_before", "ece_after", "nll_before", "nll_after"}
    assert summary["temperature"] > 1.5, summary
    assert summary["ece_after"] < summary["ece_before"] and summary["nll_after"] < summary["nll_before"]
    assert clf.temperature == pytest.approx(summary["temperature"])
    after_val = clf.model.predict(val.inputs, verbose=0)
    after_test = clf.model.predict(test.inputs, verbose=0)
    # Accuracy is unchanged by construction: the same top class for every example.
    np.testing.assert_array_equal(after_val.argmax(1), before_val.argmax(1))
    np.testing.assert_array_equal(after_test.argmax(1), before_test.argmax(1))
    assert clf.evaluate(test)["accuracy"] == pytest.approx(np.mean(before_test.argmax(1) == test.labels))
    np.testing.assert_allclose(after_test, scale_probabilities(before_test, clf.temperature), atol=1e-5)
    assert expected_calibration_error(after_test, test.labels) < expected_calibration_error(
        before_test, test.labels
    )

    # The temperature travels in the .keras file ...
    clf.save(tmp_path / "calibrated.keras")
    loaded = mmcnn.load(tmp_path / "calibrated.keras")
    assert loaded.temperature == pytest.approx(clf.temperature)
    np.testing.assert_allclose(loaded.predict_proba(test.inputs), clf.predict_proba(test.inputs), atol=1e-6)
    # ... and in the SavedModel export.
    clf.export(tmp_path / "export")
    served = tf.saved_model.load(str(tmp_path / "export")).signatures["features"]
    outputs = served(pixels=tf.constant(test.inputs))
    np.testing.assert_allclose(outputs["probabilities"].numpy(), clf.predict_proba(test.inputs), atol=1e-5)


@pytest.mark.slow
def test_fit_calibrates_by_default():
    clf = mi.ImageClassifier(
        image_size=(SIZE, SIZE),
        channels=1,
        preset="tiny",
        augmentation="none",
        epochs=2,
        batch_size=16,
        seed=0,
    )
    clf.fit(square_data(64, seed=0), validation_data=square_data(32, seed=1), verbose=0)
    assert clf.calibration["temperature"] == pytest.approx(clf.temperature)
    assert clf.calibration["num_examples"] == 32
    # Without validation data there is nothing to fit on: T stays as it was.
    other = mi.ImageClassifier(image_size=(SIZE, SIZE), channels=1, preset="tiny", epochs=1, seed=0)
    other.fit(square_data(32, seed=0), verbose=0)
    assert other.temperature == 1.0 and other.calibration is None


def test_model_without_temperature_still_loads(tmp_path):
    """A `.keras` file saved before the Temperature layer existed loads and predicts; it cannot be
    calibrated in place."""
    clf = mi.ImageClassifier(
        class_names=["plain", "square"], image_size=(SIZE, SIZE), channels=1, preset="tiny"
    )
    model = clf.model
    old = ClassifierModel(
        model.inputs, model.get_layer("head").output, name=model.name, metadata=dict(model.metadata)
    )
    assert not any(isinstance(layer, Temperature) for layer in old.layers)
    old.save(tmp_path / "old.keras")
    loaded = mmcnn.load(tmp_path / "old.keras")
    assert loaded.temperature == 1.0
    x = np.random.default_rng(0).uniform(0, 255, (3, SIZE, SIZE, 1)).astype("float32")
    np.testing.assert_allclose(loaded.predict_proba(x), old.predict(x, verbose=0), atol=1e-6)
    assert len(loaded.explain(x)["maps"]) == 3
    with pytest.raises(ValueError, match="no Temperature layer"):
        loaded.calibrate(square_data(8, seed=0))
    # Training it further still works; it stays uncalibrated.
    loaded.fit(square_data(8, seed=0), validation_data=square_data(8, seed=1), epochs=1, verbose=0)
    assert loaded.temperature == 1.0 and loaded.calibration is None


def test_temperature_is_bounded_and_not_fitted_on_few_examples():
    """A split that asks for an extreme sharpening (near-equal, mostly right probabilities) gets T at the
    interval's bound, not 0.05; a split of 24 examples gets no temperature, and says why."""
    from mmcnn.explain import MIN_CALIBRATION_EXAMPLES, TEMPERATURE_BOUNDS

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3.0, (400, 4))
    labels = logits.argmax(1)
    labels[:8] = (labels[:8] + 1) % 4  # a few mistakes, so that the fit is not skipped
    timid = softmax(logits * 0.03)
    assert fit_temperature(timid, labels) == pytest.approx(TEMPERATURE_BOUNDS[0], rel=1e-3)
    assert TEMPERATURE_BOUNDS[0] >= 0.25 and MIN_CALIBRATION_EXAMPLES == 50

    clf = mi.ImageClassifier(
        class_names=["plain", "square"], image_size=(SIZE, SIZE), channels=1, preset="tiny"
    )
    summary = clf.calibrate(square_data(24, seed=0))
    assert clf.temperature == 1.0 and summary["fitted_on"] == 0
    assert "24 validation examples, fewer than the 50" in summary["note"]
    summary = clf.calibrate(square_data(64, seed=0))
    assert summary["fitted_on"] == 64 and summary["num_examples"] == 64
    assert TEMPERATURE_BOUNDS[0] <= clf.temperature <= TEMPERATURE_BOUNDS[1]
