"""Tests for the bag of the tokens' character n-grams and the "subwords" preset (tiny models)."""

import numpy as np
import pytest

import mmcnn
from mmcnn.testing import run_layer_test
from mmcnn.text import TextClassifier, WideTokenWindowAdapter, from_arrays
from mmcnn.text.text_subwords import (
    GRAMS_PER_TOKEN,
    TokenCharGramBag,
    gram_vocabulary,
    token_char_grams,
    token_gram_rows,
)

VOCABULARY = ["[PAD]", "[UNK]", "pdf", "pdfs", "tar", "tarball", "x"]
IDS = np.array([[2, 3, 0, 0], [4, 5, 6, 1], [1, 0, 0, 0], [0, 0, 0, 0]], dtype="int32")
TINY = dict(max_tokens=16, embedding_dim=8, filters=4, min_frequency=1, batch_size=16)


def test_token_char_grams_are_the_2_to_5_grams_of_the_token_padded_with_spaces():
    grams = token_char_grams("ab")
    assert grams == [" a", "ab", "b ", " ab", "ab ", " ab "]
    assert len(token_char_grams("x" * 12)) == 13 + 12 + 11 + 10


def test_grams_of_one_token_only_get_no_row():
    grams = gram_vocabulary(VOCABULARY)
    assert " pdf" in grams and " tar" in grams
    assert "dfs" not in grams and "bal" not in grams  # in one token each
    assert "[P" not in "".join(grams)  # the reserved tokens have no grams
    assert len(grams) == len(set(grams))


def test_token_gram_rows_list_each_tokens_shared_grams():
    grams = gram_vocabulary(VOCABULARY)
    rows = np.asarray(token_gram_rows(VOCABULARY, grams))
    assert rows.shape == (len(VOCABULARY), GRAMS_PER_TOKEN)
    np.testing.assert_array_equal(rows[:2], 0)  # padding and out-of-vocabulary
    expected = [grams.index(g) + 1 for g in token_char_grams("pdf") if g in grams]
    assert rows[2][: len(expected)].tolist() == expected and not rows[2][len(expected) :].any()
    assert not rows[6].any()  # "x" shares no gram
    long_token = ["[PAD]", "[UNK]", "a" * 40, "a" * 41]
    assert np.count_nonzero(token_gram_rows(long_token, gram_vocabulary(long_token))[2]) == GRAMS_PER_TOKEN


def test_bag_layer_test():
    run_layer_test(
        TokenCharGramBag,
        dict(vocabulary_size=8, dim=3, scale=2.0, vocabulary=VOCABULARY),
        IDS,
        expected_output_shape=(4, 3),
        expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=1,
    )


def test_bag_is_the_scaled_mean_of_its_tokens_gram_vectors():
    bag = TokenCharGramBag(8, dim=3, scale=4.0, vocabulary=VOCABULARY)
    out = bag(IDS).numpy()
    table = bag.table.embeddings.numpy()
    assert np.abs(table).max() <= 0.05 / 4.0  # starts `scale` times smaller
    rows = np.asarray(token_gram_rows(VOCABULARY, gram_vocabulary(VOCABULARY)))
    grams = [r for token in (2, 3) for r in rows[token] if r]
    np.testing.assert_allclose(out[0], 4.0 * table[grams].sum(0) / np.sqrt(len(grams)), rtol=1e-5)
    # Out-of-vocabulary, padding and a token without shared grams add nothing; an empty text is 0.
    grams = [r for token in (4, 5) for r in rows[token] if r]
    np.testing.assert_allclose(out[1], 4.0 * table[grams].sum(0) / np.sqrt(len(grams)), rtol=1e-5)
    np.testing.assert_array_equal(out[2:], 0)


def test_training_and_inference_compute_the_same_bag():
    # Two ways to the same sum (counts times the table for training, a gather for the converters).
    bag = TokenCharGramBag(8, dim=5, scale=2.0, vocabulary=VOCABULARY)
    bag.build(IDS.shape)
    bag.table.embeddings.assign(np.random.default_rng(0).normal(size=(bag.gram_rows, 5)))
    np.testing.assert_allclose(bag(IDS, training=True).numpy(), bag(IDS, training=False).numpy(), atol=1e-6)


def test_tokens_that_share_spelling_share_vectors():
    bag = TokenCharGramBag(8, dim=16, vocabulary=VOCABULARY)
    pdf, pdfs, tar = bag(np.array([[2], [3], [4]])).numpy()

    def cosine(a, b):
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

    # Random start: "pdf" and "pdfs" share all of "pdf"'s rows, "pdf" and "tar" none.
    assert cosine(pdf, pdfs) > 0.5 and abs(cosine(pdf, tar)) < cosine(pdf, pdfs)


def test_bag_sums_in_float32_under_mixed_bfloat16():
    vocabulary = ["[PAD]", "[UNK]", *[f"word{i:03d}" for i in range(200)]]
    ids = np.arange(2, 202, dtype="int32").reshape(1, -1)
    exact = TokenCharGramBag(202, dim=4, vocabulary=vocabulary)
    mixed = TokenCharGramBag(202, dim=4, vocabulary=vocabulary, dtype="mixed_bfloat16")
    mixed.build(ids.shape)
    exact.build(ids.shape)
    mixed.table.embeddings.assign(exact.table.embeddings)
    # bfloat16 keeps 8 bits: the vectors are rounded once, the sum of ~1,000 of them is not.
    np.testing.assert_allclose(np.asarray(mixed(ids), "float32"), exact(ids).numpy(), rtol=0.02, atol=2e-3)


