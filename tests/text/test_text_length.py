"""`max_tokens="auto"`: the Kim presets read as many tokens as 95% of the training texts have."""

import json
import zipfile

import numpy as np
import pytest

import mmcnn
from mmcnn.text import TextClassifier
from mmcnn.text.text_converter import TextTokenizer
from mmcnn.text.text_length import FALLBACK_MAX_TOKENS, choose_max_tokens, survey

TINY = dict(embedding_dim=8, filters=4, min_frequency=1, class_names=["a", "b"])


def texts_of(lengths, seed=0):
    rng = np.random.default_rng(seed)
    words = "red green blue cyan plum gold".split()
    return [" ".join(rng.choice(words, n)) for n in lengths]


def test_the_rule_covers_95_percent_rounded_up_to_16_within_the_range():
    reason = "95% of 100 sampled training texts have at most 5 tokens"
    assert choose_max_tokens([5] * 100, 16, 256) == (16, reason)
    counts = list(range(1, 101))  # the 95% quantile ("higher") of 1..100 is 96
    assert choose_max_tokens(counts, 16, 256)[0] == 96
    assert choose_max_tokens([97] * 20, 16, 256)[0] == 112  # rounded up to a multiple of 16
    size, reason = choose_max_tokens([1000] * 20, 16, 256)
    assert size == 256 and reason.endswith("the preset's most, 256")
    size, reason = choose_max_tokens([3] * 20, 32, 256)
    assert size == 32 and reason.endswith("the preset's least, 32")
    assert choose_max_tokens([], 16, 256) == (FALLBACK_MAX_TOKENS, "no training text: the fallback")


def test_survey_draws_at_most_the_limit_in_order_and_by_seed():
    texts = [str(i) for i in range(100)]
    assert survey(texts, seed=0, limit=200) == texts
    drawn = survey(texts, seed=0, limit=10)
    assert len(drawn) == 10 and drawn == sorted(drawn, key=int) and drawn == survey(texts, 0, 10)
    assert drawn != survey(texts, 1, 10)


def test_token_counts_are_the_tokenizers_own_before_truncation():
    tokenizer = TextTokenizer(mode="unicode_script", max_tokens=4)
    assert tokenizer.token_counts(["Hello, world!", "", "one two three four five six"]).tolist() == [4, 0, 6]
    assert TextTokenizer(mode="byte", max_tokens=4).token_counts(["héllo"]).tolist() == [6]
    assert TextTokenizer(mode="char", max_tokens=4).token_counts(["héllo"]).tolist() == [5]


def test_short_and_long_texts_get_their_own_length_recorded_with_the_model(tmp_path):
    short = TextClassifier(**TINY)
    short.adapt(texts_of([3, 5, 8] * 20))
    assert short.max_tokens == 16 and short.tokenizer.max_tokens == 16
    assert short.input_used["max_tokens"] == 16
    assert short.input_used["max_tokens_reason"].startswith("95% of 60 sampled training texts have at most 8")

    longer = TextClassifier(**TINY)
    longer.adapt(texts_of([20] * 10 + [40] * 90))
    assert longer.max_tokens == 48
    longer.build()
    assert longer.model.get_layer("tokenizer").max_tokens == 48
    longer.save(tmp_path / "longer.keras")
    loaded = mmcnn.load(tmp_path / "longer.keras")
    assert loaded.max_tokens == 48 and loaded.read_length() == 48
    assert loaded.model.metadata["input"]["max_tokens"] == 48

    longest = TextClassifier(**TINY)
    longest.adapt(texts_of([200] * 20))
    assert longest.max_tokens == 64  # the preset's budget: what it read before "auto"
    assert longest.input_used["max_tokens_reason"].endswith("the preset's most, 64")
    np.testing.assert_allclose(
        loaded.predict_proba(["red green", "plum " * 100]), longer.predict_proba(["red green", "plum " * 100])
    )


def test_a_given_length_wins_and_other_presets_keep_theirs():
    given = TextClassifier(**TINY, max_tokens=24)
    given.adapt(texts_of([3] * 20))
    assert given.tokenizer.max_tokens == 24 and given.input_used is None
    deep = TextClassifier(**TINY, preset="deep")
    deep.adapt(texts_of([3] * 20))
    assert deep.tokenizer.max_tokens == 256


def test_a_model_built_without_texts_reads_the_fallback():
    clf = TextClassifier(**TINY, mode="byte")
    clf.build()
    assert clf.read_length() == FALLBACK_MAX_TOKENS == clf.model.get_layer("tokenizer").max_tokens


def test_a_model_saved_before_auto_reads_its_own_length(tmp_path):
    """A `.keras` file whose config has `max_tokens: null` (the preset's 64 then) reads 64."""
    clf = TextClassifier(**TINY, max_tokens=64)
    clf.adapt(texts_of([3] * 20))
    clf.save(tmp_path / "new.keras")
    new, old_path = tmp_path / "new.keras", tmp_path / "old.keras"
    with zipfile.ZipFile(new) as source, zipfile.ZipFile(old_path, "w") as old:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                text = data.decode()
                config = json.loads(text)
                metadata = config["config"]["metadata"]
                assert metadata["config"]["max_tokens"] == 64
                metadata["config"]["max_tokens"] = None
                metadata["input"] = None
                data = json.dumps(config).encode()
            old.writestr(item, data)
    loaded = mmcnn.load(tmp_path / "old.keras")
    assert loaded.max_tokens is None and loaded.setting("max_tokens") == 64 and loaded.read_length() == 64
    np.testing.assert_allclose(loaded.predict_proba(["red plum"]), clf.predict_proba(["red plum"]))


def test_a_warm_start_reads_what_its_source_reads(tmp_path):
    source = TextClassifier(**TINY)
    source.adapt(texts_of([30] * 20))
    assert source.max_tokens == 32
    source.save(tmp_path / "source.keras")
    data = mmcnn.text.from_arrays(texts_of([3] * 8), [0, 1] * 4, class_names=["x", "y"])
    warm = TextClassifier(**{**TINY, "class_names": None}, init_from=str(tmp_path / "source.keras"))
    warm.prepare(data)
    assert warm.max_tokens == 32 and warm.tokenizer.max_tokens == 32
    assert "init_from" in warm.input_used["max_tokens_reason"]
    relearned = TextClassifier(
        **{**TINY, "class_names": None}, init_from=str(tmp_path / "source.keras"), relearn_vocabulary=True
    )
    with pytest.raises(mmcnn.models.transfer.TransferError, match="init_from has max_tokens 32"):
        relearned.prepare(data)  # a new vocabulary from 3-token texts decides 16: not the source's 32
