"""Wide and deep over token ids: a bag of hashed word n-grams beside the convolution windows.

A text CNN reads windows and keeps each filter's strongest answer (max over
positions): it is good at "this phrase occurs", poor at adding up many weak
hints, which is what a linear model over n-gram counts (TF-IDF + logistic
regression) does well on longer texts. `WideTokenWindowAdapter` computes both
from the same token ids and lets the head's one dense layer join them, so the
logits are the sum of a convolutional part and a linear part over the n-grams
(Cheng et al. 2016, "Wide & Deep Learning"; the n-gram bag as in fastText,
Joulin et al. 2016), trained together.

The wide path: every token id and every run of 2..`wide_ngrams` consecutive ids
(word n-grams, hashed in integer arithmetic into `wide_buckets` rows) has a
learned vector of `wide_dim` values; a text's vector is their sum divided by the
square root of their number (the scale of an L2-normalised bag of n-grams),
times `wide_scale`. The table starts `wide_scale` times smaller, so the bag
starts at the same size but Adam's steps (about the learning rate, whatever the
gradient's size) move it `wide_scale` times faster: a rare n-gram, seen in a few
batches, can still earn the weight a linear model would give it. Only
integer ops on the ids the tokenizer already makes, so what runs outside
TensorFlow (`PythonTokenizer`, the LiteRT / ONNX / web files that take ids) is
unchanged.

Its output keeps the adapter's contract (`text_adapter`): `(batch, tokens,
channels)`, every value >= 0 and 0 at padding, so the head's global max pool
still ignores padding exactly. The text's vector `b` is written as
`[relu(b), relu(-b)]` (both >= 0; the dense layer after the pool gets `b` back
as their difference) at every real token position: the max over positions
is then exactly that pair, the empty text's is 0.

With `char_dim`, the bag also holds the tokens' character n-grams
(`text_subwords.TokenCharGramBag`, its own vector of `char_dim` values beside
the word n-grams'); with `wide_dim=0` it holds only those.
"""

import keras
from keras import ops

from mmcnn.layers import validation as v
from mmcnn.text.text_adapter import CHANNEL_AXIS, TokenWindowAdapter
from mmcnn.text.text_subwords import TokenCharGramBag

# Consecutive ids are paired as `(a mod P) * P + (b mod P)` before the bucket's modulo:
# P * P < 2**31, so the pair never overflows int32 (exact for vocabularies up to P ids).
PAIR_BASE = 46337


