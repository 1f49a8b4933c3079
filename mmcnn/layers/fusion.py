"""Fusion of per-column embeddings: the join of a multi-modal model, with missing columns."""

import keras
from keras import ops

from mmcnn.layers.validation import check_choice, check_fraction, check_positive_int

FUSION_MODES = ("concat", "gated", "attention")


@keras.saving.register_keras_serializable(package="mmcnn")
class Fusion(keras.layers.Layer):
    """Joins the pooled embeddings of several columns into one vector, some columns possibly missing.

    Each column `i` brings a pooled embedding `(batch, d_i)` (the output of
    its modality's encoder, a normalized number, a category embedding) and,
    optionally, a mask `(batch,)`: 1 where the row has the column, 0 where
    the cell is missing. A missing cell's embedding is replaced by a learned
    "missing" embedding of that column (one trainable vector of size `d_i`),
    so the model learns what "no photo" means instead of reading zeros.

    Modes:
    - `"concat"`: each column is projected to `units` (a `Dense` per column;
      `units=None` keeps its size) and the columns are concatenated.
    - `"gated"`: each column is projected to `units`; a sigmoid gate per
      column, computed from the concatenated projections, weighs it in a sum.
    - `"attention"`: a learned query attends over the projected columns
      (scaled dot product, softmax over the columns); missing columns get
      no weight. A row with every column missing attends over the missing
      embeddings alike.

    With `units=None`, `"gated"` and `"attention"` need columns of one size
    (there is no projection).

    Column dropout: in training, each column of each example is dropped with
    probability `column_dropout` as if it were missing, so the model learns
    to predict from any subset of columns. At inference it is the identity.

    Single-column examples: in training, each example is also, with
    probability `single_column_rate`, given only one of its present columns
    (chosen at random, the others masked as missing; after column dropout).
    With `"concat"` and a linear head the logits are a sum of per-column
    terms, so such an example trains the chosen column's term to predict
    alone: an auxiliary per-column loss (late fusion's), without a second
    head or output. It keeps the weaker columns learning after the strongest
    one has fit the training set, and the model predicting from any one column.

    Args:
        mode: one of `"concat"` (default), `"gated"`, `"attention"`.
        units: size each column is projected to, or `None` (no projection).
        column_dropout: rate in `[0, 1)` of whole columns dropped per example
            in training.
        single_column_rate: rate in `[0, 1)` of examples that keep only one
            (random) present column in training.
        columns: column names, in order, for dict inputs (`None`: the keys
            sorted, as Keras orders dict inputs).
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a list of `(batch, d_i)` tensors, a dict of them by column
            name, or one `(batch, columns, d)` tensor of stacked columns.
        column_mask: optional: a list (entries may be `None`: present), a
            dict by column name, or a `(batch, columns)` tensor; 1 = present,
            0 = missing.
        training: whether column dropout applies.

    Input shape:
        Column `i`: `(batch, d_i)`; mask: `(batch,)` per column.

    Output shape:
        `"concat"`: `(batch, sum of the projected sizes)`; `"gated"` and
        `"attention"`: `(batch, units)` (or `(batch, d)` with `units=None`).

    Example:
    >>> import numpy as np
    >>> fusion = Fusion(units=4)
    >>> photo, title = np.ones((2, 8), "float32"), np.ones((2, 3), "float32")
    >>> tuple(fusion([photo, title], column_mask=[None, np.array([1, 0], "float32")]).shape)
    (2, 8)
    """

    def __init__(
        self, mode="concat", units=None, column_dropout=0.0, columns=None, single_column_rate=0.0, **kwargs
    ):
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, FUSION_MODES)
        self.units = None if units is None else check_positive_int("units", units)
        self.column_dropout = check_fraction("column_dropout", column_dropout)
        self.single_column_rate = check_fraction("single_column_rate", single_column_rate)
        if columns is not None:
            if isinstance(columns, str) or not all(isinstance(c, str) and c for c in columns):
                raise ValueError(
                    "`columns` must be a list of column names (non-empty strings). "
                    f"Received: columns={columns!r}"
                )
            if len(set(columns)) != len(columns) or not columns:
                raise ValueError(
                    f"`columns` must name each column once, at least one. Received: columns={columns!r}"
                )
            columns = list(columns)
        self.columns = columns
        self.seed_generator = keras.random.SeedGenerator(1337)
        self.supports_masking = False

    # -- input forms ---------------------------------------------------------------------

    def _column_names(self, keys):
        if self.columns is None:
            return sorted(keys)
        if set(keys) != set(self.columns):
            raise ValueError(
                f"Fusion got columns {sorted(keys)}, but `columns` names {self.columns}: the dict "
                "keys must be the column names"
            )
        return self.columns

    def _sizes(self, input_shape):
        if isinstance(input_shape, dict):
            input_shape = [input_shape[name] for name in self._column_names(input_shape)]
        elif not isinstance(input_shape, (list, tuple)) or (
            input_shape and not isinstance(input_shape[0], (list, tuple))
        ):
            shape = tuple(input_shape)
            if len(shape) != 3:
                raise ValueError(
                    "Fusion takes a list or dict of (batch, d) embeddings, or one (batch, columns, d) "
                    f"tensor. Received: input shape {shape}"
                )
            return [shape[2]] * shape[1]
        sizes = []
        for i, shape in enumerate(input_shape):
            if len(shape) != 2 or shape[-1] is None:
                raise ValueError(
                    f"Fusion: column {i} must be a (batch, d) embedding with a known d. "
                    f"Received: shape {tuple(shape)}"
                )
            sizes.append(shape[-1])
        if not sizes:
            raise ValueError("Fusion needs at least one column. Received: no inputs")
        return sizes

    def _as_list(self, inputs):
        if isinstance(inputs, dict):
            return [inputs[name] for name in self._column_names(inputs)]
        if isinstance(inputs, (list, tuple)):
            return list(inputs)
        return [inputs[:, i, :] for i in range(inputs.shape[1])]

    def _mask_list(self, column_mask, inputs):
        count = len(self.sizes)
        if column_mask is None:
            return [None] * count
        if isinstance(column_mask, dict):
            unknown = set(column_mask) - set(self._column_names(inputs) if isinstance(inputs, dict) else [])
            if unknown:
                raise ValueError(f"`column_mask` names unknown columns {sorted(unknown)}")
            return [column_mask.get(name) for name in self._column_names(inputs)]
        if isinstance(column_mask, (list, tuple)):
            if len(column_mask) != count:
                raise ValueError(
                    f"`column_mask` must have one entry per column ({count}). "
                    f"Received: {len(column_mask)} entries"
                )
            return list(column_mask)
        return [column_mask[:, i] for i in range(count)]

    # -- weights -------------------------------------------------------------------------

    def build(self, input_shape):
        self.sizes = self._sizes(input_shape)
        if self.units is None and self.mode != "concat" and len(set(self.sizes)) > 1:
            raise ValueError(
                f"`units` must be set for mode={self.mode!r} when the columns differ in size. "
                f"Received: units=None, column sizes={self.sizes}"
            )
        self.missing_embeddings = [
            self.add_weight(name=f"missing_{i}", shape=(size,), initializer="zeros")
            for i, size in enumerate(self.sizes)
        ]
        self.projections = []
        if self.units is not None:
            for i, size in enumerate(self.sizes):
                projection = keras.layers.Dense(self.units, dtype=self.dtype_policy, name=f"projection_{i}")
                projection.build((None, size))
                self.projections.append(projection)
        width = self.units or self.sizes[0]
        if self.mode == "gated":
            self.gate = keras.layers.Dense(
                len(self.sizes), activation="sigmoid", dtype=self.dtype_policy, name="gate"
            )
            self.gate.build((None, width * len(self.sizes)))
        if self.mode == "attention":
            self.query = self.add_weight(name="query", shape=(width,), initializer="glorot_uniform")

    # -- the computation -----------------------------------------------------------------

    def _present(self, inputs, column_mask, training):
        """Per column, a `(batch, 1)` 1/0 tensor: present and not dropped."""
        columns = self._as_list(inputs)
        masks = self._mask_list(column_mask, inputs)
        dtype = self.compute_dtype
        present = []
        for column, mask in zip(columns, masks):
            if mask is None:
                mask = ops.ones_like(column[:, :1])
            else:
                mask = ops.reshape(ops.cast(mask, dtype), (-1, 1))
            if training and self.column_dropout > 0:
                keep = keras.random.uniform(ops.shape(mask), seed=self.seed_generator, dtype=dtype)
                mask = mask * ops.cast(keep >= self.column_dropout, dtype)
            present.append(mask)
        if training and self.single_column_rate > 0:
            present = self._single_column(present)
        return columns, present

    def _single_column(self, present):
        """`present`, where a `single_column_rate` of the examples keep one random present column."""
        dtype = self.compute_dtype
        mask = ops.concatenate(present, axis=1)  # (batch, columns)
        # The present column with the largest uniform draw: a uniform choice among them.
        draws = keras.random.uniform(ops.shape(mask), minval=1.0, maxval=2.0, seed=self.seed_generator)
        choice = ops.argmax(draws * ops.cast(mask, draws.dtype), axis=1)
        chosen = ops.one_hot(choice, len(present), dtype=dtype)
        single = keras.random.uniform(ops.shape(mask[:, :1]), seed=self.seed_generator, dtype=dtype)
        single = ops.cast(single < self.single_column_rate, dtype)
        # A row with no present column has nothing to choose: it stays as it is.
        single = single * ops.cast(ops.sum(mask, axis=1, keepdims=True) > 0, dtype)
        mask = single * chosen * mask + (1 - single) * mask
        return [mask[:, i : i + 1] for i in range(len(present))]

    def _projected(self, columns, present):
        projected = []
        for i, (column, mask) in enumerate(zip(columns, present)):
            missing = ops.cast(self.missing_embeddings[i], self.compute_dtype)
            column = mask * column + (1 - mask) * missing[None, :]
            projected.append(self.projections[i](column) if self.projections else column)
        return projected

    def _attention_weights(self, projected, present):
        stacked = ops.cast(ops.stack(projected, axis=1), "float32")  # (batch, columns, width)
        mask = ops.cast(ops.concatenate(present, axis=1), "float32")  # (batch, columns)
        scores = ops.einsum("bcw,w->bc", stacked, ops.cast(self.query, "float32"))
        scores = scores / ops.sqrt(ops.cast(stacked.shape[-1], "float32"))
        # A row with no column present attends over the missing embeddings alike.
        mask = ops.where(ops.sum(mask, axis=1, keepdims=True) > 0, mask, ops.ones_like(mask))
        scores = scores - ops.max(ops.where(mask > 0, scores, -1e30), axis=1, keepdims=True)
        weights = ops.exp(ops.minimum(scores, 0.0)) * mask
        return weights / ops.sum(weights, axis=1, keepdims=True)

    def _weights(self, projected, present):
        if self.mode == "gated":
            return self.gate(ops.concatenate(projected, axis=-1))
        return ops.cast(self._attention_weights(projected, present), self.compute_dtype)

    def call(self, inputs, column_mask=None, training=None):
        columns, present = self._present(inputs, column_mask, training)
        projected = self._projected(columns, present)
        if self.mode == "concat":
            return ops.concatenate(projected, axis=-1)
        weights = self._weights(projected, present)
        return ops.einsum("bc,bcw->bw", weights, ops.stack(projected, axis=1))

    def column_weights(self, inputs, column_mask=None):
        """The weight of each column in the sum, `(batch, columns)`, at inference.

        Gates in `"gated"` mode (each in `(0, 1)`), attention weights in
        `"attention"` mode (summing to 1 over the present columns, 0 on missing
        ones). `"concat"` mode has no weights: a `ValueError`.
        """
        if self.mode == "concat":
            raise ValueError("`column_weights` needs mode='gated' or 'attention'. Received: mode='concat'")
        if not self.built:
            self.build(keras.tree.map_structure(lambda x: tuple(x.shape), inputs))
        columns, present = self._present(inputs, column_mask, training=False)
        return self._weights(self._projected(columns, present), present)

    def compute_output_shape(self, input_shape):
        sizes = self._sizes(input_shape)
        batch = _batch(input_shape)
        if self.mode == "concat":
            return (batch, self.units * len(sizes) if self.units else sum(sizes))
        return (batch, self.units or sizes[0])

    def get_config(self):
        config = super().get_config()
        config.update(
            mode=self.mode,
            units=self.units,
            column_dropout=self.column_dropout,
            columns=self.columns,
            single_column_rate=self.single_column_rate,
        )
        return config


def _batch(input_shape):
    if isinstance(input_shape, dict):
        return next(iter(input_shape.values()))[0]
    if isinstance(input_shape, (list, tuple)) and input_shape and isinstance(input_shape[0], (list, tuple)):
        return input_shape[0][0]
    return tuple(input_shape)[0]
