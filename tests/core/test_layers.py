import itertools

import keras
import numpy as np
import pytest

from mmcnn.layers import ClassifierHead, ConvBlock, Pad, ResidualBlock
from mmcnn.layers.head import resolve_pooling
from mmcnn.models import Backbone
from mmcnn.testing import run_layer_test

RNG = np.random.default_rng(0)


def numpy_conv(x, kernel, strides, dilation, pad_mode, padding):
    """Direct loop over output positions: the reference for ConvBlock."""
    rank = x.ndim - 2
    k = kernel.shape[:rank]
    if padding == "same":
        pads = [((d * (n - 1)) // 2, d * (n - 1) - (d * (n - 1)) // 2) for n, d in zip(k, dilation)]
        mode = {"zeros": "constant", "reflect": "reflect", "symmetric": "symmetric", "edge": "edge"}[pad_mode]
        x = np.pad(x, [(0, 0), *pads, (0, 0)], mode=mode)
    spatial = x.shape[1:-1]
    out_size = [(n - d * (kk - 1) - 1) // s + 1 for n, kk, d, s in zip(spatial, k, dilation, strides)]
    out = np.zeros((x.shape[0], *out_size, kernel.shape[-1]))
    for pos in itertools.product(*[range(n) for n in out_size]):
        for tap in itertools.product(*[range(n) for n in k]):
            idx = tuple(p * s + t * d for p, s, t, d in zip(pos, strides, tap, dilation))
            out[(slice(None), *pos)] += x[(slice(None), *idx)] @ kernel[tap]
    return out


@pytest.mark.parametrize("pad_mode", ["zeros", "reflect", "symmetric", "edge"])
@pytest.mark.parametrize("rank", [1, 2])
def test_conv_block_matches_numpy_loop(rank, pad_mode):
    shape = (2, 7, 3) if rank == 1 else (2, 7, 6, 3)
    x = RNG.normal(size=shape).astype("float32")
    for kernel_size, strides, dilation, padding in [
        (3, 1, 1, "same"),
        (3, 2, 1, "same"),
        (5, 1, 2, "same"),
        (3, 1, 1, "valid"),
    ]:
        if padding == "same" and strides > 1 and pad_mode == "zeros":
            continue  # TF "same" at stride 2 pads asymmetrically by input size; checked by inspect tests
        block = ConvBlock(
            4,
            kernel_size,
            rank=rank,
            strides=strides,
            dilation_rate=dilation,
            padding=padding,
            pad_mode=pad_mode,
            normalization=None,
            activation=None,
        )
        y = block(x).numpy()
        kernel = block.inspect_path()[-1].kernel.numpy()
        bias = block.inspect_path()[-1].bias.numpy()
        ref = numpy_conv(x, kernel, (strides,) * rank, (dilation,) * rank, pad_mode, padding) + bias
        np.testing.assert_allclose(y, ref, atol=1e-4, err_msg=f"k={kernel_size} s={strides} d={dilation}")


def test_pad_modes_on_a_known_row():
    x = np.array([[[1.0], [2.0], [3.0]]], "float32")
    expected = {
        "zeros": [0, 0, 1, 2, 3, 0],
        "reflect": [3, 2, 1, 2, 3, 2],
        "symmetric": [2, 1, 1, 2, 3, 3],
        "edge": [1, 1, 1, 2, 3, 3],
    }
    for mode, row in expected.items():
        got = Pad(((2, 1),), mode=mode, rank=1)(x)[0, :, 0].numpy()
        np.testing.assert_array_equal(got, row, err_msg=mode)


@pytest.mark.parametrize(
    "kwargs,shape,out",
    [
        (dict(padding=((1, 2), (0, 3)), mode="reflect", rank=2), (2, 5, 5, 2), (2, 8, 8, 2)),
        (dict(padding=2, mode="edge", rank=1), (2, 6, 3), (2, 10, 3)),
    ],
)
def test_pad_layer(kwargs, shape, out):
    run_layer_test(
        Pad, kwargs, RNG.normal(size=shape).astype("float32"), out, expected_num_trainable_weights=0
    )


@pytest.mark.parametrize(
    "kwargs,shape,out,trainable",
    [
        (dict(filters=4, kernel_size=3, rank=2, pooling="max", dropout=0.1), (3, 8, 8, 2), (3, 4, 4, 4), 3),
        (dict(filters=4, kernel_size=3, rank=1, pad_mode="reflect", pooling="avg"), (3, 8, 2), (3, 4, 4), 3),
        (
            dict(filters=4, kernel_size=3, rank=2, strides=2, normalization=None),
            (3, 8, 8, 2),
            (3, 4, 4, 4),
            2,
        ),
        (
            dict(filters=4, kernel_size=5, rank=1, separable=True, normalization="layer"),
            (3, 8, 2),
            (3, 8, 4),
            4,
        ),
    ],
)
def test_conv_block(kwargs, shape, out, trainable):
    run_layer_test(
        ConvBlock,
        kwargs,
        RNG.normal(size=shape).astype("float32"),
        out,
        expected_num_trainable_weights=trainable,
    )


@pytest.mark.parametrize(
    "kwargs,shape,out",
    [
        (dict(filters=4, rank=2, strides=2), (3, 8, 8, 2), (3, 4, 4, 4)),
        (dict(filters=2, rank=1, pad_mode="symmetric", separable=True, pooling="max"), (3, 8, 2), (3, 4, 2)),
    ],
)
def test_residual_block(kwargs, shape, out):
    run_layer_test(ResidualBlock, kwargs, RNG.normal(size=shape).astype("float32"), out)


def test_backbone_and_head():
    stages = [
        {"filters": 4, "pooling": "max"},
        {"filters": 8, "blocks": 2, "block": "residual", "strides": 2},
    ]
    run_layer_test(
        Backbone, dict(stages=stages, rank=2), RNG.normal(size=(2, 16, 16, 3)).astype("float32"), (2, 4, 4, 8)
    )
    run_layer_test(
        ClassifierHead,
        dict(num_classes=3, rank=1, pooling="max", dropout=0.2, hidden_units=5, class_names=["a", "b", "c"]),
        RNG.normal(size=(2, 6, 4)).astype("float32"),
        (2, 3),
        expected_num_trainable_weights=4,
    )


@pytest.mark.parametrize(
    "pooling, shape, expected",
    [
        ("auto", (None, 7, 7, 128), "flatten"),  # 6,272 values: at most FLATTEN_MAX_FEATURES
        ("auto", (None, 8, 8, 128), "flatten"),  # exactly 8,192
        ("auto", (None, 9, 8, 128), "avg"),
        ("auto", (None, None, 128), "avg"),  # clips of any length: no fixed size to flatten
        ("max", (None, 2, 2, 4), "max"),
        ("flatten", (None, 64, 64, 64), "flatten"),
    ],
)
def test_resolve_pooling(pooling, shape, expected):
    assert resolve_pooling(pooling, shape) == expected


def test_blocks_compose_with_plain_keras():
    model = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            ConvBlock(4, pooling="max"),
            ResidualBlock(4),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    assert model(np.zeros((1, 16, 16, 1), "float32")).shape == (1, 2)
    clone = keras.models.clone_model(model)
    assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]


@pytest.mark.parametrize(
    "bad,match",
    [
        (dict(filters=0), "filters"),
        (dict(filters=4, kernel_size=0), "kernel_size"),
        (dict(filters=4, pad_mode="wrap"), "pad_mode"),
        (dict(filters=4, pooling="median"), "pooling"),
        (dict(filters=4, rank=3), "rank"),
        (dict(filters=4, dropout=1.5), "dropout"),
    ],
)
def test_conv_block_rejects_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=f"`{match}`.*Received"):
        ConvBlock(**bad)


def test_backbone_rejects_bad_stage():
    with pytest.raises(ValueError, match=r"stages\[1\].*unknown keys"):
        Backbone([{"filters": 4}, {"filters": 4, "kernal": 3}])
    with pytest.raises(ValueError, match="class_names"):
        ClassifierHead(2, class_names=["a", "a"])
