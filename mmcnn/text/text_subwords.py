"""Subword information for a model over token ids: a bag of the tokens' character n-grams.

A word model knows a token by its id alone: "pdf", "pdfs" and "pdftk" share
nothing, and a word seen twice in training barely moves its vector. A linear
model over character n-grams (TF-IDF + logistic regression on scikit-learn's
`char_wb` grams) shares what their spelling shares, and beats a word CNN on
short technical texts. `TokenCharGramBag` gives the word model the same
information (fastText's subword vectors, Bojanowski et al. 2017, "Enriching
Word Vectors with Subword Information") without a second input: each
vocabulary token's character 2- to 5-grams (the token padded with a space on
both sides, as `char_wb` pads words) are listed once, when the model is built from the
vocabulary, in an int32 table `(vocabulary_size, GRAMS_PER_TOKEN)` of gram rows;
a text's vector is the sum of the vectors of its tokens' grams divided by the
square root of their number, times `scale` (as `WideTokenWindowAdapter`'s bag).

The grams are numbered, not hashed: the gram vocabulary is every gram that at
least two vocabulary tokens share (a gram of one token only says nothing its
id does not), in order of first appearance, so the table has no collisions and
as many rows as the data needs. Padding and the out-of-vocabulary id have no
grams. Everything outside TensorFlow (`PythonTokenizer`, the LiteRT / ONNX /
web files that take token ids) is unchanged: the grams are weights of the
model, not an input.

Measured before it was built (`bench/explore_text_char_bag.py`, validation,
Kim's windows beside the bag, scale 4): Debian sections 0.782 against the word
default's 0.768, apps 0.731 against 0.705, fortunes level. The text defaults
(`"subwords"`, `"subword_tags"`) hold it at scale 8 (`bench/results/text_subwords.md`).
"""

import keras
from keras import ops

from mmcnn.layers import validation as v
from mmcnn.text.text_constants import NUM_RESERVED

GRAM_LENGTHS = (2, 5)
# Grams listed per token (in order of length, then position): a 12-character token has 46.
GRAMS_PER_TOKEN = 48
# Tokens that must share a gram for it to get a row.
MIN_TOKENS_PER_GRAM = 2


def token_char_grams(token):
    """The character 2- to 5-grams of `token` padded with a space on both sides.

    Example:
    >>> token_char_grams("pdf")[:6]
    [' p', 'pd', 'df', 'f ', ' pd', 'pdf']
    """
    padded = f" {token} "
    low, high = GRAM_LENGTHS
    return [padded[i : i + n] for n in range(low, high + 1) for i in range(len(padded) - n + 1)]


def gram_vocabulary(vocabulary):
    """The grams `MIN_TOKENS_PER_GRAM` or more tokens of `vocabulary` share, in order of first appearance.

    `vocabulary` is the tokenizer's `get_vocabulary()`, reserved tokens first (they have no grams).

    Example:
    >>> gram_vocabulary(["[PAD]", "[UNK]", "pdf", "pdfs", "tar"])
    [' p', 'pd', 'df', ' pd', 'pdf', ' pdf']
    """
    tokens_with = {}
    for token in vocabulary[NUM_RESERVED:]:
        for gram in dict.fromkeys(token_char_grams(token)):
            tokens_with[gram] = tokens_with.get(gram, 0) + 1
    return [gram for gram, count in tokens_with.items() if count >= MIN_TOKENS_PER_GRAM]


def token_gram_rows(vocabulary, grams):
    """`(len(vocabulary), GRAMS_PER_TOKEN)` lists of row numbers (`grams`' index + 1; 0 = none).

    Example:
    >>> token_gram_rows(["[PAD]", "[UNK]", "pdf"], ["pd", "df"])[2][:3]
    [1, 2, 0]
    """
    index = {gram: i + 1 for i, gram in enumerate(grams)}
    rows = []
    for position, token in enumerate(vocabulary):
        found = [] if position < NUM_RESERVED else [index[g] for g in token_char_grams(token) if g in index]
        found = found[:GRAMS_PER_TOKEN]
        rows.append(found + [0] * (GRAMS_PER_TOKEN - len(found)))
    return rows


