"""Tests for mmcnn.text.text_converter.TextTokenizer (tiny 16-token texts)."""

import doctest
import os
import shutil
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmcnn.text.text_converter as text_converter
from mmcnn.testing import run_layer_test
from mmcnn.text.text_converter import TextTokenizer

MAX_TOKENS = 16
CORPUS = ["the cat sat on the mat", "the dog sat on the log", "a cat and a dog"]
# Counts: the 4; a, cat, dog, on, sat 2; and, log, mat 1 -> by count, ties by token.
CORPUS_VOCAB = ["the", "a", "cat", "dog", "on", "sat", "and", "log", "mat"]


def tokenize(layer, texts):
    return layer(tf.constant(texts)).numpy()


def row(*ids):
    return list(ids) + [0] * (MAX_TOKENS - len(ids))


# ------------------------------------------------------------------ modes


def test_word_mode_adapt_and_ids():
    layer = TextTokenizer(mode="word", max_tokens=MAX_TOKENS, min_frequency=1)
    layer.adapt(CORPUS)
    assert layer.vocabulary == CORPUS_VOCAB
    assert layer.get_vocabulary() == ["[PAD]", "[UNK]"] + CORPUS_VOCAB
    assert layer.vocabulary_size == 11
    ids = tokenize(layer, ["The dog sat on a mat", "a bird"])
    assert ids.dtype == np.int32 and ids.shape == (2, MAX_TOKENS)
    assert ids.tolist() == [row(2, 5, 7, 6, 3, 10), row(3, 1)]  # "bird" is out of vocabulary


def test_unicode_script_mode_splits_punctuation_and_scripts():
    layer = TextTokenizer(
        mode="unicode_script",
        max_tokens=MAX_TOKENS,
        vocabulary=["hello", "world", ",", "!", "123", "abc", "日本語"],
    )
    ids = tokenize(layer, ["Hello, world!", "abc123 日本語abc", "1 2"])
    assert ids.tolist() == [row(2, 4, 3, 5), row(7, 6, 8, 7), row(1, 1)]


def test_char_mode_counts_characters():
    layer = TextTokenizer(mode="char", max_tokens=MAX_TOKENS, min_frequency=1)
    layer.adapt(["abca", "bb"])  # b 3, a 2, c 1
    assert layer.vocabulary == ["b", "a", "c"]
    assert tokenize(layer, ["Cab d"]).tolist() == [row(4, 3, 2, 1, 1)]  # space and d unknown


def test_byte_mode_needs_no_vocabulary():
    raw = TextTokenizer(mode="byte", max_tokens=MAX_TOKENS, lowercase=False, normalization=None)
    raw.adapt(["ignored"])  # a no-op
    assert raw.vocabulary is None and raw.vocabulary_size == 258
    # H=72, i=105, space=32, é=C3 A9 (195, 169); ids are byte + 2.
    assert tokenize(raw, ["Hi é"]).tolist() == [row(74, 107, 34, 197, 171)]
    folded = TextTokenizer(mode="byte", max_tokens=MAX_TOKENS)
    assert tokenize(folded, ["Hi"]).tolist() == [row(106, 107)]  # h=104
    assert raw.tokens_to_text(tokenize(raw, ["Hi é"])[0]) == ["H", "i", "<0x20>", "<0xC3>", "<0xA9>"]
    with pytest.raises(ValueError, match="vocabulary"):
        TextTokenizer(mode="byte", vocabulary=["a"])


def test_wordpiece_splits_an_unseen_word_into_known_pieces():
    corpus = ["walk talk sing jump read"] * 2 + ["walking singing jumping reading"]
    layer = TextTokenizer(mode="wordpiece", max_tokens=MAX_TOKENS, min_frequency=2)
    layer.adapt(corpus)
    vocab = layer.get_vocabulary()
    assert "##ing" in vocab and "talk" in vocab and "talking" not in vocab
    ids = tokenize(layer, ["Talking walks"])
    assert layer.tokens_to_text(ids) == [["talk", "##ing", "walk", "##s"]]
    expected = [vocab.index(t) for t in ("talk", "##ing", "walk", "##s")]
    assert ids.tolist() == [row(*expected)]
    # "!" never occurs in training: an unknown character makes the word [UNK].
    assert tokenize(layer, ["talk !"]).tolist() == [row(vocab.index("talk"), 1)]


# ------------------------------------------------------- normalisation, bad text


def test_nfkc_and_case_folding():
    layer = TextTokenizer(mode="word", max_tokens=MAX_TOKENS, vocabulary=["abc", "fine", "strasse"])
    # Full-width ＡＢＣ -> abc (NFKC + fold), the ligature ﬁ -> fi, ß folds to ss.
    assert tokenize(layer, ["ＡＢＣ ﬁne Straße"]).tolist() == [row(2, 3, 4)]
    raw = TextTokenizer(
        mode="word", max_tokens=MAX_TOKENS, vocabulary=["abc"], lowercase=False, normalization=None
    )
    assert tokenize(raw, ["ＡＢＣ ABC abc"]).tolist() == [row(1, 1, 2)]