def test_bag_validates_its_arguments():
    with pytest.raises(ValueError, match=r"`dim` must be a positive integer. Received: dim=0"):
        TokenCharGramBag(8, dim=0)
    with pytest.raises(ValueError, match=r"`scale` must be a positive number"):
        TokenCharGramBag(8, scale=-1)
    with pytest.raises(ValueError, match=r"`vocabulary` holds 7 tokens, more than vocabulary_size=5"):
        TokenCharGramBag(5, vocabulary=VOCABULARY)


def test_wide_adapter_with_characters_only():
    adapter = WideTokenWindowAdapter(
        8, embedding_dim=4, filters=3, widths=[2], wide_dim=0, char_dim=2, vocabulary=VOCABULARY
    )
    out = adapter(IDS, training=False).numpy()
    assert out.shape == (4, 4, 3 + 4) and adapter.ngrams is None
    bag = adapter.chars(IDS).numpy()
    np.testing.assert_allclose(
        out[0, :2, 3:], np.tile(np.maximum(np.r_[bag[0], -bag[0]], 0), (2, 1)), rtol=1e-6
    )
    np.testing.assert_array_equal(out[0, 2:], 0)  # padding
    config = adapter.get_config()
    assert (config["char_dim"], config["char_rows"]) == (2, adapter.chars.gram_rows)
    assert config["vocabulary"] is None  # the grams are weights
    with pytest.raises(ValueError, match=r"needs a bag: `wide_dim` or `char_dim` must be positive"):
        WideTokenWindowAdapter(8, wide_dim=0)


def spelled_texts(n=120, seed=0):
    """The class is a suffix: words ending in "ing" or in "ed", each stem in a few texts only."""
    rng = np.random.default_rng(seed)
    stems = [f"{a}{b}" for a in "bcdfgklmnprst" for b in ("al", "ov", "ur", "en", "ip")]
    texts, labels = [], []
    for i in range(n):
        suffix = "ing" if i % 2 else "ed"
        words = [f"{stem}{suffix}" for stem in rng.choice(stems, 3)]
        texts.append(" ".join(words))
        labels.append(suffix)
    return texts, labels


def test_subwords_preset_learns_from_spelling_and_saves(tmp_path):
    texts, labels = spelled_texts()
    clf = TextClassifier(**TINY, preset="subwords", learning_rate=1e-2, epochs=8)
    clf.fit(from_arrays(texts, labels), verbose=0)
    adapter = clf.model.get_layer("adapter")
    assert adapter.chars is not None and adapter.chars.gram_rows > 1
    # Words of the vocabulary in new combinations: most stems were seen with one suffix a few times.
    test_texts, test_labels = spelled_texts(80, seed=1)
    assert clf.evaluate(from_arrays(test_texts, test_labels))["accuracy"] >= 0.9
    clf.save(tmp_path / "subwords.keras")
    loaded = mmcnn.load(tmp_path / "subwords.keras")
    assert loaded.preset == "subwords"
    np.testing.assert_array_equal(
        loaded.model.get_layer("adapter").chars.token_grams.numpy(), adapter.chars.token_grams.numpy()
    )
    some = ["balling", "covered", "", "unknown words"]
    np.testing.assert_array_equal(loaded.predict_proba(some), clf.predict_proba(some))


def test_a_relearned_vocabulary_keeps_the_vectors_of_shared_grams(tmp_path):
    texts, labels = spelled_texts(40)
    source = TextClassifier(**TINY, preset="subwords", epochs=1)
    source.fit(from_arrays(texts, labels), verbose=0)
    source.save(tmp_path / "source.keras")
    other, other_labels = spelled_texts(40, seed=5)
    warm = TextClassifier(
        **TINY, preset="subwords", epochs=1, init_from=str(tmp_path / "source.keras"), relearn_vocabulary=True
    )
    warm.prepare(from_arrays(other + ["quxing quxed"], [*other_labels, "ed"]))
    theirs, ours = source.model.get_layer("adapter").chars, warm.model.get_layer("adapter").chars
    their_grams = gram_vocabulary(source.tokenizer.get_vocabulary())
    our_grams = gram_vocabulary(warm.tokenizer.get_vocabulary())
    assert "qux" in "".join(our_grams) and their_grams != our_grams
    shared = [g for g in our_grams if g in their_grams]
    assert shared
    their_table, our_table = theirs.table.embeddings.numpy(), ours.table.embeddings.numpy()
    for gram in shared:
        np.testing.assert_array_equal(
            our_table[our_grams.index(gram) + 1], their_table[their_grams.index(gram) + 1]
        )
    # The token table is this classifier's own, made from its vocabulary.
    expected = token_gram_rows(warm.tokenizer.get_vocabulary(), our_grams)
    np.testing.assert_array_equal(ours.token_grams.numpy()[: len(expected)], expected)
