"""`Classifier.embed`: the head's pooled input, equal to the export's `embedding` signature."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmcnn


def served_embedding(clf, path, **inputs):
    clf.export(str(path))
    signature = tf.saved_model.load(str(path)).signatures["embedding"]
    outputs = signature(**{name: tf.constant(value) for name, value in inputs.items()})
    assert {"embedding", "probabilities", "class_id", "class_name"} <= set(outputs)
    return outputs["embedding"].numpy(), outputs["probabilities"].numpy()


def test_image_embedding_is_the_pooled_head_input_and_the_export_signature(tmp_path):
    clf = mmcnn.image.ImageClassifier(class_names=["a", "b"], image_size=(16, 16), channels=1, preset="tiny")
    pixels = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 1)).astype("float32")
    embedding = clf.embed(pixels)
    assert embedding.shape == (3, 32) and embedding.dtype == np.float32
    # An independent reference: the head's input, averaged over the positions by NumPy.
    head_input = keras.Model(clf.model.inputs, clf.model.get_layer("head").input).predict(pixels, verbose=0)
    np.testing.assert_allclose(embedding, head_input.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    served, probabilities = served_embedding(clf, tmp_path / "export", pixels=pixels)
    np.testing.assert_allclose(served, embedding, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probabilities, clf.predict_proba(pixels), atol=1e-6)


@pytest.mark.slow
def test_text_and_audio_embeddings_equal_their_export_signatures(tmp_path):
    text = mmcnn.text.TextClassifier(
        class_names=["neg", "pos"], max_tokens=16, min_frequency=1, embedding_dim=8, filters=4
    )
    text.adapt(["a good film", "a bad film"])
    texts = np.array([b"a good film", b"bad", b""], dtype=object)
    embedding = text.embed(list(texts))
    # 4 widths x 4 filters and the character bag's 32 values as a (positive, negative) pair, max-pooled.
    assert embedding.shape == (3, 16 + 2 * 32)
    served, _ = served_embedding(text, tmp_path / "text", texts=texts)
    np.testing.assert_allclose(served, embedding, rtol=1e-5, atol=1e-6)

    audio = mmcnn.audio.AudioClassifier(
        class_names=["yes", "no"], clip_seconds=0.25, preset="tiny", n_mels=16
    )
    clips = np.random.default_rng(1).normal(0, 0.1, (2, audio.num_samples)).astype("float32")
    embedding = audio.embed(clips)
    served, _ = served_embedding(audio, tmp_path / "audio", waveform=clips)
    np.testing.assert_allclose(served, embedding, rtol=1e-4, atol=1e-5)
    # A long clip's embedding is the mean over its windows.
    long_clip = np.concatenate([clips[0], clips[1]])
    windows = audio._window_starts(len(long_clip))
    expected = np.mean([audio.embed(long_clip[s : s + audio.num_samples])[0] for s in windows], axis=0)
    np.testing.assert_allclose(audio.embed(long_clip)[0], expected, rtol=1e-5, atol=1e-6)


def test_nearest_neighbours_find_the_same_input():
    clf = mmcnn.image.ImageClassifier(class_names=["a", "b"], image_size=(16, 16), channels=1, preset="tiny")
    gallery = np.random.default_rng(2).uniform(0, 255, (8, 16, 16, 1)).astype("float32")
    vectors = clf.embed(gallery)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = clf.embed(gallery[5:6])[0]
    assert int(np.argmax(vectors @ (query / np.linalg.norm(query)))) == 5