def test_invalid_utf8_bytes_become_replacement_characters():
    layer = TextTokenizer(mode="word", max_tokens=MAX_TOKENS, vocabulary=["ok", "\ufffd"])
    ids = layer(tf.constant([b"ok \xff ok", b"\xc3"])).numpy()
    assert ids.tolist() == [row(2, 3, 2), row(3)]
    chars = TextTokenizer(mode="char", max_tokens=MAX_TOKENS, vocabulary=["a", "\ufffd"])
    assert chars(tf.constant([b"a\xfe\xffa"])).numpy().tolist() == [row(2, 3, 3, 2)]


@pytest.mark.parametrize("mode", ["word", "unicode_script"])
@pytest.mark.parametrize("lowercase,normalization", [(True, "NFKC"), (False, None)])
def test_words_end_before_multibyte_spaces(mode, lowercase, normalization):
    # No-break, line-separator, next-line and ideographic spaces end a word whole:
    # tensorflow-text alone leaves their first bytes on the word before.
    text = "no\u00a0break\u2028line\u0085next\u3000wide\u202fthin"
    layer = TextTokenizer(
        mode=mode, max_tokens=MAX_TOKENS, min_frequency=1, lowercase=lowercase, normalization=normalization
    )
    layer.adapt([text, b"caf\xc3\xa9\xc2\xa0ok"])
    vocabulary = layer.get_vocabulary()
    assert sorted(vocabulary[2:]) == sorted(["no", "break", "line", "next", "wide", "thin", "café", "ok"])
    assert 1 not in layer(tf.constant([text])).numpy()


@pytest.mark.parametrize("mode", ["word", "char", "byte"])
def test_empty_and_blank_texts_give_padding(mode):
    vocabulary = None if mode == "byte" else ["a"]
    layer = TextTokenizer(mode=mode, max_tokens=MAX_TOKENS, vocabulary=vocabulary)
    ids = tokenize(layer, ["", "a"])
    assert ids[0].tolist() == row()
    assert ids[1].tolist() != row()


def test_ten_megabyte_line_is_cut_and_truncated():
    layer = TextTokenizer(mode="word", max_tokens=MAX_TOKENS, vocabulary=["word"])
    spaced = "word " * 2_000_000  # 10 MB
    solid = "x" * 10_000_000  # one 10 MB "word": the byte budget cuts it to 1 KB
    ids = tokenize(layer, [spaced, solid, "word"])
    assert ids.tolist() == [row(*[2] * MAX_TOKENS), row(1), row(2)]


def test_texts_longer_than_max_tokens_are_truncated():
    layer = TextTokenizer(mode="word", max_tokens=4, vocabulary=["a", "b"])
    assert tokenize(layer, ["a b a b a b"]).tolist() == [[2, 3, 2, 3]]


# ------------------------------------------------------------ vocabulary


def test_min_frequency_and_vocabulary_size():
    frequent = TextTokenizer(mode="word", max_tokens=MAX_TOKENS, min_frequency=2)
    frequent.adapt(CORPUS)
    assert frequent.vocabulary == ["the", "a", "cat", "dog", "on", "sat"]
    assert tokenize(frequent, ["the mat"]).tolist() == [row(2, 1)]
    capped = TextTokenizer(mode="word", max_tokens=MAX_TOKENS, min_frequency=1, vocabulary_size=5)
    assert capped.vocabulary_size == 5  # before adapt: the cap
    capped.adapt(CORPUS)
    assert capped.vocabulary == ["the", "a", "cat"]
    assert tokenize(capped, ["the dog"]).tolist() == [row(2, 1)]


def test_wordpiece_honours_min_frequency_and_size():
    corpus = ["walk talk sing jump read"] * 2 + ["walking singing jumping reading"]
    layer = TextTokenizer(mode="wordpiece", min_frequency=3)
    layer.adapt(corpus)
    # Every word is seen at most twice; only the suffixes "##ing" (walking,
    # singing, jumping, reading) and "##alk" (walk x2, talk x2, walking) reach 3.
    # Single characters are always kept (the alphabet).
    assert {t for t in layer.vocabulary if len(t.removeprefix("##")) > 1} == {"##ing", "##alk"}
    small = TextTokenizer(mode="wordpiece", min_frequency=1, vocabulary_size=20)
    small.adapt(corpus)
    assert len(small.get_vocabulary()) == 20 == small.vocabulary_size


