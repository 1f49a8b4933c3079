"""Vocabulary learning for `TextTokenizer.adapt`: token counts, the most frequent tokens, WordPiece.

The counting runs in `tf.data` over texts the tokenizer has already cleaned and
split (the tokenizer passes its own split, so that the vocabulary holds exactly
the tokens it will look up); the choice of tokens is plain Python.
"""

import collections

import tensorflow as tf
from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as wordpiece_learner

from mmcnn.text.text_constants import NUM_RESERVED, RESERVED_TOKENS, WORDPIECE_SUFFIX

_WORDPIECE_ITERATIONS = 4
_WORDPIECE_MAX_TOKEN_LENGTH = 50
_WORDPIECE_MAX_UNIQUE_CHARS = 1000
_WORDPIECE_MAX_INPUT_WORDS = 5_000_000
_WORDPIECE_SLACK = 0.05  # a vocabulary within 5% below the cap is good enough


def count_tokens(dataset, tokenize):
    """Counts tokens over a dataset of `(batch,)` string tensors.

    Args:
        dataset: `tf.data.Dataset` of `(batch,)` `tf.string` texts.
        tokenize: in-graph function `(batch,)` texts -> ragged `(batch, None)`
            token strings.

    Returns:
        `collections.Counter` token `str` -> count.
    """
    return _accumulate(dataset.map(lambda texts: _count_unique(tokenize(texts))))


def most_frequent_tokens(token_counts, min_frequency, max_tokens):
    """The tokens seen at least `min_frequency` times, at most `max_tokens` of them.

    Ordered by decreasing count, ties by code-point order of the token.
    """
    kept = [(t, c) for t, c in token_counts.items() if c >= min_frequency]
    kept.sort(key=lambda tc: (-tc[1], tc[0]))
    return [t for t, _ in kept[:max_tokens]]


def learn_wordpiece_vocabulary(word_counts, vocabulary_size, min_frequency):
    """Learns a WordPiece vocabulary (without reserved tokens) from word counts.

    Uses tensorflow-text's learner (`wordpiece_tokenizer_learner_lib`, the
    engine of `bert_vocab_from_dataset`; it needs no apache-beam). Its own
    `learn` binary-searches the piece-count threshold but can settle one
    below its lower bound (so below `min_frequency`) and can return more
    tokens than asked, so the search here is ours, over the library's
    `learn_with_thresh`: thresholds `>= min_frequency` only, the first
    vocabulary within 5% below `vocabulary_size` wins (else the largest that
    fits), then a cut to the cap as a backstop. Order is the learner's: the
    alphabet first, then pieces by decreasing count (ties alphabetical).

    Pure Python: about a minute for 4 MB of text with 30k distinct words.

    Args:
        word_counts: mapping word -> count (words already normalised).
        vocabulary_size: the cap, reserved ids included.
        min_frequency: least count of a multi-character piece.

    Returns:
        A list of tokens for ids 2, 3, ...
    """
    params = wordpiece_learner.Params(
        upper_thresh=None,
        lower_thresh=min_frequency,
        num_iterations=_WORDPIECE_ITERATIONS,
        max_input_tokens=_WORDPIECE_MAX_INPUT_WORDS,
        max_token_length=_WORDPIECE_MAX_TOKEN_LENGTH,
        max_unique_chars=_WORDPIECE_MAX_UNIQUE_CHARS,
        vocab_size=vocabulary_size,
        slack_ratio=_WORDPIECE_SLACK,
        include_joiner_token=True,
        joiner=WORDPIECE_SUFFIX,
        reserved_tokens=list(RESERVED_TOKENS),
    )
    counts = wordpiece_learner.get_input_words(
        sorted(word_counts.items()), params.reserved_tokens, params.max_token_length
    )
    if not counts:
        return []
    allowed = wordpiece_learner.get_allowed_chars(counts, params.max_unique_chars)
    counts = wordpiece_learner.filter_input_words(counts, allowed, params.max_input_tokens)

    # Larger thresholds give smaller vocabularies: binary search for a small
    # threshold whose vocabulary fits, stopping early (like the library) once
    # the vocabulary is within `_WORDPIECE_SLACK` of the cap.
    low, high = min_frequency, max(min_frequency, max(c for _, c in counts))
    best = None
    while low <= high:
        middle = (low + high) // 2
        vocab = wordpiece_learner.learn_with_thresh(counts, middle, params)
        if len(vocab) <= vocabulary_size:
            best, high = vocab, middle - 1
            if vocabulary_size - len(vocab) <= _WORDPIECE_SLACK * vocabulary_size:
                break
        else:
            low = middle + 1
    if best is None:
        # Even the largest threshold gives too many tokens (a huge alphabet):
        # keep its vocabulary, cut below to the cap (alphabet first).
        best = vocab
    return [t for t in best if t not in RESERVED_TOKENS][: vocabulary_size - NUM_RESERVED]


def _count_unique(ragged_tokens):
    unique, _, counts = tf.unique_with_counts(ragged_tokens.flat_values, out_idx=tf.int64)
    return unique, counts


def _accumulate(dataset):
    """Sums per-batch `(unique tokens, counts)` into a `{str: int}` Counter."""
    totals = collections.Counter()
    for unique, counts in dataset.prefetch(2):
        for token, count in zip(unique.numpy().tolist(), counts.numpy().tolist()):
            totals[token] += count
    # Tokens are valid UTF-8: invalid bytes were replaced before splitting.
    return collections.Counter({t.decode("utf-8"): c for t, c in totals.items()})
