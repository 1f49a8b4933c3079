"""Without a preset, text takes "subwords", or "subword_tags" when multi-label (tiny models)."""

import numpy as np

import mmcnn
from mmcnn.data import LabeledData
from mmcnn.text import TextClassifier, WideTokenWindowAdapter, from_arrays

TINY = dict(max_tokens=16, min_frequency=1, embedding_dim=8, filters=4)


def tagged_texts(n=60, seed=0):
    """Texts with "red" and/or "blue" among filler words; tags `red`, `blue`."""
    rng = np.random.default_rng(seed)
    filler = "the a one two box car pen cup".split()
    texts, targets = [], []
    for _ in range(n):
        tags = rng.random(2) < 0.5
        words = list(rng.choice(filler, 4)) + [w for w, on in zip(("red", "blue"), tags) if on]
        texts.append(" ".join(rng.permutation(words)))
        targets.append(tags)
    targets = np.asarray(targets, "float32")
    return LabeledData(texts, targets.argmax(1), ["red", "blue"], "texts", targets=targets)


def test_multi_label_data_takes_the_subword_tags_preset_and_keeps_it_when_saved(tmp_path):
    clf = TextClassifier(**TINY)
    assert clf.preset == "subwords"
    clf.prepare(tagged_texts())
    assert clf.multi_label and clf.preset == "subword_tags"
    adapter = clf.model.get_layer("adapter")
    assert isinstance(adapter, WideTokenWindowAdapter)
    assert (adapter.wide_ngrams, adapter.wide_scale, adapter.char_dim, adapter.char_scale) == (
        3,
        8.0,
        32,
        8.0,
    )
    clf.save(tmp_path / "tags.keras")
    loaded = mmcnn.load(tmp_path / "tags.keras")
    assert loaded.preset == "subword_tags" and not loaded.preset_follows_labels
    some = ["red box", "blue", "", "red blue cup"]
    np.testing.assert_array_equal(loaded.predict_proba(some), clf.predict_proba(some))


def test_multi_label_at_construction_takes_it_at_once():
    clf = TextClassifier(**TINY, class_names=["red", "blue"], multi_label=True)
    assert clf.preset == "subword_tags"
    clf.adapt(["red box", "blue cup"])
    assert isinstance(clf.model.get_layer("adapter"), WideTokenWindowAdapter)


def test_single_label_text_takes_the_character_bag():
    single = TextClassifier(**TINY)
    single.prepare(from_arrays(["red box", "blue cup", "red", "blue"], [0, 1, 0, 1], class_names=["r", "b"]))
    assert not single.multi_label and single.preset == "subwords"
    adapter = single.model.get_layer("adapter")
    assert adapter.ngrams is None and (adapter.char_dim, adapter.char_scale) == (32, 8.0)


def test_a_given_preset_is_kept_and_earlier_defaults_load_as_they_were(tmp_path):
    for preset, adapter_type in (("kim", "TokenWindowAdapter"), ("tags", "WideTokenWindowAdapter")):
        given = TextClassifier(**TINY, preset=preset)
        given.prepare(tagged_texts())
        assert given.multi_label and given.preset == preset
        adapter = given.model.get_layer("adapter")
        assert type(adapter).__name__ == adapter_type and getattr(adapter, "chars", None) is None
        given.save(tmp_path / f"{preset}.keras")
        loaded = mmcnn.load(tmp_path / f"{preset}.keras")
        assert loaded.preset == preset and getattr(loaded.model.get_layer("adapter"), "chars", None) is None
        some = ["red box", "blue", ""]
        np.testing.assert_array_equal(loaded.predict_proba(some), given.predict_proba(some))


def test_a_warm_start_without_a_preset_takes_its_sources(tmp_path):
    source = TextClassifier(**TINY)
    source.prepare(tagged_texts())
    source.save(tmp_path / "tags.keras")
    # Single-label classes of its own: still the source's network, so the weights fit.
    warm = TextClassifier(**TINY, class_names=["x", "y", "z"], init_from=str(tmp_path / "tags.keras"))
    warm.build()
    assert warm.preset == "subword_tags"
    ours, theirs = warm.model.get_layer("adapter"), source.model.get_layer("adapter")
    np.testing.assert_array_equal(ours.ngrams.embeddings.numpy(), theirs.ngrams.embeddings.numpy())
    np.testing.assert_array_equal(ours.chars.table.embeddings.numpy(), theirs.chars.table.embeddings.numpy())
    np.testing.assert_array_equal(ours.chars.token_grams.numpy(), theirs.chars.token_grams.numpy())


def test_a_relearned_vocabulary_keeps_the_word_bag_rows_of_shared_tokens(tmp_path):
    source = TextClassifier(**TINY)
    source.prepare(tagged_texts())
    source.save(tmp_path / "tags.keras")
    data = tagged_texts(40, seed=3)
    data = LabeledData(
        [*data.inputs, "green mug"],
        np.r_[data.labels, 0],
        data.class_names,
        "texts",
        targets=np.r_[data.targets, [[1, 0]]],
    )
    # A new vocabulary (one more token, so the word bag has one more row) no longer fails the copy.
    warm = TextClassifier(**TINY, init_from=str(tmp_path / "tags.keras"), relearn_vocabulary=True)
    warm.prepare(data)
    theirs, ours = source.tokenizer.get_vocabulary(), warm.tokenizer.get_vocabulary()
    assert len(ours) == len(theirs) + 2 and {"green", "mug"} <= set(ours)
    their_rows = source.model.get_layer("adapter").ngrams.embeddings.numpy()
    our_rows = warm.model.get_layer("adapter").ngrams.embeddings.numpy()
    for token in ("red", "blue", "box"):
        np.testing.assert_array_equal(our_rows[ours.index(token)], their_rows[theirs.index(token)])
