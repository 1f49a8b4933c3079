"""Dtype policies reach every sublayer: float16, mixed precision per layer and globally."""

import keras
import numpy as np
import pytest

from mmcnn.layers import ClassifierHead, ConvBlock, Pad, ResidualBlock, SpatialTransformer
from mmcnn.models import Backbone
from mmcnn.testing import run_layer_test

RNG = np.random.default_rng(0)

# (layer class, arguments, input shape): every public core layer, and the variants
# whose sublayers differ (reflect padding, separable, layer norm, projection shortcut).
CASES = [
    (Pad, dict(padding=1, mode="reflect", rank=2), (2, 6, 6, 3)),
    (ConvBlock, dict(filters=4, rank=2, pooling="max", dropout=0.1), (2, 8, 8, 3)),
    (ConvBlock, dict(filters=4, rank=1, pad_mode="edge", separable=True, normalization="layer"), (2, 8, 3)),
    (ResidualBlock, dict(filters=3, rank=2, pooling="avg", dropout=0.1), (2, 8, 8, 3)),
    (ResidualBlock, dict(filters=4, rank=1, strides=2, pad_mode="reflect", separable=True), (2, 8, 3)),
    (
        Backbone,
        dict(stages=[{"filters": 4, "pooling": "max"}, {"filters": 8, "block": "residual", "strides": 2}]),
        (2, 16, 16, 3),
    ),
    (SpatialTransformer, dict(filters=(4,), units=8), (2, 16, 16, 1)),
]
IDS = ["pad", "conv", "separable_conv", "residual", "residual_projection", "backbone", "transformer"]


@pytest.fixture
def global_policy():
    """Sets the global dtype policy for one test and restores the previous one."""
    previous = keras.config.dtype_policy()
    yield keras.config.set_dtype_policy
    keras.config.set_dtype_policy(previous)


def _inputs(shape):
    return RNG.normal(size=shape).astype("float32")


def _policies_below(layer):
    """`(sublayer name, policy name)` of every sublayer, built or not."""
    return {(sub.name, sub.dtype_policy.name) for sub in layer._flatten_layers(include_self=False)}


def _float_weight_dtypes(layer):
    return {w.dtype for w in layer.weights if keras.backend.is_float_dtype(w.dtype)}


@pytest.mark.parametrize("layer_cls, kwargs, shape", CASES, ids=IDS)
@pytest.mark.parametrize(
    "policy, output_dtype, weight_dtype",
    [("float16", "float16", "float16"), ("mixed_bfloat16", "bfloat16", "float32")],
)
def test_layer_computes_and_stores_in_its_policy(
    layer_cls, kwargs, shape, policy, output_dtype, weight_dtype
):
    layer = layer_cls(**kwargs, dtype=policy)
    outputs = layer(_inputs(shape), training=True)
    assert keras.backend.standardize_dtype(outputs.dtype) == output_dtype
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(outputs, "float32"))))
    assert _float_weight_dtypes(layer) <= {weight_dtype}
    assert {p for _, p in _policies_below(layer)} <= {policy}
    symbolic = layer_cls(**kwargs, dtype=policy)(keras.Input(shape[1:]))
    assert keras.backend.standardize_dtype(symbolic.dtype) == output_dtype


