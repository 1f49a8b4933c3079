"""`predict_in_batches`: `model.predict` for in-memory inputs, one `predict_on_batch` per batch."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmcnn.text
from mmcnn.models.pipeline import predict_in_batches


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 20])
def test_matches_model_predict_at_any_size(n):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    x = np.random.default_rng(n).normal(size=(n, 5)).astype("float32")
    got = predict_in_batches(model, x, batch_size=8)
    assert got.shape == (n, 3)
    if n:  # (Keras's model.predict fails on no inputs)
        np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


def test_text_classifier_probabilities_are_those_of_model_predict():
    texts = ["a good film", "a bad film", "good", "", "bad plot"] * 3
    clf = mmcnn.text.TextClassifier(num_classes=2, mode="byte", max_tokens=16, embedding_dim=4, filters=4)
    expected = clf.model.predict(tf.constant(texts), batch_size=4, verbose=0)
    np.testing.assert_allclose(clf.predict_proba(texts, batch_size=4), expected, rtol=1e-5, atol=1e-6)
