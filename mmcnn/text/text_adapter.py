"""The text receptive-field front door: 1-D windows of consecutive tokens.

The tokenizer lays a text out as `(batch, max_tokens)` int32 ids, 0 = padding
(padding only trails). The adapter embeds the ids and slides convolution
windows over the token axis, so each filter reads `k` consecutive tokens (an
n-gram detector). Two layouts:

- parallel windows (Kim 2014, "Convolutional Neural Networks for Sentence
  Classification"): one `Conv1D` per width in `widths`, side by side, outputs
  concatenated; a filter's window at position `p` is tokens `p .. p + k - 1`.
- stacked blocks (`blocks=[...]`): `ConvBlock`s one after another, optionally
  max-pooled, for deeper nets and character-level CNNs (Zhang et al. 2015).

Padding is masked so that it never changes a prediction: the embedding is
zeroed at padding positions (identical to the zeros a convolution sees past the
end of a text) and every feature map is multiplied by the padding mask, after
each stacked block too, so batch-norm shifts at padding positions cannot leak
into the windows of real tokens. The output features are ReLU outputs (>= 0),
so the 0 at a padding position is the least value a position can hold: in the
global max pool it acts as minus infinity (it can never raise the maximum), and
an all-padding (empty) text pools to zeros, which keeps its probabilities
finite. The output for a text is therefore exactly independent of how much
padding follows it.
"""

import keras
from keras import ops

from mmcnn.layers import validation as v
from mmcnn.layers.conv_block import ConvBlock
from mmcnn.layers.padding import Pad

# Layout of the tensors the adapter reads and writes.
TOKEN_AXIS = 1
CHANNEL_AXIS = -1

_BLOCK_KEYS = {"filters", "kernel_size", "pool_size"}


def _check_blocks(blocks):
    if blocks is None:
        return None
    if isinstance(blocks, dict) or not isinstance(blocks, (list, tuple)) or not blocks:
        raise ValueError(f"`blocks` must be None or a non-empty list of dicts. Received: blocks={blocks!r}")
    checked = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or "filters" not in block or set(block) - _BLOCK_KEYS:
            raise ValueError(
                f"`blocks[{i}]` must be a dict with 'filters' and optionally 'kernel_size' and "
                f"'pool_size'. Received: {block!r}"
            )
        block = {"kernel_size": 3, "pool_size": 1, **block}
        for key in ("filters", "kernel_size", "pool_size"):
            v.check_positive_int(f"blocks[{i}]['{key}']", block[key])
        checked.append(block)
    return checked


