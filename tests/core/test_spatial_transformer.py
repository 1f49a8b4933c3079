"""SpatialTransformer: fixed warps against scipy, the identity at initialisation, the shared layer checks."""

import keras
import numpy as np
import pytest
from scipy import ndimage

from mmcnn.image import ImageAdapter
from mmcnn.layers import ClassifierHead
from mmcnn.layers.spatial_transformer import IDENTITY, SpatialTransformer, affine_warp
from mmcnn.models import Backbone
from mmcnn.testing import run_layer_test


def _image(size=12, channels=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (1, size, size, channels)).astype("float32")


def _scipy_reference(image, theta):
    """The same warp with scipy.ndimage.affine_transform (bilinear, zeros outside).

    theta maps normalised output (x, y) to normalised source (x, y); with
    s = (n - 1) / 2, a pixel index i = s * (u + 1), so in (row, col) pixel
    coordinates the source of output (i, j) is M @ (i, j) + offset.
    """
    a = np.asarray(theta, "float64").reshape(2, 3)
    s = (image.shape[0] - 1) / 2.0
    matrix = np.array([[a[1, 1], a[1, 0]], [a[0, 1], a[0, 0]]])
    offset = np.array([s * (1 - a[1, 0] - a[1, 1] + a[1, 2]), s * (1 - a[0, 0] - a[0, 1] + a[0, 2])])
    return np.stack(
        [
            ndimage.affine_transform(image[..., c], matrix, offset, order=1, mode="grid-constant", cval=0.0)
            for c in range(image.shape[-1])
        ],
        axis=-1,
    )


THETAS = {
    "identity": IDENTITY,
    "translation_2px": (1, 0, 2 * 2 / 11, 0, 1, -3 * 2 / 11),  # 2 px right, 3 px up in the source
    "translation_fractional": (1, 0, 0.13, 0, 1, -0.29),
    "rotation_90": (0, -1, 0, 1, 0, 0),
    "rotation_30_scaled": (
        0.8 * np.cos(0.52),
        -0.8 * np.sin(0.52),
        0.1,
        0.8 * np.sin(0.52),
        0.8 * np.cos(0.52),
        0.0,
    ),
}


@pytest.mark.parametrize("name", sorted(THETAS))
def test_fixed_warps_match_scipy(name):
    image = _image()
    theta = np.asarray(THETAS[name], "float32")[None]
    got = affine_warp(image, theta).numpy()[0]
    np.testing.assert_allclose(got, _scipy_reference(image[0], theta[0]), atol=1e-5)


def test_rotation_by_90_is_a_quarter_turn_and_identity_is_exact():
    image = _image(9, 1)
    rotated = affine_warp(image, np.asarray([THETAS["rotation_90"]], "float32")).numpy()[0, ..., 0]
    # Output (row i, col j) reads source (row j, col n-1-i): np.rot90's counter-clockwise quarter turn.
    np.testing.assert_allclose(rotated, np.rot90(image[0, ..., 0], k=1), atol=1e-6)
    same = affine_warp(image, np.asarray([IDENTITY], "float32")).numpy()
    np.testing.assert_allclose(same, image, atol=1e-5)


def test_layer_with_fixed_parameters_reproduces_a_warp():
    image = _image(16, 1)
    layer = SpatialTransformer(filters=(4,), units=8)
    layer.build(image.shape)
    np.testing.assert_allclose(layer(image).numpy(), image, atol=1e-5)  # identity at initialisation
    theta = np.asarray(THETAS["rotation_30_scaled"], "float32")
    layer.theta.bias.assign(theta)  # kernel is zero: the transform is the bias
    np.testing.assert_allclose(layer(image).numpy()[0], _scipy_reference(image[0], theta), atol=1e-5)


def test_batch_independence_and_output_size():
    images = np.concatenate([_image(seed=s) for s in range(3)])
    thetas = np.asarray([THETAS["identity"], THETAS["rotation_90"], THETAS["translation_2px"]], "float32")
    batch = affine_warp(images, thetas).numpy()
    for i in range(3):
        np.testing.assert_allclose(
            batch[i], affine_warp(images[i : i + 1], thetas[i : i + 1]).numpy()[0], atol=1e-6
        )
    layer = SpatialTransformer(filters=4, units=4, output_size=(6, 8))
    assert layer(images).shape == (3, 6, 8, 2)


def test_gradient_reaches_the_transform():
    import tensorflow as tf

    image = tf.constant(_image(8, 1))
    theta = tf.Variable(np.asarray([THETAS["translation_fractional"]], "float32"))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(affine_warp(image, theta) * image)
    grad = tape.gradient(loss, theta).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0


def test_run_layer_test():
    images = _image(16, 3) * 255
    images = np.concatenate([images, images[:, ::-1]])
    run_layer_test(
        SpatialTransformer, dict(filters=(4, 8), units=8), images, expected_output_shape=(2, 16, 16, 3)
    )


def test_validation():
    with pytest.raises(ValueError, match="units"):
        SpatialTransformer(units=0)
    with pytest.raises(ValueError, match="filters"):
        SpatialTransformer(filters=())
    with pytest.raises(ValueError, match="output_size"):
        SpatialTransformer(output_size=(4, 0))


def test_image_classifier_equivalent_with_transformer(tmp_path):
    """What ImageClassifier(spatial_transformer=True) builds: transformer before the adapter."""
    pixels = keras.Input((16, 16, 1), name="pixels")
    x = SpatialTransformer(filters=(4,), units=8, name="spatial_transformer")(pixels)
    x = ImageAdapter(8, name="adapter")(x)
    x = Backbone([{"filters": 8, "pooling": "max"}], rank=2, name="backbone")(x)
    model = keras.Model(pixels, ClassifierHead(3, rank=2, name="head")(x))
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (8, 16, 16, 1)).astype("float32")
    labels = rng.integers(0, 3, 8)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.train_on_batch(images, labels)
    path = tmp_path / "st.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-5)


def test_docstring_examples_run():
    import doctest

    from mmcnn.layers import spatial_transformer

    results = doctest.testmod(spatial_transformer)
    assert results.attempted > 0 and results.failed == 0
