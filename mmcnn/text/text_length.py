"""`max_tokens="auto"`: how many tokens a text model reads, decided from its training texts.

A fixed length fits few data sets: package descriptions of 8 tokens padded to 64
spend seven eighths of every convolution on padding. The Kim presets therefore read
as many tokens as `COVERAGE` (95 %) of the training texts have, rounded up to a
multiple of `STEP` and kept within the preset's `max_tokens_range`. Their range
stops at the old fixed 64: reading 256 tokens of app descriptions (80 typically, a
few hundred at most) lost 6 points of validation accuracy with Kim's windows
(`bench/results/text_vs_linear_validation_four_sets.md`), so longer texts are still
cut where they were, and short ones train up to twice as fast at the same accuracy.
The multi-label `"tags"` preset reads up to 128: its bag of n-grams gains from the
longer text (AppStream categories: validation mAP 0.651 at 128 tokens, 0.636 at
64, 0.647 at 256; `bench/results/text_vs_linear_wide_ngrams.md`).

The count is the tokenizer's own (same cut, case folding and split as at training
time) over at most `SURVEY_LIMIT` texts drawn with the classifier's seed. A preset
without a range, and a model built before it saw any text, reads the preset's
`FALLBACK_MAX_TOKENS`. The decision and its reason are recorded with the model
(`TextClassifier.input_used`, `metrics.json`'s `input`), and the number itself in
its config, so a saved model reads what it was trained on.
"""

import math

import numpy as np

AUTO = "auto"
COVERAGE = 0.95
STEP = 16
SURVEY_LIMIT = 5000
# What a Kim preset read before `"auto"`, and what it reads with no text to decide from.
FALLBACK_MAX_TOKENS = 64


def choose_max_tokens(counts, low, high):
    """`(max_tokens, reason)` for texts of `counts` tokens: the `COVERAGE` quantile rounded up
    to a multiple of `STEP`, within `[low, high]`.

    Example:
    >>> choose_max_tokens([8, 9, 7, 12, 30], low=16, high=256)
    (32, '95% of 5 sampled training texts have at most 30 tokens')
    >>> choose_max_tokens([400] * 10, low=16, high=256)[0]
    256
    """
    counts = np.asarray(counts)
    if counts.size == 0:
        return FALLBACK_MAX_TOKENS, "no training text: the fallback"
    quantile = int(math.ceil(np.quantile(counts, COVERAGE, method="higher")))
    rounded = max(STEP, STEP * math.ceil(quantile / STEP))
    chosen = min(max(rounded, low), high)
    reason = f"{COVERAGE:.0%} of {counts.size} sampled training texts have at most {quantile} tokens"
    if chosen != rounded:
        bound = "the preset's most" if chosen == high else "the preset's least"
        reason += f"; {bound}, {chosen}"
    return chosen, reason


def survey(texts, seed, limit=SURVEY_LIMIT):
    """At most `limit` of `texts`, drawn with `seed` (in their order)."""
    texts = list(texts)
    if len(texts) <= limit:
        return texts
    picked = np.sort(np.random.default_rng(seed).choice(len(texts), limit, replace=False))
    return [texts[i] for i in picked]
