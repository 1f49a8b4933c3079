"""Tests for WideTokenWindowAdapter and the "wide" TextClassifier preset (tiny models, 16-token texts)."""

import doctest

import numpy as np
import pytest

import mmcnn
import mmcnn.text.text_wide as text_wide
from mmcnn.testing import run_layer_test
from mmcnn.text import TextClassifier, WideTokenWindowAdapter, from_arrays

MAX_TOKENS = 16
TINY = dict(max_tokens=MAX_TOKENS, embedding_dim=8, filters=4, min_frequency=1, batch_size=16)
IDS = np.array(
    [
        [5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        [9, 3, 2, 4, 5, 6, 7, 8, 9, 3, 2, 4, 5, 6, 7, 8],
        [0] * MAX_TOKENS,
    ],
    dtype="int32",
)


def test_wide_adapter_layer_test():
    run_layer_test(
        WideTokenWindowAdapter,
        dict(vocabulary_size=10, embedding_dim=4, filters=3, widths=[2, 3], wide_dim=5, wide_buckets=7),
        IDS,
        expected_output_shape=(3, MAX_TOKENS, 6 + 10),
        # The deep path's embedding and two windows (kernel + bias each), the n-gram table.
        expected_num_trainable_weights=6,
    )


def test_wide_path_is_a_scaled_bag_of_ngrams_at_every_real_position():
    adapter = WideTokenWindowAdapter(10, embedding_dim=4, filters=3, widths=[2], wide_dim=2, wide_buckets=7)
    out = adapter(IDS, training=False).numpy()
    table = adapter.ngrams.embeddings.numpy()
    ids = IDS[0, :4]
    base = text_wide.PAIR_BASE
    pairs = [10 + ((a % base) * base + b) % 7 for a, b in zip(ids[:-1], ids[1:])]
    bag = (table[ids].sum(0) + table[pairs].sum(0)) / np.sqrt(4 + 3)
    expected = np.concatenate([np.maximum(bag, 0), np.maximum(-bag, 0)])
    np.testing.assert_allclose(out[0, :4, 3:], np.tile(expected, (4, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[0, 4:], 0)  # padding
    np.testing.assert_array_equal(out[2], 0)  # the empty text
    # The head's max pool recovers the bag: relu(b) - relu(-b) == b.
    pooled = out[0].max(axis=0)[3:]
    np.testing.assert_allclose(pooled[:2] - pooled[2:], bag, rtol=1e-5, atol=1e-6)


def test_wide_path_hashes_longer_ngrams_and_scales_the_bag():
    adapter = WideTokenWindowAdapter(
        10, embedding_dim=4, filters=3, widths=[2], wide_dim=2, wide_buckets=7, wide_ngrams=3, wide_scale=4.0
    )
    out = adapter(IDS, training=False).numpy()
    table = adapter.ngrams.embeddings.numpy()
    # A larger scale starts the table smaller by as much: the bag starts at the same size.
    assert np.abs(table).max() <= 0.05 / 4.0
    ids = IDS[0, :4]
    base = text_wide.PAIR_BASE
    pairs = [(a % base) * base + b for a, b in zip(ids[:-1], ids[1:])]
    triples = [(p % base) * base + c for p, c in zip(pairs[:-1], ids[2:])]
    rows = [*ids, *[10 + p % 7 for p in pairs], *[10 + t % 7 for t in triples]]
    bag = 4.0 * table[rows].sum(0) / np.sqrt(4 + 3 + 2)
    expected = np.concatenate([np.maximum(bag, 0), np.maximum(-bag, 0)])
    np.testing.assert_allclose(out[0, :4, 3:], np.tile(expected, (4, 1)), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[2], 0)  # the empty text
    config = adapter.get_config()
    assert (config["wide_ngrams"], config["wide_scale"]) == (3, 4.0)


def test_wide_adapter_output_is_independent_of_trailing_padding():
    adapter = WideTokenWindowAdapter(10, embedding_dim=4, filters=3, widths=[2, 3], wide_dim=3)
    short = IDS[:1]
    long = np.concatenate([short, np.zeros((1, 40), "int32")], axis=1)
    a, b = adapter(short, training=False).numpy(), adapter(long, training=False).numpy()
    assert (a >= 0).all() and (b >= 0).all()
    np.testing.assert_allclose(a.max(axis=1), b.max(axis=1), rtol=1e-6)
    np.testing.assert_array_equal(b[:, a.shape[1] :], 0)


def test_wide_adapter_validates_arguments():
    with pytest.raises(ValueError, match=r"`wide_dim` must be a non-negative integer. Received: wide_dim=-1"):
        WideTokenWindowAdapter(10, wide_dim=-1)
    with pytest.raises(ValueError, match=r"needs a bag.*Received: wide_dim=0, char_dim=0"):
        WideTokenWindowAdapter(10, wide_dim=0)
    with pytest.raises(
        ValueError, match=r"`char_dim` must be a non-negative integer. Received: char_dim=1.5"
    ):
        WideTokenWindowAdapter(10, char_dim=1.5)
    with pytest.raises(ValueError, match=r"wide_buckets"):
        WideTokenWindowAdapter(10, wide_buckets=-1)
    with pytest.raises(
        ValueError, match=r"`wide_ngrams` must be a positive integer. Received: wide_ngrams=0$"
    ):
        WideTokenWindowAdapter(10, wide_ngrams=0)
    with pytest.raises(ValueError, match=r"`wide_scale` must be a positive number. Received: wide_scale=0"):
        WideTokenWindowAdapter(10, wide_scale=0)
    with pytest.raises(ValueError, match=r"parallel windows only.*blocks="):
        WideTokenWindowAdapter(10, blocks=[{"filters": 3}])


def toy_texts(n=160, seed=0):
    """The class is a word pair: "not good" is negative, "good" alone positive (a bigram matters)."""
    rng = np.random.default_rng(seed)
    filler = "the a film movie plot actor scene story one it was very".split()
    texts, labels = [], []
    for i in range(n):
        words = list(rng.choice(filler, rng.integers(3, 9)))
        words.insert(int(rng.integers(0, len(words) + 1)), "good" if i % 2 else "not good")
        texts.append(" ".join(words))
        labels.append("pos" if i % 2 else "neg")
    return texts, labels


def test_wide_preset_trains_saves_and_explains(tmp_path):
    texts, labels = toy_texts()
    clf = TextClassifier(**TINY, preset="wide", learning_rate=1e-2, epochs=6)
    clf.fit(from_arrays(texts, labels), verbose=0)
    assert isinstance(clf.model.get_layer("adapter"), WideTokenWindowAdapter)
    test_texts, test_labels = toy_texts(60, seed=1)
    assert clf.evaluate(from_arrays(test_texts, test_labels))["accuracy"] >= 0.95
    windows = clf.explain("the plot was very good", top_k=3)["windows"]
    assert windows and all(0 <= w["start"] < w["stop"] <= 5 for w in windows)
    path = tmp_path / "wide.keras"
    clf.save(path)
    loaded = mmcnn.load(path)
    some = ["not good at all", "good", "", "unknown words"]
    np.testing.assert_array_equal(loaded.predict_proba(some), clf.predict_proba(some))


def test_docstrings_run():
    assert doctest.testmod(text_wide, optionflags=doctest.ELLIPSIS).failed == 0


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["wide", "subwords"])
@pytest.mark.parametrize("fmt", ["litert", "onnx"])
def test_wide_preset_runs_on_ids_from_the_python_tokenizer(fmt, preset, tmp_path):
    # The bags are integer ops on the ids and the character grams a weight: the converted file
    # takes the ids that PythonTokenizer makes outside TensorFlow and decides as the Keras model does.
    from mmcnn.export import export_litert, export_onnx, load_edge_model

    texts, labels = toy_texts(64)
    clf = TextClassifier(**TINY, preset=preset, mode="word", epochs=2, learning_rate=1e-2)
    clf.fit(from_arrays(texts, labels), verbose=0)
    export = export_litert if fmt == "litert" else export_onnx
    path = export(clf, tmp_path / ("w.tflite" if fmt == "litert" else "w.onnx"))
    edge = load_edge_model(path)
    tokenizer = mmcnn.text.PythonTokenizer.from_layer(clf.tokenizer)
    some = [*texts[:20], "", "not good not good", "unknown words only"]
    ids = tokenizer(some)
    np.testing.assert_array_equal(ids, clf.edge_inputs(clf.preprocess(some)))
    np.testing.assert_allclose(edge(ids), clf.predict_proba(some), atol=1e-5)
