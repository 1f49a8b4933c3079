import keras
import numpy as np
import pytest
import tensorflow as tf

from mmcnn.inspect import receptive_field, summary
from mmcnn.layers import ConvBlock, ResidualBlock
from mmcnn.models import Backbone


def measured_field(model, input_shape, unit):
    """Input positions with non-zero gradient for one output unit (the empirical field)."""
    x = tf.constant(np.random.default_rng(1).uniform(0.5, 1.5, size=(1, *input_shape)).astype("float32"))

    # In a tf.function, as in training: eager conv backprop with oneDNN crashed
    # (segfault in Conv2DBackpropFilter, TF 2.21) on one of these shapes.
    @tf.function
    def input_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            target = model(x, training=False)[(0, *unit, 0)]
        return tape.gradient(target, x)

    grad = input_gradient(x).numpy()[0]
    nonzero = np.argwhere(np.abs(grad).sum(axis=-1) > 0)
    return nonzero.min(axis=0), nonzero.max(axis=0)


def predicted_field(row, unit, input_spatial):
    lo, hi = [], []
    for u, size, jump, start, n in zip(unit, row["size"], row["jump"], row["start"], input_spatial):
        centre = start + u * jump
        lo.append(max(0, int(np.ceil(centre - (size - 1) / 2))))
        hi.append(min(n - 1, int(np.floor(centre + (size - 1) / 2))))
    return np.array(lo), np.array(hi)


# Linear blocks and average pooling: every tap carries gradient, so the measured
# field is the whole theoretical one (clipped to the input).
LINEAR = dict(normalization=None, activation=None)
ARCHITECTURES = {
    "two_3x3": ([ConvBlock(2, 3, **LINEAR), ConvBlock(2, 3, **LINEAR)], (15, 15, 1)),
    "stride_and_pool": (
        [
            ConvBlock(2, 3, strides=2, **LINEAR),
            ConvBlock(2, 3, pooling="avg", **LINEAR),
            ConvBlock(2, 5, **LINEAR),
        ],
        (31, 29, 1),
    ),
    "dilated_reflect_1d": (
        [
            ConvBlock(2, 3, rank=1, dilation_rate=2, pad_mode="reflect", **LINEAR),
            ConvBlock(2, 3, rank=1, padding="valid", **LINEAR),
        ],
        (40, 1),
    ),
    "residual_valid_pool_1d": (
        [
            ResidualBlock(2, 3, rank=1, strides=2, normalization=None, activation=None),
            keras.layers.AveragePooling1D(3, strides=2),
            keras.layers.Conv1D(2, 3, padding="valid"),
        ],
        (48, 2),
    ),
    "keras_plain_2d": (
        [
            keras.layers.ZeroPadding2D(2),
            keras.layers.Conv2D(2, 5, strides=2),
            keras.layers.AveragePooling2D(2, padding="same"),
            keras.layers.Conv2D(2, 3, padding="same"),
        ],
        (23, 23, 1),
    ),
}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_receptive_field_matches_gradient(name):
    layers, input_shape = ARCHITECTURES[name]
    model = keras.Sequential([keras.Input(input_shape), *layers])
    table = receptive_field(model)
    last = table[table["on_path"]].iloc[-1]
    out_spatial = model.output_shape[1:-1]
    in_spatial = input_shape[:-1]
    for unit in [
        tuple(0 for _ in out_spatial),
        tuple(n // 2 for n in out_spatial),
        tuple(n - 1 for n in out_spatial),
    ]:
        assert (
            measured_field(model, input_shape, unit)[0].tolist()
            == predicted_field(last, unit, in_spatial)[0].tolist()
        ), unit
        assert (
            measured_field(model, input_shape, unit)[1].tolist()
            == predicted_field(last, unit, in_spatial)[1].tolist()
        ), unit


def test_known_receptive_fields():
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            ConvBlock(4, 3),
            ConvBlock(4, 3),
            ConvBlock(4, 3, strides=2),
            ConvBlock(4, 3),
        ]
    )
    table = receptive_field(model)
    convs = table[table["type"] == "Conv2D"]
    assert convs["size"].tolist() == [(3, 3), (5, 5), (7, 7), (11, 11)]
    assert convs["jump"].tolist() == [(1, 1), (1, 1), (2, 2), (2, 2)]


def test_summary_counts_and_dense_comparison():
    model = keras.Sequential(
        [
            keras.Input((100, 100, 3)),
            ConvBlock(16, 3, normalization=None),
            keras.layers.Flatten(),
            keras.layers.Dense(1000),
        ]
    )
    table = summary(model)
    conv = table[table["type"] == "Conv2D"].iloc[0]
    assert conv["params"] == 3 * 3 * 3 * 16 + 16
    assert conv["macs"] == 100 * 100 * 3 * 3 * 3 * 16
    assert conv["dense_params"] == (100 * 100 * 3) * (100 * 100 * 16)
    dense = table[table["type"] == "Dense"].iloc[0]
    assert dense["dense_params"] == 100 * 100 * 16 * 1000
    assert table["params"].sum() == model.count_params()


def test_summary_of_backbone_counts_every_weight():
    backbone = Backbone(
        [
            {"filters": 8, "pooling": "max"},
            {"filters": 16, "blocks": 2, "block": "separable_residual", "strides": 2},
        ],
        rank=1,
    )
    model = keras.Sequential(
        [keras.Input((64, 10)), backbone, keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(3)]
    )
    table = summary(model)
    assert table["params"].sum() == model.count_params()
    assert (table["macs"] >= 0).all()
    shortcut = table[table["layer"].str.contains("shortcut")]
    assert len(shortcut) > 0


def test_a_feature_axis_that_becomes_spatial_gets_its_own_field():
    """A (frames, mels) spectrogram reshaped to an image: both axes then grow."""
    model = keras.Sequential(
        [keras.Input((20, 8)), keras.layers.Reshape((20, 8, 1)), ConvBlock(2, 3), ConvBlock(2, 3)]
    )
    table = receptive_field(model)
    assert table["size"].tolist()[-1] == (5, 5)


class TwoWidths(keras.layers.Layer):
    """Parallel windows of width 2 and 5 joined along channels (the shape of a Kim adapter)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.narrow = keras.layers.Conv1D(2, 2, padding="same")
        self.wide = keras.layers.Conv1D(2, 5, padding="same")

    def call(self, x):
        return keras.ops.concatenate([self.narrow(x), self.wide(x)], axis=-1)

    def compute_output_shape(self, shape):
        return (*shape[:-1], 4)

    def inspect_branches(self):
        return [[self.narrow], [self.wide]]


def test_parallel_branches_report_the_widest_window_and_every_weight():
    model = keras.Sequential([keras.Input((16, 3)), TwoWidths(), keras.layers.GlobalMaxPooling1D()])
    fields = receptive_field(model)
    assert fields["size"].tolist()[:2] == [(2,), (5,)]
    assert summary(model)["params"].sum() == model.count_params()