@pytest.mark.parametrize("shortcut", ["identity", "projection"])
def test_residual_block_in_float16_matches_float32(shortcut):
    """The float16/float32 add of issue 17: the sum runs in float16 and agrees with float32."""
    kwargs = dict(filters=3, rank=1, normalization=None) | (
        dict(strides=2) if shortcut == "projection" else {}
    )
    x = _inputs((2, 10, 3))
    reference = ResidualBlock(**kwargs)
    expected = reference(x).numpy()
    half = ResidualBlock(**kwargs, dtype="float16")
    half.build(x.shape)
    half.set_weights(reference.get_weights())
    assert (half.shortcut is None) == (shortcut == "identity")
    got = half(x)
    assert got.dtype == "float16"
    np.testing.assert_allclose(got.numpy().astype("float32"), expected, atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize(
    "policy, logits_dtype", [("float16", "float16"), ("mixed_bfloat16", "bfloat16"), ("float32", "float32")]
)
def test_classifier_head_softmax_is_float32(policy, logits_dtype):
    head = ClassifierHead(3, rank=2, pooling="flatten", dropout=0.2, hidden_units=4, dtype=policy)
    probabilities = head(_inputs((2, 3, 3, 4)))
    assert probabilities.dtype == "float32"
    np.testing.assert_allclose(probabilities.numpy().sum(axis=-1), 1.0, atol=1e-6)
    assert head.dense.compute_dtype == logits_dtype
    assert head.compute_output_spec(keras.Input((3, 3, 4))).dtype == "float32"
    assert head(keras.Input((3, 3, 4))).dtype == "float32"
    inner = _policies_below(head) - {("softmax", "float32")}
    assert {p for _, p in inner} == {policy}


def test_global_mixed_bfloat16_model_trains_with_float32_probabilities(global_policy, tmp_path):
    global_policy("mixed_bfloat16")
    inputs = keras.Input((16, 16, 3))
    backbone = Backbone(
        [{"filters": 4, "pooling": "max"}, {"filters": 8, "block": "residual", "strides": 2}], name="backbone"
    )
    features = backbone(inputs)
    head = ClassifierHead(3, rank=2, name="head")
    model = keras.Model(inputs, head(features))
    assert features.dtype == "bfloat16"
    assert model.output.dtype == "float32"
    assert head.dense.compute_dtype == "bfloat16"
    assert {p for _, p in _policies_below(backbone)} == {"mixed_bfloat16"}

    x = RNG.uniform(size=(8, 16, 16, 3)).astype("float32")
    y = np.arange(8) % 3
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    before = [w.numpy().copy() for w in model.trainable_weights]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.trainable_weights))
    assert _float_weight_dtypes(model) == {"float32"}
    probabilities = model.predict(x, verbose=0)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-6)

    path = tmp_path / "mixed.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("backbone").dtype_policy.name == "mixed_bfloat16"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), probabilities, atol=1e-6)


def test_conv_block_follows_a_global_policy(global_policy):
    global_policy("mixed_float16")
    block = ConvBlock(4, rank=1, pad_mode="reflect")
    assert block(_inputs((2, 8, 3))).dtype == "float16"
    assert {p for _, p in _policies_below(block)} == {"mixed_float16"}


# --- the helper runs Keras's own layer contract ----------------------------------


@keras.saving.register_keras_serializable(package="mmcnn_tests")
class _PolicyDroppingBlock(keras.layers.Layer):
    """A composite layer that forgets to pass its policy on: what the helper must catch."""

    def __init__(self, units=2, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.dense = keras.layers.Dense(units)

    def build(self, input_shape):
        self.dense.build(input_shape)

    def call(self, inputs):
        return self.dense(inputs)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_helper_catches_a_layer_that_drops_its_policy():
    x = _inputs((2, 3))
    with pytest.raises(AssertionError, match="_PolicyDroppingBlock fails Keras's run_layer_test"):
        run_layer_test(_PolicyDroppingBlock, {}, x, (2, 2), run_saved_model=False)
    run_layer_test(
        _PolicyDroppingBlock,
        {},
        x,
        (2, 2),
        run_saved_model=False,
        run_mixed_precision_check=False,
        skip_reason="this test layer drops its policy on purpose",
    )


def test_helper_needs_a_reason_to_skip_keras_checks():
    with pytest.raises(ValueError, match="skip_reason"):
        run_layer_test(Pad, dict(padding=1, rank=1), _inputs((2, 4, 1)), keras_checks=False)
    with pytest.raises(AssertionError, match="output dtype float32 != expected float16"):
        run_layer_test(Pad, dict(padding=1, rank=1), _inputs((2, 4, 1)), expected_output_dtype="float16")
    run_layer_test(
        Pad, dict(padding=1, rank=1, dtype="float16"), _inputs((2, 4, 1)), expected_output_dtype="float16"
    )
