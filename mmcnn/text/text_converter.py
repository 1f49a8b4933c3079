"""Text converter: raw UTF-8 strings -> fixed-length int32 token ids, in graph.

`TextTokenizer` is the text modality's converter. Everything it does at call
time is a TensorFlow op, so it runs inside `tf.data`, inside `model.predict`,
and inside an exported SavedModel that takes raw strings.

Ops used at call time, and which need `import tensorflow_text` to be
registered before a SavedModel holding them is loaded (this module imports it):

| step | op | from |
|---|---|---|
| byte budget cut | `Substr` | core TF |
| invalid UTF-8 -> U+FFFD | `UnicodeTranscode` | core TF |
| case folding (`lowercase=True`) | `CaseFoldUTF8` | tensorflow-text |
| normalisation (`normalization=...`) | `NormalizeUTF8` | tensorflow-text |
| mode "word" | `StaticRegexReplace` + `WhitespaceTokenizeWithOffsetsV2` | core + tensorflow-text |
| mode "unicode_script" | `StaticRegexReplace` + `WhitespaceTokenizeWithOffsetsV2` + `UnicodeScriptTokenizeWithOffsets` | core + tensorflow-text |
| mode "wordpiece" | `StringRegexReplace` + `RegexSplitWithOffsets` + `FastWordpieceTokenizeWithOffsets` | core + tensorflow-text |
| mode "char" | `UnicodeDecodeWithOffsets` + `UnicodeEncode` (`tf.strings.unicode_split`) | core TF |
| mode "byte" | `ByteSplitWithOffsets` | tensorflow-text |
| token -> id ("word", "unicode_script", "char") | `StaticHashTable` | core TF |

The vocabulary is kept in the layer config (the `vocabulary` argument), not in
an asset file: a `.keras` archive and an exported SavedModel need no file
beside them. In the SavedModel the vocabulary becomes constants of the graph
(the hash table's initializer, or the FastWordpiece model buffer). `adapt`
learns it with `text_vocabulary`; the ids, modes and other constants shared
with the pure-Python tokenizer (`text_ids`) are in `text_constants`.
"""

import collections
import logging

import keras
import numpy as np
import tensorflow as tf

# Importing tensorflow_text registers its ops (NormalizeUTF8, CaseFoldUTF8, the
# tokenizers) with TensorFlow; without it graphs using them cannot run or load.
import tensorflow_text as tf_text
from tensorflow_text.python.ops import unicode_script_tokenizer as _unicode_script_ops
from tensorflow_text.python.ops.bert_tokenizer import BasicTokenizer

from mmcnn._keras_compat import accept_raw_inputs
from mmcnn.text.text_constants import (
    BYTES_PER_TOKEN,
    MODES,
    MULTIBYTE_WHITE_SPACE,
    NORMALIZATION_FORMS,
    NUM_RESERVED,
    OOV_ID,
    OOV_TOKEN,
    PAD_ID,
    PAD_TOKEN,
    RESERVED_TOKENS,
    WORDPIECE_MAX_BYTES_PER_WORD,
    WORDPIECE_SUFFIX,
)
from mmcnn.text.text_ids import utf8_texts
from mmcnn.text.text_vocabulary import count_tokens, learn_wordpiece_vocabulary, most_frequent_tokens

# The constants and `learn_wordpiece_vocabulary` live in `text_constants` and
# `text_vocabulary`; they stay importable from here.
__all__ = [
    "BYTES_PER_TOKEN",
    "MODES",
    "NORMALIZATION_FORMS",
    "NUM_RESERVED",
    "OOV_ID",
    "OOV_TOKEN",
    "PAD_ID",
    "PAD_TOKEN",
    "RESERVED_TOKENS",
    "TextTokenizer",
    "WORDPIECE_MAX_BYTES_PER_WORD",
    "WORDPIECE_SUFFIX",
    "learn_wordpiece_vocabulary",
]

logger = logging.getLogger(__name__)

# Byte mode names bytes like this so that `tokens_to_text` stays readable.
_BYTE_TOKENS = tuple(chr(b) if 0x21 <= b <= 0x7E else f"<0x{b:02X}>" for b in range(256))


