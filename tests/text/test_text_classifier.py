"""Tests for TokenWindowAdapter and TextClassifier (tiny models, 16-token texts)."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmcnn
import mmcnn.text.text_adapter as text_adapter
import mmcnn.text.text_classifier as text_classifier
from mmcnn.testing import run_layer_test
from mmcnn.text import TextClassifier, TokenWindowAdapter, from_arrays

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


def toy_texts(n=160, seed=0):
    """Separable toy task: the class word ("good"/"bad") sits somewhere among filler words."""
    rng = np.random.default_rng(seed)
    filler = "the a film movie plot actor scene story one it was very".split()
    texts, labels = [], []
    for i in range(n):
        words = list(rng.choice(filler, rng.integers(3, 9)))
        words.insert(int(rng.integers(0, len(words) + 1)), "good" if i % 2 else "bad")
        texts.append(" ".join(words))
        labels.append("pos" if i % 2 else "neg")
    return texts, labels


# ---------------------------------------------------------------- adapter


def test_adapter_layer_test_parallel_windows():
    run_layer_test(
        TokenWindowAdapter,
        dict(vocabulary_size=10, embedding_dim=4, filters=3, widths=[2, 3]),
        IDS,
        expected_output_shape=(3, MAX_TOKENS, 6),
        expected_num_trainable_weights=5,
    )


def test_adapter_layer_test_stacked_blocks():
    run_layer_test(
        TokenWindowAdapter,
        dict(
            vocabulary_size=10,
            embedding_dim=4,
            dropout=0.1,
            blocks=[{"filters": 3, "pool_size": 3}, {"filters": 5, "kernel_size": 5}],
        ),
        IDS,
        expected_output_shape=(3, 6, 5),
    )


def test_adapter_validates_arguments():
    with pytest.raises(ValueError, match=r"`widths` must be a non-empty list.*Received: widths=3"):
        TokenWindowAdapter(10, widths=3)
    with pytest.raises(ValueError, match=r"`widths` must be a positive integer. Received: widths=0"):
        TokenWindowAdapter(10, widths=[2, 0])
    with pytest.raises(ValueError, match=r"`blocks\[0\]` must be a dict with 'filters'"):
        TokenWindowAdapter(10, blocks=[{"kernel_size": 3}])
    with pytest.raises(ValueError, match=r"blocks\[0\]\['pool_size'\]"):
        TokenWindowAdapter(10, blocks=[{"filters": 3, "pool_size": 0}])
    with pytest.raises(ValueError, match="vocabulary_size"):
        TokenWindowAdapter(0)


@pytest.mark.parametrize("blocks", [None, [{"filters": 4, "pool_size": 2}, {"filters": 3, "kernel_size": 5}]])
def test_adapter_output_is_independent_of_trailing_padding(blocks):
    adapter = TokenWindowAdapter(10, embedding_dim=4, filters=3, widths=[2, 3], blocks=blocks)
    short = IDS[:1]
    long = np.concatenate([short, np.zeros((1, 40), "int32")], axis=1)
    a, b = adapter(short, training=False).numpy(), adapter(long, training=False).numpy()
    assert (a >= 0).all() and (b >= 0).all()
    np.testing.assert_array_equal(a.max(axis=1), b.max(axis=1))
    np.testing.assert_array_equal(b[:, a.shape[1] :], 0)  # padding positions hold the least value


def test_adapter_token_windows_match_gradients():
    # Reference for `token_windows`: the tokens whose embedding can change one output unit
    # lie inside the window it reports.
    adapter = TokenWindowAdapter(
        10, embedding_dim=3, blocks=[{"filters": 8, "pool_size": 2}, {"filters": 8, "kernel_size": 5}]
    )
    ids = tf.constant(np.random.default_rng(0).integers(2, 10, (1, MAX_TOKENS)), dtype="int32")
    adapter(ids)
    offset, width, stride = adapter.token_windows()[0]
    assert (offset, width, stride) == (-5, 12, 2)  # 3-window, pool 2, 5-window at stride 2
    embedded = adapter.embedding(ids)
    for position in (2, 5):
        with tf.GradientTape() as tape:
            tape.watch(embedded)
            x = embedded
            for block, conv in zip(adapter.blocks, adapter.convs):
                x = conv(x, training=False)
                if block["pool_size"] > 1:
                    x = text_adapter._pool(x, block["pool_size"])
            unit = tf.reduce_sum(x[0, position])
        reach = np.flatnonzero(np.abs(tape.gradient(unit, embedded).numpy()[0]).sum(-1) > 0)
        start = position * stride + offset
        assert len(reach) and reach.min() >= max(0, start) and reach.max() <= start + width - 1


# ------------------------------------------------------------- classifier


@pytest.fixture(scope="module")
def trained():
    texts, labels = toy_texts()
    clf = TextClassifier(**TINY, learning_rate=1e-2, epochs=6)
    clf.fit(from_arrays(texts, labels), verbose=0)
    return clf


def test_fit_separates_toy_task_and_explains(trained):
    texts, labels = toy_texts(60, seed=1)
    report = trained.evaluate(from_arrays(texts, labels))
    assert report["accuracy"] >= 0.95
    out = trained.predict(["it was a good film", "one bad plot"])
    assert out["labels"] == ["pos", "neg"] and out["probabilities"].shape == (2, 2)
    explanation = trained.explain("the plot was very good", top_k=3)
    assert explanation["label"] == "pos"
    assert len(explanation["windows"]) <= 3
    # The top window holds the class word; windows are consecutive tokens of the text.
    assert "good" in explanation["windows"][0]["tokens"].split()
    assert all(w["tokens"] in "the plot was very good" for w in explanation["windows"])


def test_bad_texts_predict_without_crashing(trained):
    texts = [b"broken \xff\xfe good", "lone surrogate \udcff good", "", "   ", "good " * 2_100_000]
    probs = trained.predict_proba(texts)
    assert probs.shape == (5, 2) and np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(-1), 1, atol=1e-5)
    # Invalid bytes become U+FFFD, an [UNK] token here: same as any unknown word.
    same = trained.predict_proba(["xyzzy good"])
    np.testing.assert_allclose(probs[0], trained.predict_proba(["broken \ufffd good"])[0], atol=1e-6)
    assert np.isfinite(same).all()
    with pytest.raises(ValueError, match=r"texts\[1\] must be a string"):
        trained.predict(["fine", None])


def test_save_load_gives_identical_predictions(trained, tmp_path):
    path = tmp_path / "text.keras"
    trained.save(path)
    loaded = mmcnn.load(path)
    assert isinstance(loaded, TextClassifier) and loaded.class_names == ["neg", "pos"]
    texts = ["a good film", "a bad film", "", "unknown words only", b"\xff"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), trained.predict_proba(texts))
    assert loaded.tokenizer.vocabulary == trained.tokenizer.vocabulary


def test_prediction_is_independent_of_padding_length(trained):
    # Same weights, texts padded to 16 or to 40 tokens: exactly the same probabilities.
    longer = TextClassifier(**{**TINY, "max_tokens": 40}, class_names=trained.class_names)
    longer.adapt(toy_texts()[0])
    assert longer.tokenizer.vocabulary == trained.tokenizer.vocabulary
    longer.model.set_weights(trained.model.get_weights())
    texts = ["good", "the film was bad", "", "one two three good"]
    np.testing.assert_array_equal(longer.predict_proba(texts), trained.predict_proba(texts))


@pytest.mark.parametrize("mode", ["word", "unicode_script", "wordpiece", "char", "byte"])
def test_each_tokenizer_mode_trains_one_step(mode):
    texts, labels = toy_texts(16)
    clf = TextClassifier(**TINY, mode=mode, epochs=1)
    history = clf.fit(from_arrays(texts, labels), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert clf.tokenizer.mode == mode
    assert np.isfinite(clf.predict_proba(["good film", ""])).all()


@pytest.mark.parametrize("preset", ["deep", "char"])
def test_stacked_presets_build_and_predict(preset):
    clf = TextClassifier(
        class_names=["a", "b", "c"], preset=preset, max_tokens=MAX_TOKENS, min_frequency=1, embedding_dim=8
    )
    clf.adapt(["some words here", "and more words"])
    probs = clf.predict_proba(["some text", ""])
    assert probs.shape == (2, 3) and np.isfinite(probs).all()
    assert clf.tokenizer.mode == ("char" if preset == "char" else "word")
    windows = clf.explain("some words here")["windows"]
    assert all(0 <= w["start"] < w["stop"] <= 3 or clf.tokenizer.mode == "char" for w in windows)


def test_mixed_bfloat16_classifier_gives_float32_probabilities():
    texts, _ = toy_texts(16)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        clf = TextClassifier(num_classes=2, **TINY)
        clf.adapt(texts)
        adapter = clf.model.get_layer("adapter")
        assert adapter.output.dtype == "bfloat16" and adapter.embedding.compute_dtype == "bfloat16"
        assert clf.model.output.dtype == "float32"
        probabilities = clf.predict_proba(["good film", "", "the plot was bad"])
    finally:
        keras.config.set_dtype_policy(previous)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-6)


def test_arguments_are_validated_and_vocabulary_is_needed():
    with pytest.raises(ValueError, match="`mode` must be one of"):
        TextClassifier(mode="sentencepiece")
    with pytest.raises(ValueError, match="`augmentation` must be one of"):
        TextClassifier(augmentation="standard")
    with pytest.raises(ValueError, match="max_tokens"):
        TextClassifier(max_tokens=0)
    with pytest.raises(ValueError, match="`filters` must be a positive integer"):
        TextClassifier(filters=-1)
    with pytest.raises(ValueError, match="needs a vocabulary"):
        TextClassifier(num_classes=2).build()
    # Byte mode has a fixed vocabulary: it builds at once.
    assert TextClassifier(
        num_classes=2, mode="byte", **{k: v for k, v in TINY.items() if k != "min_frequency"}
    ).model.output_shape == (None, 2)


def test_docstrings_run():
    for module in (text_adapter, text_classifier):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_a_model_built_twice_still_trains_on_cached_token_ids():
    """`precision="auto"` builds trial models before the real one: each build gets its own tokenizer
    layer (one shared layer had two outputs, and the cached-feature model named its input twice)."""
    texts, labels = toy_texts(16)
    data = from_arrays(texts, labels)
    clf = TextClassifier(**TINY, epochs=1)
    first = clf.prepare(data)
    second = clf.build()
    assert first.get_layer("tokenizer") is not second.get_layer("tokenizer")
    history = clf.fit(data, validation_data=data, verbose=0, calibrate=False)
    assert np.isfinite(history.history["val_loss"][0])