@keras.saving.register_keras_serializable(package="mmcnn")
class TokenWindowAdapter(keras.layers.Layer):
    """Embeds token ids and slides convolution windows of consecutive tokens over them.

    With `blocks=None` (default): an `Embedding`, then one `Conv1D` per width
    in `widths` (each `filters` feature maps, ReLU), in parallel, concatenated
    along the channels (Kim 2014). With `blocks`: an `Embedding`, then stacked
    `ConvBlock`s (convolution -> batch norm -> ReLU, "same" padding), each
    optionally followed by max pooling over `pool_size` tokens.

    Padding (id 0) is masked: see the module docstring. The output at a
    padding position is 0 and every output is >= 0, so a global max pool over
    the token axis ignores padding exactly.

    Args:
        vocabulary_size: number of token ids (the tokenizer's
            `vocabulary_size`); the embedding's `input_dim`.
        embedding_dim: size of each token's vector.
        filters: feature maps per window width (parallel layout).
        widths: window widths in tokens (parallel layout), e.g. `[2, 3, 4, 5]`.
        blocks: `None` for the parallel layout, or a list of dicts
            `{"filters": int, "kernel_size": int = 3, "pool_size": int = 1}`
            for stacked blocks.
        dropout: dropout rate on the embedded tokens (training only).
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            (`"float16"`, `"mixed_bfloat16"`, ...) is passed on to every
            sublayer (the embedding's weights stay float32 under a mixed
            policy; its vectors are in the compute dtype).

    Input shape:
        int `(batch, tokens)` token ids, 0 = padding.

    Output shape:
        `(batch, tokens, len(widths) * filters)` (parallel), or
        `(batch, ceil(tokens / prod(pool_sizes)), blocks[-1]["filters"])` (stacked),
        in the compute dtype.

    Example:
    >>> import numpy as np
    >>> adapter = TokenWindowAdapter(100, embedding_dim=8, filters=4, widths=[2, 3])
    >>> adapter(np.array([[5, 6, 7, 0, 0, 0]])).shape
    TensorShape([1, 6, 8])
    >>> stacked = TokenWindowAdapter(100, embedding_dim=8, blocks=[{"filters": 4, "pool_size": 2}])
    >>> stacked(np.array([[5, 6, 7, 0, 0, 0]])).shape
    TensorShape([1, 3, 4])
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim=128,
        filters=100,
        widths=(2, 3, 4, 5),
        blocks=None,
        dropout=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = v.check_positive_int("vocabulary_size", vocabulary_size)
        self.embedding_dim = v.check_positive_int("embedding_dim", embedding_dim)
        self.filters = v.check_positive_int("filters", filters)
        if isinstance(widths, int) or not isinstance(widths, (list, tuple)) or not widths:
            raise ValueError(
                f"`widths` must be a non-empty list of positive integers. Received: widths={widths!r}"
            )
        self.widths = [v.check_positive_int("widths", w) for w in widths]
        self.blocks = _check_blocks(blocks)
        self.dropout = v.check_fraction("dropout", dropout)
        policy = self.dtype_policy
        self.embedding = keras.layers.Embedding(
            vocabulary_size, embedding_dim, name="embedding", dtype=policy
        )
        self.drop = keras.layers.Dropout(self.dropout, name="dropout", dtype=policy) if self.dropout else None
        if self.blocks is None:
            # "valid" windows on an input padded with k - 1 zeros on the right: the
            # window at position p is exactly tokens p .. p + k - 1 (readable in explain).
            self.convs = [
                keras.layers.Conv1D(self.filters, k, activation="relu", name=f"window_{k}", dtype=policy)
                for k in self.widths
            ]
        else:
            self.convs = [
                ConvBlock(b["filters"], b["kernel_size"], rank=1, name=f"block_{i}", dtype=policy)
                for i, b in enumerate(self.blocks)
            ]

    def build(self, input_shape):
        self.embedding.build(input_shape)
        shape = (input_shape[0], input_shape[1], self.embedding_dim)
        if self.blocks is None:
            for k, conv in zip(self.widths, self.convs):
                padded = None if shape[1] is None else shape[1] + k - 1
                conv.build((shape[0], padded, self.embedding_dim))
        else:
            for conv in self.convs:
                conv.build(shape)
                shape = conv.compute_output_shape(shape)

    def call(self, inputs, training=None):
        ids = ops.cast(inputs, "int32")
        x = self.embedding(ids)
        mask = ops.expand_dims(ops.cast(ops.not_equal(ids, 0), x.dtype), CHANNEL_AXIS)
        x = x * mask
        if self.drop is not None:
            x = self.drop(x, training=training)
        if self.blocks is None:
            outputs = [
                conv(ops.pad(x, [[0, 0], [0, k - 1], [0, 0]])) for k, conv in zip(self.widths, self.convs)
            ]
            return ops.concatenate(outputs, axis=CHANNEL_AXIS) * mask
        for block, conv in zip(self.blocks, self.convs):
            x = conv(x, training=training) * mask
            if block["pool_size"] > 1:
                x, mask = _pool(x, block["pool_size"]), _pool(mask, block["pool_size"])
        return x

    def compute_output_shape(self, input_shape):
        batch, tokens = input_shape[0], input_shape[1]
        if self.blocks is None:
            return (batch, tokens, self.filters * len(self.widths))
        for block in self.blocks:
            if tokens is not None:
                tokens = -(-tokens // block["pool_size"])
        return (batch, tokens, self.blocks[-1]["filters"])

    def inspect_branches(self):
        """Parallel windows for `mmcnn.inspect` (the default layout only).

        Each window of width `k` reads the embedded tokens padded by `k - 1` on
        the right (the padding is shown as a `Pad` that holds no weights), so
        position `p` sees tokens `p .. p + k - 1`.
        """
        if self.blocks is not None:
            return None  # stacked: pooling between blocks is not a layer; inspect sees one layer
        return [
            [
                self.embedding,
                Pad(((0, k - 1),), mode="zeros", rank=1, name=f"pad_{k}", dtype=self.dtype_policy),
                conv,
            ]
            for k, conv in zip(self.widths, self.convs)
        ]

    def token_windows(self):
        """Where each output channel looks: the token window of output position `p`.

        Returns:
            A list with one `(offset, width, stride)` per output channel: the
            output at position `p` of that channel is computed from the tokens
            `p * stride + offset .. p * stride + offset + width - 1` (clipped to
            the text). Used by `TextClassifier.explain`.
        """
        if self.blocks is None:
            return [(0, k, 1) for k in self.widths for _ in range(self.filters)]
        offset, width, stride = 0, 1, 1
        for block in self.blocks:
            k = block["kernel_size"]
            # "same" convolution at stride 1 reaches (k - 1) // 2 positions back.
            offset -= ((k - 1) // 2) * stride
            width += (k - 1) * stride
            p = block["pool_size"]
            width += (p - 1) * stride
            stride *= p
        return [(offset, width, stride)] * self.blocks[-1]["filters"]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "filters": self.filters,
                "widths": list(self.widths),
                "blocks": None if self.blocks is None else [dict(b) for b in self.blocks],
                "dropout": self.dropout,
            }
        )
        return config


def _pool(x, pool_size):
    # Right-pad to a multiple of the pool size, then "valid" pooling: groups always start
    # at token 0, whatever the padded length ("same" pooling centres its padding, which
    # would shift the groups with the length). Features and mask are >= 0, so padding
    # with zeros never raises a maximum.
    length = ops.shape(x)[TOKEN_AXIS]
    extra = (-length) % pool_size
    x = ops.pad(x, [[0, 0], [0, extra], [0, 0]])
    return ops.max_pool(x, pool_size, strides=pool_size, padding="valid")