@keras.saving.register_keras_serializable(package="mmcnn")
class TextTokenizer(keras.layers.Layer):
    """Turns raw UTF-8 texts into padded int32 token ids, entirely in graph.

    Each text goes through, in order:

    1. a byte-budget cut to `max_tokens * 64` bytes (`BYTES_PER_TOKEN`), so that
       a 10 MB line costs no more than a long normal text. The cut can split the
       last word or character of an over-long text; only the tail of a text
       that is truncated anyway is affected.
    2. invalid UTF-8 byte sequences are replaced by U+FFFD (`tf.strings.
       unicode_transcode(errors="replace")`), so that the normalisation ops
       always see valid UTF-8. U+FFFD is then an ordinary token.
    3. case folding (`lowercase=True`, `tensorflow_text.case_fold_utf8`; this
       also applies NFKC), then Unicode normalisation (`normalization`).
    4. splitting into tokens according to `mode`, lookup of each token's id,
       truncation to `max_tokens` and right-padding with 0.

    Ids: 0 is padding, 1 is out-of-vocabulary, real tokens start at 2 in
    vocabulary order. An empty text gives an all-padding row.

    Modes:
    - `"word"`: split on Unicode whitespace (`WhitespaceTokenizer`);
      punctuation stays attached to words.
    - `"unicode_script"`: split on whitespace, then where the Unicode script
      changes inside a word (the `UnicodeScriptTokenizer` op), so punctuation and
      digits are split from letters ("abc,123" -> "abc", ",123": punctuation
      and digits share the Common script).
    - `"wordpiece"`: BERT's basic split (whitespace, punctuation, CJK
      characters), then WordPiece (`FastWordpieceTokenizer`) with a vocabulary
      learned by tensorflow-text's WordPiece learner; suffix pieces start with
      `"##"`. A word made of unknown characters, or longer than 100 bytes,
      becomes one [UNK].
    - `"char"`: one token per Unicode character (spaces included).
    - `"byte"`: one token per UTF-8 byte; ids are `byte + 2`, so no
      vocabulary is needed and `adapt` does nothing.

    The vocabulary lives in the layer config (`vocabulary`), so `.keras` files
    and exported SavedModels carry it with no external file.

    Args:
        mode: one of `"word"`, `"unicode_script"`, `"wordpiece"`, `"char"`,
            `"byte"`.
        max_tokens: length of every output row; longer texts are truncated.
        vocabulary: list of tokens for ids 2, 3, ... (without the reserved
            `"[PAD]"` and `"[UNK]"`), or `None` to learn it with `adapt`. Must
            be `None` in byte mode.
        vocabulary_size: the most ids `adapt` may produce, the 2 reserved ids
            included (so at most `vocabulary_size - 2` tokens).
        min_frequency: `adapt` keeps only tokens seen at least this many
            times. In wordpiece mode it is the least count of a multi-character
            piece; single characters are always kept (up to 1000 of them) so
            that any word of known characters can be spelled.
        lowercase: apply Unicode case folding (`case_fold_utf8`, NFKC-based).
        normalization: `"NFKC"` (default), `"NFC"`, `"NFD"`, `"NFKD"` or `None`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, ...).

    Input shape:
        `tf.string` tensor `(batch,)` of raw UTF-8 texts (`(batch, 1)` is
        accepted and squeezed).

    Output shape:
        int32 tensor `(batch, max_tokens)`.

    Example:

    >>> tokenizer = TextTokenizer(mode="word", max_tokens=6, min_frequency=1)
    >>> tokenizer.adapt(["the cat sat", "the dog"])
    >>> tokenizer.get_vocabulary()
    ['[PAD]', '[UNK]', 'the', 'cat', 'dog', 'sat']
    >>> tokenizer(tf.constant(["The CAT sat on the mat"])).numpy().tolist()
    [[2, 3, 5, 1, 2, 1]]
    """

    def __init__(
        self,
        mode="word",
        max_tokens=256,
        vocabulary=None,
        vocabulary_size=20000,
        min_frequency=2,
        lowercase=True,
        normalization="NFKC",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        if not _is_int(max_tokens) or max_tokens < 1:
            raise ValueError(f"`max_tokens` must be a positive integer. Received: max_tokens={max_tokens!r}")
        if not _is_int(vocabulary_size) or vocabulary_size < NUM_RESERVED + 1:
            raise ValueError(
                f"`vocabulary_size` must be an integer >= {NUM_RESERVED + 1} (it counts the "
                f"{NUM_RESERVED} reserved ids). Received: vocabulary_size={vocabulary_size!r}"
            )
        if not _is_int(min_frequency) or min_frequency < 1:
            raise ValueError(
                f"`min_frequency` must be a positive integer. Received: min_frequency={min_frequency!r}"
            )
        if not isinstance(lowercase, bool):
            raise ValueError(f"`lowercase` must be True or False. Received: lowercase={lowercase!r}")
        if normalization is not None and normalization not in NORMALIZATION_FORMS:
            raise ValueError(
                f"`normalization` must be one of {NORMALIZATION_FORMS} or None. "
                f"Received: normalization={normalization!r}"
            )
        if mode == "byte" and vocabulary is not None:
            raise ValueError(
                "`vocabulary` must be None in byte mode (ids are byte values + 2). "
                f"Received: vocabulary with {len(vocabulary)} tokens"
            )
        self.mode = mode
        self.max_tokens = int(max_tokens)
        # The `vocabulary_size` name is the public property (ids the layer can
        # emit); the argument is the cap that `adapt` honours.
        self._max_vocabulary_size = int(vocabulary_size)
        self.min_frequency = int(min_frequency)
        self.lowercase = lowercase
        self.normalization = normalization
        accept_raw_inputs(self)
        self.supports_jit = False
        self._vocabulary = None
        self._table = None
        self._wordpiece = None
        if mode != "byte":
            self._basic_tokenizer = BasicTokenizer(lower_case=False, normalization_form=None)
        if vocabulary is not None:
            self._set_vocabulary(vocabulary)

    # ----------------------------------------------------------------- vocab

    @property
    def vocabulary(self):
        """The tokens of ids 2, 3, ... as a list (`None` before `adapt`)."""
        return None if self._vocabulary is None else list(self._vocabulary)

    @property
    def vocabulary_size(self):
        """Number of ids the layer can emit: the `input_dim` of an `Embedding`.

        258 in byte mode; otherwise 2 + the number of tokens, or, before
        `adapt`, the `vocabulary_size` cap given to `__init__` (an upper bound
        that stays valid once the vocabulary is learned).
        """
        if self.mode == "byte":
            return NUM_RESERVED + 256
        if self._vocabulary is None:
            return self._max_vocabulary_size
        return NUM_RESERVED + len(self._vocabulary)

    def get_vocabulary(self):
        """The token of every id as a list: `["[PAD]", "[UNK]", token_2, ...]`."""
        if self.mode == "byte":
            return list(RESERVED_TOKENS) + list(_BYTE_TOKENS)
        return list(RESERVED_TOKENS) + list(self._vocabulary or ())

    def _set_vocabulary(self, vocabulary):
        if isinstance(vocabulary, (str, bytes)) or not hasattr(vocabulary, "__iter__"):
            raise ValueError(f"`vocabulary` must be a list of strings. Received: vocabulary={vocabulary!r}")
        tokens = tuple(vocabulary)
        for token in tokens:
            if not isinstance(token, str) or not token:
                raise ValueError(f"`vocabulary` must hold non-empty strings. Received: token {token!r}")
            if token in RESERVED_TOKENS:
                raise ValueError(
                    f"`vocabulary` must not hold the reserved tokens {RESERVED_TOKENS} (ids 0 and 1 "
                    f"are implicit). Received: token {token!r}"
                )
        if len(set(tokens)) != len(tokens):
            duplicates = sorted(t for t, c in collections.Counter(tokens).items() if c > 1)
            raise ValueError(f"`vocabulary` must not repeat tokens. Received duplicates: {duplicates[:10]}")
        if len(tokens) + NUM_RESERVED > self._max_vocabulary_size:
            raise ValueError(
                f"`vocabulary` holds {len(tokens)} tokens, more than vocabulary_size - {NUM_RESERVED} = "
                f"{self._max_vocabulary_size - NUM_RESERVED}. Received: vocabulary_size="
                f"{self._max_vocabulary_size}"
            )
        self._vocabulary = tokens
        # init_scope: the table / tokenizer model must be created eagerly even
        # when adapt is called while a function is being traced.
        with tf.init_scope():
            if self.mode == "wordpiece":
                self._wordpiece = tf_text.FastWordpieceTokenizer(
                    vocab=list(RESERVED_TOKENS) + list(tokens),
                    suffix_indicator=WORDPIECE_SUFFIX,
                    max_bytes_per_word=WORDPIECE_MAX_BYTES_PER_WORD,
                    token_out_type=tf.int64,
                    unknown_token=OOV_TOKEN,
                    no_pretokenization=True,
                    support_detokenization=False,
                )
            else:
                keys = tf.constant(list(tokens), dtype=tf.string)
                values = tf.range(NUM_RESERVED, NUM_RESERVED + len(tokens), dtype=tf.int64)
                self._table = tf.lookup.StaticHashTable(
                    tf.lookup.KeyValueTensorInitializer(keys, values), default_value=OOV_ID
                )

    def adapt(self, texts, batch_size=1024):
        """Learns the vocabulary from training texts (replacing any previous one).

        Tokens are counted after the same cut, normalisation and split as at
        call time (and, except in wordpiece mode, only the first `max_tokens`
        tokens of each text count). Tokens seen fewer than `min_frequency`
        times are dropped; the rest are ordered by decreasing count, ties by
        code-point order of the token, and the first `vocabulary_size - 2` are
        kept. Wordpiece mode runs tensorflow-text's WordPiece learner instead
        (see `learn_wordpiece_vocabulary`). Byte mode has a fixed vocabulary:
        `adapt` does nothing.

        Models traced before `adapt` keep the old vocabulary: adapt first, then
        build and compile the model.

        Args:
            texts: a list, tuple or NumPy array of strings, a `tf.string`
                tensor, or a `tf.data.Dataset` of strings (single or batched).
            batch_size: texts tokenized per step (lists and arrays only).
        """
        if self.mode == "byte":
            return
        dataset = _as_text_dataset(texts, batch_size)
        if self.mode == "wordpiece":
            word_counts = count_tokens(dataset, lambda t: self._words(self._clean(t)))
            if not word_counts:
                raise ValueError("`adapt` found no words in `texts` (empty input or only whitespace).")
            vocab = learn_wordpiece_vocabulary(word_counts, self._max_vocabulary_size, self.min_frequency)
        else:
            token_counts = count_tokens(dataset, lambda t: self._tokens(self._clean(t))[:, : self.max_tokens])
            if not token_counts:
                raise ValueError("`adapt` found no tokens in `texts` (empty input or only whitespace).")
            vocab = most_frequent_tokens(
                token_counts, self.min_frequency, self._max_vocabulary_size - NUM_RESERVED
            )
        if not vocab:
            logger.warning(
                "TextTokenizer.adapt: no %s token is seen at least min_frequency=%d times; every token "
                "will map to the out-of-vocabulary id 1.",
                self.mode,
                self.min_frequency,
            )
        self._set_vocabulary(vocab)

    def token_counts(self, texts, batch_size=1024):
        """How many tokens each of `texts` has, before truncation to `max_tokens` (but after the
        byte-budget cut, so at most about `max_tokens * 64`): an int array, one count a text.

        Wordpiece mode counts BERT's words (its pieces are at least as many and need a
        vocabulary); byte mode counts UTF-8 bytes. Takes what `adapt` takes.

        Example:
        >>> TextTokenizer(mode="unicode_script").token_counts(["Hello, world!", ""]).tolist()
        [4, 0]
        """
        counts = []
        for batch in _as_text_dataset(texts, batch_size):
            clean = self._clean(batch)
            if self.mode == "byte":
                counts.append(tf.strings.length(clean, unit="BYTE").numpy())
            else:
                tokens = self._words(clean) if self.mode == "wordpiece" else self._tokens(clean)
                counts.append(tokens.row_lengths().numpy())
        return np.concatenate(counts).astype("int64") if counts else np.zeros(0, dtype="int64")

    # ------------------------------------------------------------------ call

    def _clean(self, texts):
        """Cut, repair, case-fold and normalise a `(batch,)` string tensor."""
        texts = tf.strings.substr(texts, 0, self.max_tokens * BYTES_PER_TOKEN, unit="BYTE")
        # normalize_utf8 / case_fold_utf8 assume valid UTF-8.
        texts = tf.strings.unicode_transcode(
            texts,
            input_encoding="UTF-8",
            output_encoding="UTF-8",
            errors="replace",
            replacement_char=0xFFFD,
            replace_control_characters=False,
        )
        # Case folding first: it applies NFKC itself, so the requested form comes last.
        if self.lowercase:
            texts = tf_text.case_fold_utf8(texts)
        if self.normalization is not None:
            texts = tf_text.normalize_utf8(texts, self.normalization)
        return texts

    def _words(self, texts):
        # BERT's basic split, the one the WordPiece learner was designed for.
        return self._basic_tokenizer.tokenize(texts)

    def _tokens(self, texts):
        """`(batch,)` clean texts -> ragged `(batch, None)` token strings."""
        if self.mode == "word":
            return _split_on_whitespace(texts)
        if self.mode == "unicode_script":
            # Whitespace first: on its own the op joins Common-script runs across
            # spaces ("1 2" -> "12", ", ," -> ",,").
            words = _split_on_whitespace(texts)
            pieces = _unicode_script_split(words.flat_values)
            return tf.RaggedTensor.from_row_splits(pieces, words.row_splits, validate=False).merge_dims(1, 2)
        if self.mode == "char":
            return tf.strings.unicode_split(texts, "UTF-8")
        raise ValueError(f"no string tokens in mode {self.mode!r}")

    def call(self, inputs):
        texts = tf.convert_to_tensor(inputs, dtype=tf.string)
        texts = _as_batch_of_texts(texts)
        if self.mode != "byte" and self._vocabulary is None:
            raise ValueError(
                f"TextTokenizer(mode={self.mode!r}) has no vocabulary: call `adapt(texts)` or pass "
                "`vocabulary=` before calling it."
            )
        texts = self._clean(texts)
        if self.mode == "byte":
            ids = tf.cast(tf_text.ByteSplitter().split(texts), tf.int32) + NUM_RESERVED
        elif self.mode == "wordpiece":
            pieces = self._wordpiece.tokenize(self._words(texts))  # (batch, words, pieces)
            ids = pieces.merge_dims(1, 2)
        else:
            tokens = self._tokens(texts)
            ids = tokens.with_flat_values(self._table.lookup(tokens.flat_values))
        ids = tf.cast(ids, tf.int32)
        # to_tensor with a fixed shape both truncates and pads.
        return ids.to_tensor(default_value=PAD_ID, shape=[None, self.max_tokens])

    def build(self, input_shape=None):
        pass

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.max_tokens)

    def compute_output_spec(self, inputs):
        shape = tuple(inputs.shape)
        if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)):
            raise ValueError(
                f"TextTokenizer expects a (batch,) string tensor of texts. Received shape={shape}"
            )
        return keras.KerasTensor((shape[0], self.max_tokens), dtype="int32")

    # -------------------------------------------------------------- explain

    def tokens_to_text(self, ids):
        """Maps token ids back to token strings, e.g. to label an explanation.

        Padding (id 0) is dropped; since it only trails, the remaining tokens
        keep their positions. Id 1 reads `"[UNK]"`, bytes read as the ASCII
        character or `"<0xNN>"`, wordpiece suffixes keep their `"##"`.

        Args:
            ids: int array-like `(max_tokens,)` or `(batch, max_tokens)`.

        Returns:
            A list of token strings for a 1-D input, a list of such lists for
            a 2-D input.
        """
        array = np.asarray(ids.numpy() if tf.is_tensor(ids) else ids)
        if array.ndim not in (1, 2) or (array.size and array.dtype.kind not in "iu"):
            raise ValueError(
                f"`ids` must be a 1-D or 2-D array of integer ids. Received: shape={array.shape}, "
                f"dtype={array.dtype}"
            )
        vocab = self.get_vocabulary()
        if array.size and (array.min() < 0 or array.max() >= len(vocab)):
            raise ValueError(
                f"`ids` must lie in [0, {len(vocab)}). Received: ids from {array.min()} to {array.max()}"
            )
        rows = [[vocab[i] for i in row if i != PAD_ID] for row in np.atleast_2d(array).tolist()]
        return rows[0] if array.ndim == 1 else rows

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "mode": self.mode,
                "max_tokens": self.max_tokens,
                "vocabulary": self.vocabulary,
                "vocabulary_size": self._max_vocabulary_size,
                "min_frequency": self.min_frequency,
                "lowercase": self.lowercase,
                "normalization": self.normalization,
            }
        )
        return config