@keras.saving.register_keras_serializable(package="mmcnn")
class WideTokenWindowAdapter(TokenWindowAdapter):
    """`TokenWindowAdapter` (the deep path) plus a bag of token and hashed bigram vectors (the wide path).

    Args:
        vocabulary_size, embedding_dim, filters, widths, blocks, dropout: the
            deep path's, see `TokenWindowAdapter`.
        wide_dim: values per word n-gram vector (the wide path's rank; 0: no word n-grams).
        wide_buckets: rows the consecutive-id pairs are hashed into.
        wide_dropout: dropout rate on the text's wide vector (training only).
        wide_ngrams: the longest run of consecutive ids in the bag (2: words and word pairs).
        wide_scale: how much faster the n-gram vectors learn than the rest (see above).
        char_dim: values per character n-gram vector (0: none; `TokenCharGramBag`).
        char_scale: how much faster the character n-gram vectors learn.
        vocabulary, char_rows: the tokenizer's vocabulary whose character n-grams
            the bag lists, or the size of a saved bag's gram table (`TokenCharGramBag`).
        **kwargs: base layer arguments.

    Input shape:
        int `(batch, tokens)` token ids, 0 = padding.

    Output shape:
        `(batch, tokens, deep channels + 2 * (wide_dim + char_dim))`, in the compute dtype.

    Example:
    >>> import numpy as np
    >>> adapter = WideTokenWindowAdapter(100, embedding_dim=8, filters=4, widths=[2, 3], wide_dim=5)
    >>> adapter(np.array([[5, 6, 7, 0, 0, 0]])).shape
    TensorShape([1, 6, 18])
    """

    def __init__(
        self,
        vocabulary_size,
        wide_dim=32,
        wide_buckets=2**15,
        wide_dropout=0.0,
        wide_ngrams=2,
        wide_scale=1.0,
        char_dim=0,
        char_scale=1.0,
        vocabulary=None,
        char_rows=None,
        **kwargs,
    ):
        super().__init__(vocabulary_size, **kwargs)
        if self.blocks is not None:
            raise ValueError(
                "`WideTokenWindowAdapter` takes the parallel windows only: pass `blocks=None`. "
                f"Received: blocks={self.blocks!r}"
            )
        self.wide_dim = v.check_positive_int("wide_dim", wide_dim, allow_zero=True)
        self.wide_buckets = v.check_positive_int("wide_buckets", wide_buckets)
        self.wide_dropout = v.check_fraction("wide_dropout", wide_dropout)
        self.wide_ngrams = v.check_positive_int("wide_ngrams", wide_ngrams)
        self.wide_scale = v.check_positive_number("wide_scale", wide_scale)
        self.char_dim = v.check_positive_int("char_dim", char_dim, allow_zero=True)
        self.char_scale = v.check_positive_number("char_scale", char_scale)
        if not self.wide_dim and not self.char_dim:
            raise ValueError(
                "`WideTokenWindowAdapter` needs a bag: `wide_dim` or `char_dim` must be positive "
                "(with neither, use `TokenWindowAdapter`). Received: wide_dim=0, char_dim=0"
            )
        policy = self.dtype_policy
        self.chars = (
            TokenCharGramBag(
                vocabulary_size,
                self.char_dim,
                scale=self.char_scale,
                vocabulary=vocabulary,
                gram_rows=char_rows,
                name="chars",
                dtype=policy,
            )
            if self.char_dim
            else None
        )
        start = 0.05 / self.wide_scale  # Keras's "uniform" start, `wide_scale` times smaller
        self.ngrams = (
            keras.layers.Embedding(
                vocabulary_size + self.wide_buckets,
                self.wide_dim,
                embeddings_initializer=keras.initializers.RandomUniform(-start, start),
                name="ngrams",
                dtype=policy,
            )
            if self.wide_dim
            else None
        )
        self.wide_drop = (
            keras.layers.Dropout(self.wide_dropout, name="wide_dropout", dtype=policy)
            if self.wide_dropout
            else None
        )
        self._tokens = None

    def build(self, input_shape):
        super().build(input_shape)
        if self.ngrams is not None:
            self.ngrams.build(input_shape)
        if self.chars is not None:
            self.chars.build(input_shape)
        self._tokens = input_shape[1]

    def wide_ids(self, ids):
        """`[(rows, mask), ...]`: for n = 1..`wide_ngrams`, the n-gram table's row of every run of
        n consecutive ids and whether the run is all real tokens."""
        ids = ops.cast(ids, "int32")
        real = ops.not_equal(ids, 0)
        grams = [(ids, real)]
        code, mask = ids, real
        for n in range(2, self.wide_ngrams + 1):
            # Hashed in int32: `(code mod P) * P + (id mod P)` < 2**31 (exact for n = 2).
            code = ops.mod(code[:, :-1], PAIR_BASE) * PAIR_BASE + ops.mod(ids[:, n - 1 :], PAIR_BASE)
            mask = ops.logical_and(mask[:, :-1], real[:, n - 1 :])
            grams.append((self.vocabulary_size + ops.mod(code, self.wide_buckets), mask))
        return grams

    def call(self, inputs, training=None):
        deep = super().call(inputs, training=training)
        dtype = deep.dtype
        bags = []
        if self.ngrams is not None:
            total, count = 0.0, 0.0
            for rows, mask in self.wide_ids(inputs):
                mask = ops.cast(mask, dtype)
                total = total + ops.sum(self.ngrams(rows) * ops.expand_dims(mask, -1), axis=1)
                count = count + ops.sum(mask, axis=1, keepdims=True)
            bags.append(total * self.wide_scale / ops.sqrt(ops.maximum(count, 1.0)))
        if self.chars is not None:
            bags.append(self.chars(inputs, training=training))
        wide = bags[0] if len(bags) == 1 else ops.concatenate(bags, axis=CHANNEL_AXIS)
        if self.wide_drop is not None:
            wide = self.wide_drop(wide, training=training)
        wide = ops.concatenate([ops.relu(wide), ops.relu(-wide)], axis=CHANNEL_AXIS)
        # The text's vector at every real position (0 at padding): see the module docstring.
        real = ops.cast(ops.not_equal(inputs, 0), dtype)
        wide = ops.expand_dims(wide, 1) * ops.expand_dims(real, -1)
        return ops.concatenate([deep, wide], axis=CHANNEL_AXIS)

    def compute_output_shape(self, input_shape):
        batch, tokens, channels = super().compute_output_shape(input_shape)
        return (batch, tokens, channels + self.bag_channels())

    def inspect_branches(self):
        """The deep path's windows (the wide path is a bag, not a window)."""
        return super().inspect_branches()

    def bag_channels(self):
        """How many of the last output channels hold the bags (the same value at every token)."""
        return 2 * (self.wide_dim + self.char_dim)

    def token_windows(self):
        """`TokenWindowAdapter.token_windows`, and for each wide channel the whole text: its
        value is the same at every position (`(offset, width, 1)` reaching every token)."""
        reach = self._tokens or 1 << 20
        return [*super().token_windows(), *[(-reach, 2 * reach + 1, 1)] * self.bag_channels()]

    def get_config(self):
        config = super().get_config()
        config.update(
            wide_dim=self.wide_dim,
            wide_buckets=self.wide_buckets,
            wide_dropout=self.wide_dropout,
            wide_ngrams=self.wide_ngrams,
            wide_scale=self.wide_scale,
            char_dim=self.char_dim,
            char_scale=self.char_scale,
            vocabulary=None,  # in the weights: see `TokenCharGramBag.get_config`
            char_rows=self.chars.gram_rows if self.chars is not None else None,
        )
        return config
