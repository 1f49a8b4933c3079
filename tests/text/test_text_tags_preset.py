"""Multi-label text takes the "tags" preset when no preset is given (tiny models, 16-token texts)."""

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


def test_multi_label_data_takes_the_tags_preset_and_keeps_it_when_saved(tmp_path):
    clf = TextClassifier(**TINY)
    assert clf.preset == "kim"
    clf.prepare(tagged_texts())
    assert clf.multi_label and clf.preset == "tags"
    adapter = clf.model.get_layer("adapter")
    assert isinstance(adapter, WideTokenWindowAdapter)
    assert (adapter.wide_ngrams, adapter.wide_scale) == (3, 8.0)
    clf.save(tmp_path / "tags.keras")
    loaded = mmcnn.load(tmp_path / "tags.keras")
    assert loaded.preset == "tags" and not loaded.preset_follows_labels
    some = ["red box", "blue", "", "red blue cup"]
    np.testing.assert_array_equal(loaded.predict_proba(some), clf.predict_proba(some))


def test_multi_label_at_construction_takes_it_at_once():
    clf = TextClassifier(**TINY, class_names=["red", "blue"], multi_label=True)
    assert clf.preset == "tags"
    clf.adapt(["red box", "blue cup"])
    assert isinstance(clf.model.get_layer("adapter"), WideTokenWindowAdapter)


def test_a_given_preset_and_single_label_data_keep_theirs():
    given = TextClassifier(**TINY, preset="kim")
    given.prepare(tagged_texts())
    assert given.multi_label and given.preset == "kim"
    assert type(given.model.get_layer("adapter")).__name__ == "TokenWindowAdapter"
    single = TextClassifier(**TINY)
    single.prepare(from_arrays(["red box", "blue cup", "red", "blue"], [0, 1, 0, 1], class_names=["r", "b"]))
    assert not single.multi_label and single.preset == "kim"


def test_a_warm_start_without_a_preset_takes_its_sources(tmp_path):
    source = TextClassifier(**TINY)
    source.prepare(tagged_texts())
    source.save(tmp_path / "tags.keras")
    # Single-label classes of its own: still the source's network, so the weights fit.
    warm = TextClassifier(**TINY, class_names=["x", "y", "z"], init_from=str(tmp_path / "tags.keras"))
    warm.build()
    assert warm.preset == "tags"
    np.testing.assert_array_equal(
        warm.model.get_layer("adapter").ngrams.embeddings.numpy(),
        source.model.get_layer("adapter").ngrams.embeddings.numpy(),
    )
