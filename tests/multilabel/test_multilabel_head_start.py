"""A new multi-label head starts each class at its rate in the training data."""

import keras
import numpy as np

import mmcnn
from mmcnn.data import LabeledData


def label_sets(rates, n=200, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, len(rates))) < np.asarray(rates)).astype("float32")


def test_a_new_head_starts_at_the_label_rates():
    targets = label_sets([0.5, 0.1, 0.02])
    texts = [f"text {i}" for i in range(len(targets))]
    data = LabeledData(texts, targets.argmax(1), ["a", "b", "c"], "texts", targets=targets)
    clf = mmcnn.text.TextClassifier(max_tokens=16, min_frequency=1, embedding_dim=8, filters=4)
    clf.prepare(data)
    assert clf.multi_label
    bias = keras.ops.convert_to_numpy(clf.model.get_layer("head").dense.bias)
    rates = targets.mean(axis=0)
    np.testing.assert_allclose(1 / (1 + np.exp(-bias)), rates, rtol=1e-5)
    # An empty input (all padding: zero features) is scored at the training rates.
    np.testing.assert_allclose(clf.predict_proba([""])[0], rates, rtol=1e-3)


def test_a_rate_of_zero_or_one_is_clipped_and_single_label_heads_are_left_alone():
    targets = np.array([[1, 0], [1, 0], [1, 1]], "float32")
    data = LabeledData(["x y", "y", "x"], [0, 0, 0], ["always", "sometimes"], "texts", targets=targets)
    clf = mmcnn.text.TextClassifier(max_tokens=16, min_frequency=1, embedding_dim=8, filters=4)
    clf.prepare(data)
    bias = keras.ops.convert_to_numpy(clf.model.get_layer("head").dense.bias)
    np.testing.assert_allclose(bias, [np.log(0.9999 / 0.0001), np.log(0.5)], rtol=1e-4)

    single = mmcnn.text.TextClassifier(max_tokens=16, min_frequency=1, embedding_dim=8, filters=4)
    single.prepare(mmcnn.text.from_arrays(["x y", "y", "x"], [0, 0, 1], class_names=["p", "q"]))
    assert not np.any(keras.ops.convert_to_numpy(single.model.get_layer("head").dense.bias))
