"""Tests for mmcnn.image.image_augmentation (Keras preprocessing layers, real TF)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from mmcnn.image.image_augmentation import (
    POLICIES,
    ImageAugmentation,
    apply_batch_mixing,
    augmentation_pipeline,
    batch_mixing,
)
from mmcnn.testing import run_layer_test


def images(shape=(4, 32, 32, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype(np.float32)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("shape", [(4, 32, 32, 3), (28, 28, 1)])
def test_identity_at_inference(policy, shape):
    x = images(shape)
    augment = augmentation_pipeline(policy, seed=1)
    np.testing.assert_array_equal(augment(x, training=False), x)
    np.testing.assert_array_equal(augment(x), x)  # inference is the default here


@pytest.mark.parametrize("policy", [p for p in POLICIES if p != "none"])
def test_training_changes_images(policy):
    x = images((4, 28, 28, 1))
    out = augmentation_pipeline(policy, seed=1)(x, training=True)
    assert tuple(out.shape) == x.shape
    assert not np.allclose(out, x)
    assert 0.0 <= float(np.min(out)) and float(np.max(out)) <= 255.0 + 1e-3


def test_flip_policy_only_mirrors():
    x = images((8, 28, 28, 1))
    out = augmentation_pipeline("flip", seed=1)(x, training=True).numpy()
    mirrored = [np.array_equal(o, i[:, ::-1]) for o, i in zip(out, x)]
    kept = [np.array_equal(o, i) for o, i in zip(out, x)]
    assert all(m or k for m, k in zip(mirrored, kept)) and any(mirrored)


def test_same_seed_same_augmentation():
    x = images()
    a = augmentation_pipeline("strong", seed=5)(x, training=True)
    b = augmentation_pipeline("strong", seed=5)(x, training=True)
    np.testing.assert_array_equal(a, b)


def test_pipeline_runs_in_tf_data():
    augment = augmentation_pipeline("standard", seed=0)
    ds = tf.data.Dataset.from_tensor_slices(images((8, 32, 32, 3))).batch(4)
    out = list(ds.map(lambda x: augment(x, training=True)))
    assert [tuple(o.shape) for o in out] == [(4, 32, 32, 3)] * 2


def test_any_image_size_and_dtype():
    augment = augmentation_pipeline("light", seed=0, image_size=(32, 32))
    assert tuple(augment(images((2, 28, 28, 1)), training=True).shape) == (2, 28, 28, 1)
    pixels = np.arange(2 * 5 * 7 * 3, dtype=np.uint8).reshape(2, 5, 7, 3)
    out = augment(pixels)
    assert out.dtype == "float32"
    np.testing.assert_array_equal(out, pixels.astype(np.float32))


def test_model_call_without_training_is_identity():
    # Keras's own preprocessing layers augment when `training` is omitted;
    # ImageAugmentation defaults to inference and passes that down.
    x = images((2, 32, 32, 3))
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, augmentation_pipeline("strong", seed=0)(inputs))
    np.testing.assert_array_equal(model(x), x)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert not np.allclose(model(x, training=True), x)


@pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")
def test_training_flag_reaches_the_layer_in_fit():
    # A model whose output is the augmented input: with an MSE loss against
    # the clean input, the loss in `fit` is > 0 only if augmentation ran.
    x = images((4, 16, 16, 1))
    inputs = keras.Input((16, 16, 1))
    outputs = keras.layers.Rescaling(1.0)(augmentation_pipeline("strong", seed=0)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse")
    assert model.evaluate(x, x, verbose=0) == 0.0
    history = model.fit(x, x, epochs=1, verbose=0)
    assert history.history["loss"][0] > 0.0


def test_layer_checks():
    run_layer_test(
        ImageAugmentation,
        {"policy": "strong", "seed": 2, "fill_mode": "constant"},
        images((2, 16, 16, 3)),
        expected_output_shape=(2, 16, 16, 3),
        expected_num_trainable_weights=0,
        run_training_step=False,
    )


@pytest.mark.parametrize("policy, compute_dtype", [("float16", "float16"), ("mixed_bfloat16", "bfloat16")])
def test_dtype_policy_reaches_every_keras_layer(policy, compute_dtype):
    augment = ImageAugmentation("strong", seed=1, dtype=policy)
    assert {layer.dtype_policy.name for layer in augment.augmentations} == {policy}
    x = images((2, 16, 16, 3))
    out = augment(x, training=True)
    assert out.dtype == compute_dtype
    out = keras.ops.convert_to_numpy(keras.ops.cast(out, "float32"))
    assert np.all(np.isfinite(out)) and not np.allclose(out, x)
    assert augment(keras.Input((16, 16, 3))).dtype == compute_dtype
    # At inference: the pixels in the compute dtype, nothing else.
    expected = keras.ops.convert_to_numpy(keras.ops.cast(keras.ops.cast(x, compute_dtype), "float32"))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(keras.ops.cast(augment(x), "float32")), expected)


@pytest.mark.parametrize("policy", POLICIES)
def test_saved_model_file_round_trip(tmp_path, policy):
    x = images((2, 32, 32, 3))
    model = keras.Sequential(
        [keras.Input((32, 32, 3)), augmentation_pipeline(policy, seed=3), keras.layers.Conv2D(2, 3)]
    )
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe mode, no custom_objects
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    augment = loaded.layers[0]
    assert isinstance(augment, ImageAugmentation) and augment.policy == policy
    assert [type(layer) for layer in augment.augmentations] == [
        type(layer) for layer in model.layers[0].augmentations
    ]
    # The reloaded policy still augments in training, with the same seeds.
    np.testing.assert_array_equal(
        augment(x, training=True), augmentation_pipeline(policy, seed=3)(x, training=True)
    )


def test_argument_errors():
    with pytest.raises(ValueError, match="'heavy'.*none.*light.*standard.*strong"):
        augmentation_pipeline("heavy")
    with pytest.raises(ValueError, match="fill_mode"):
        augmentation_pipeline("light", fill_mode="mirror")
    with pytest.raises(ValueError, match="image_size"):
        augmentation_pipeline("light", image_size=(32,))
    with pytest.raises(ValueError, match="kind"):
        batch_mixing("mosaic")
    with pytest.raises(ValueError, match="strength"):
        batch_mixing("mixup", strength=2.0)


@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_batch_mixing_labels_sum_to_one(kind):
    labels = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0, 1, 2, 3]]
    out = batch_mixing(kind, seed=0)({"images": images((8, 16, 16, 3)), "labels": labels}, training=True)
    assert tuple(out["images"].shape) == (8, 16, 16, 3)
    mixed = np.asarray(out["labels"])
    np.testing.assert_allclose(mixed.sum(axis=-1), 1.0, atol=1e-5)
    assert mixed.min() >= 0.0
    assert not np.array_equal(mixed, labels)  # at least one row was mixed


@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_apply_batch_mixing_on_dataset(kind):
    x = images((16, 16, 16, 1))
    y = np.arange(16) % 3
    ds = apply_batch_mixing(tf.data.Dataset.from_tensor_slices((x, y)).batch(8), kind, num_classes=3, seed=0)
    batches = list(ds)
    assert len(batches) == 2
    for xb, yb in batches:
        assert tuple(xb.shape) == (8, 16, 16, 1) and tuple(yb.shape) == (8, 3)
        assert yb.dtype == tf.float32
        np.testing.assert_allclose(yb.numpy().sum(axis=-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="num_classes"):
        apply_batch_mixing(ds, kind, num_classes=1)