def _unicode_script_split(words):
    """`(n,)` strings -> ragged `(n, None)` runs of one Unicode script.

    Calls the op behind `tensorflow_text.UnicodeScriptTokenizer` directly: the
    wrapper also computes byte offsets, whose ragged gathers and shape asserts
    make its graph ~7x larger (about 2 s per trace, 11 s per `model.export`
    measured on this machine) for values we do not use.
    """
    codepoints = tf.strings.unicode_decode(words, "UTF-8")
    values, inner_splits, _, _, outer_splits = (
        _unicode_script_ops.gen_unicode_script_tokenizer.unicode_script_tokenize_with_offsets(
            input_values=codepoints.flat_values, input_splits=codepoints.row_splits, keep_whitespace=False
        )
    )
    runs = tf.RaggedTensor.from_nested_row_splits(values, [outer_splits, inner_splits], validate=False)
    return tf.strings.unicode_encode(runs, "UTF-8")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _as_batch_of_texts(texts):
    rank = texts.shape.rank
    if rank == 2 and texts.shape[1] == 1:
        return tf.squeeze(texts, axis=1)
    if rank != 1:
        raise ValueError(
            f"TextTokenizer expects a (batch,) string tensor of texts. Received shape={texts.shape}"
        )
    return texts


def _as_text_dataset(texts, batch_size):
    if not _is_int(batch_size) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive integer. Received: batch_size={batch_size!r}")
    if isinstance(texts, tf.data.Dataset):
        spec = texts.element_spec
        if not isinstance(spec, tf.TensorSpec) or spec.dtype != tf.string:
            raise ValueError(
                "`texts` must be a tf.data.Dataset of strings; map (text, label) pairs to the text "
                f"first. Received: element_spec={spec}"
            )
        if spec.shape.rank == 0:
            return texts.batch(batch_size)
        if spec.shape.rank in (1, 2):
            return texts.map(_as_batch_of_texts)
        raise ValueError(f"`texts` elements must be scalars or (batch,) strings. Received: {spec}")
    if isinstance(texts, (str, bytes)):
        raise ValueError(f"`texts` must be a list of texts, not one string. Received: {texts[:50]!r}")
    if tf.is_tensor(texts):
        texts = texts.numpy()
    array = np.asarray(texts, dtype=object)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"`texts` must be a 1-D collection of strings. Received: shape={array.shape}")
    # The classifier's repair of each text (lone surrogates, which tf.constant refuses).
    tensor = tf.constant(utf8_texts(array.tolist()), dtype=tf.string, shape=[len(array)])
    return tf.data.Dataset.from_tensor_slices(tensor).batch(batch_size)


# The multi-byte characters of Unicode's White_Space property. tensorflow-text's
# WhitespaceTokenizer splits on them but ends the word before with all but the
# last byte of the space ("a\u00a0b" -> [b"a\xc2", b"b"]): they become ASCII
# spaces first. Python's `text_ids` splits on the same set (`WHITE_SPACE`).
_MULTIBYTE_WHITE_SPACE = f"[{MULTIBYTE_WHITE_SPACE}]"


def _split_on_whitespace(texts):
    """`(batch,)` clean texts -> ragged `(batch, None)` words, split on Unicode whitespace."""
    texts = tf.strings.regex_replace(texts, _MULTIBYTE_WHITE_SPACE, " ")
    return tf_text.WhitespaceTokenizer().tokenize(texts)