def test_adapt_accepts_arrays_tensors_and_datasets():
    expected = TextTokenizer(mode="word", min_frequency=1)
    expected.adapt(CORPUS)
    for texts in (
        np.array(CORPUS),
        tf.constant(CORPUS),
        tf.data.Dataset.from_tensor_slices(CORPUS),
        tf.data.Dataset.from_tensor_slices(CORPUS).batch(2),
    ):
        layer = TextTokenizer(mode="word", min_frequency=1)
        layer.adapt(texts)
        assert layer.vocabulary == expected.vocabulary
    pairs = tf.data.Dataset.from_tensor_slices((CORPUS, [0, 1, 0]))
    with pytest.raises(ValueError, match="map"):
        expected.adapt(pairs)


def test_tokens_to_text_and_oov():
    layer = TextTokenizer(mode="word", max_tokens=MAX_TOKENS, vocabulary=CORPUS_VOCAB)
    ids = tokenize(layer, ["the zebra sat", ""])
    assert layer.tokens_to_text(ids) == [["the", "[UNK]", "sat"], []]
    with pytest.raises(ValueError, match="ids"):
        layer.tokens_to_text([[99]])


def test_unadapted_layer_raises_on_call():
    layer = TextTokenizer(mode="word")
    with pytest.raises(ValueError, match="adapt"):
        layer(tf.constant(["a"]))


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"mode": "words"}, "mode"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"vocabulary_size": 2}, "vocabulary_size"),
        ({"min_frequency": 0}, "min_frequency"),
        ({"lowercase": "yes"}, "lowercase"),
        ({"normalization": "NFX"}, "normalization"),
        ({"vocabulary": ["a", "a"]}, "vocabulary"),
        ({"vocabulary": ["[UNK]"]}, "vocabulary"),
        ({"vocabulary": ["a", "b"], "vocabulary_size": 3}, "vocabulary"),
    ],
)
def test_invalid_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        TextTokenizer(**kwargs)


# ------------------------------------------------------ saving and export


def _string_model(layer):
    return keras.Sequential([keras.Input(shape=(), dtype="string"), layer])


@pytest.mark.parametrize("mode", ["word", "wordpiece"])
def test_vocabulary_travels_inside_keras_file_and_saved_model(mode, tmp_path):
    layer = TextTokenizer(mode=mode, max_tokens=MAX_TOKENS, min_frequency=1)
    layer.adapt(CORPUS)
    model = _string_model(layer)
    texts = tf.constant(["The dog sat on a mat", "a bird", ""])
    reference = model(texts).numpy()

    keras_path = tmp_path / "tokenizer.keras"
    model.save(keras_path)
    assert not any(
        "asset" in name or name.endswith(".txt") for name in zipfile.ZipFile(keras_path).namelist()
    )
    loaded = keras.saving.load_model(keras_path)
    np.testing.assert_array_equal(loaded(texts).numpy(), reference)
    assert loaded.layers[-1].get_vocabulary() == layer.get_vocabulary()

    export_dir = tmp_path / "export"
    model.export(str(export_dir), verbose=False)
    assert not os.listdir(export_dir / "assets") if (export_dir / "assets").exists() else True
    # Moving the export and deleting everything else proves nothing outside is read.
    moved = tmp_path / "moved" / "export"
    shutil.move(str(export_dir), str(moved))
    os.remove(keras_path)
    restored = tf.saved_model.load(str(moved))
    np.testing.assert_array_equal(restored.serve(texts).numpy(), reference)


def test_runs_inside_tf_data():
    layer = TextTokenizer(mode="word", max_tokens=MAX_TOKENS, vocabulary=CORPUS_VOCAB)
    dataset = tf.data.Dataset.from_tensor_slices(["the cat", "a log"]).batch(2).map(layer)
    (ids,) = list(dataset)
    assert ids.numpy().tolist() == [row(2, 4), row(3, 9)]


@pytest.mark.parametrize("mode", ["word", "unicode_script", "wordpiece", "char", "byte"])
def test_run_layer_test(mode):
    vocabulary = {
        "word": CORPUS_VOCAB,
        "unicode_script": CORPUS_VOCAB + [","],
        "wordpiece": ["a", "c", "t", "the", "cat", "##s", "##t"],
        "char": list("the ca"),
        "byte": None,
    }[mode]
    run_layer_test(
        TextTokenizer,
        {"mode": mode, "max_tokens": MAX_TOKENS, "vocabulary": vocabulary},
        np.array(["The cats sat, on the mat", "", "a dog"]),
        expected_output_shape=(None, MAX_TOKENS),
        expected_num_trainable_weights=0,
        run_training_step=False,
    )


def test_docstring_example_runs():
    results = doctest.testmod(text_converter, extraglobs={"tf": tf}, verbose=False)
    assert results.attempted > 0 and results.failed == 0