@keras.saving.register_keras_serializable(package="mmcnn")
class TokenCharGramBag(keras.layers.Layer):
    """Token ids -> a text's vector: the scaled mean of its tokens' character n-gram vectors.

    Args:
        vocabulary_size: number of token ids (the tokenizer's).
        dim: values per gram vector.
        scale: how much faster the gram vectors learn than the rest: the
            table starts `scale` times smaller and the bag is multiplied back
            (`WideTokenWindowAdapter`'s `wide_scale`).
        vocabulary: the tokenizer's `get_vocabulary()` (reserved tokens
            first), whose grams the table lists; not saved in the config: a
            loaded model reads its table from its weights.
        gram_rows: rows of the gram table (`len(gram_vocabulary(vocabulary)) + 1`);
            taken from `vocabulary` when it is given, saved in the config.
        **kwargs: base layer arguments.

    Input shape:
        int `(batch, tokens)` token ids, 0 = padding.

    Output shape:
        `(batch, dim)`, in the compute dtype.

    Example:
    >>> import numpy as np
    >>> bag = TokenCharGramBag(5, dim=4, vocabulary=["[PAD]", "[UNK]", "pdf", "pdfs", "tar"])
    >>> bag.gram_rows
    7
    >>> bag(np.array([[2, 3, 0], [4, 1, 0]])).shape
    TensorShape([2, 4])
    """

    def __init__(self, vocabulary_size, dim=32, scale=1.0, vocabulary=None, gram_rows=None, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = v.check_positive_int("vocabulary_size", vocabulary_size)
        self.dim = v.check_positive_int("dim", dim)
        self.scale = v.check_positive_number("scale", scale)
        self._token_rows = None
        if vocabulary is not None:
            vocabulary = list(vocabulary)
            if len(vocabulary) > self.vocabulary_size:
                raise ValueError(
                    f"`vocabulary` holds {len(vocabulary)} tokens, more than vocabulary_size="
                    f"{self.vocabulary_size}"
                )
            grams = gram_vocabulary(vocabulary)
            self._token_rows = token_gram_rows(vocabulary, grams)
            gram_rows = len(grams) + 1
        # No vocabulary and no saved size: a placeholder table (a layer made to check its arguments).
        self.gram_rows = v.check_positive_int("gram_rows", 1 if gram_rows is None else gram_rows)
        start = 0.05 / self.scale  # Keras's "uniform" start, `scale` times smaller
        self.table = keras.layers.Embedding(
            self.gram_rows,
            self.dim,
            embeddings_initializer=keras.initializers.RandomUniform(-start, start),
            name="char_grams",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.token_grams = self.add_weight(
            name="token_grams",
            shape=(self.vocabulary_size, GRAMS_PER_TOKEN),
            dtype="int32",
            initializer="zeros",
            trainable=False,
            autocast=False,
        )
        if self._token_rows is not None:
            rows = self._token_rows + [[0] * GRAMS_PER_TOKEN] * (self.vocabulary_size - len(self._token_rows))
            self.token_grams.assign(ops.convert_to_tensor(rows, dtype="int32"))
        self.table.build((None, GRAMS_PER_TOKEN))

    def call(self, inputs, training=None):
        rows = ops.take(self.token_grams, ops.cast(inputs, "int32"), axis=0)  # (batch, tokens, grams)
        rows = ops.reshape(rows, (-1, rows.shape[1] * GRAMS_PER_TOKEN))
        # Row 0 (no gram) counts for nothing; the sum is taken in float32 (a long text has thousands
        # of grams, too many for a bfloat16 sum) from the float32 table.
        table = self.table.embeddings
        if training:
            # Training: each text's count of every gram times the table, one dense product whose
            # gradient is too (a gather's gradient scatters every gram of every text: 2-3x slower).
            counts = ops.cast(ops.bincount(rows, minlength=self.gram_rows), "float32")
            counts = counts * ops.cast(ops.arange(self.gram_rows) > 0, "float32")
            total = ops.matmul(counts, ops.cast(table, "float32"))
            count = ops.sum(counts, axis=1, keepdims=True)
        else:
            # Inference: the same sum as a gather, which every converter (LiteRT, ONNX) knows.
            table = ops.concatenate([ops.zeros_like(table[:1]), table[1:]], axis=0)
            total = ops.sum(ops.take(ops.cast(table, "float32"), rows, axis=0), axis=1)
            count = ops.sum(ops.cast(ops.not_equal(rows, 0), "float32"), axis=1, keepdims=True)
        bag = total * self.scale / ops.sqrt(ops.maximum(count, 1.0))
        return ops.cast(bag, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        config = super().get_config()
        # The grams are in the weights (`token_grams`), not the config: a loaded layer is made with
        # no vocabulary and a table of the saved size, then reads them.
        config.update(
            vocabulary_size=self.vocabulary_size,
            dim=self.dim,
            scale=self.scale,
            vocabulary=None,
            gram_rows=self.gram_rows,
        )
        return config
