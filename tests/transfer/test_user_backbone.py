"""A Keras feature extractor with weights from a file the user has, as the image backbone."""

import keras
import numpy as np
import pytest

import mmcnn


def feature_net(vector=False):
    """A small `keras.applications`-like network: conv, batch norm, conv; a map or a vector out."""
    x = keras.Input((16, 16, 3))
    y = keras.layers.Conv2D(8, 3, strides=2, padding="same", name="conv1")(x)
    y = keras.layers.BatchNormalization(name="bn1")(y)
    y = keras.layers.ReLU(name="relu1")(y)
    y = keras.layers.Conv2D(16, 3, strides=2, padding="same", name="conv2")(y)
    if vector:
        y = keras.layers.GlobalAveragePooling2D(name="pool")(y)
    return keras.Model(x, y, name="feature_net")


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    """A weights file as a user would have one (here from a randomly initialised twin)."""
    path = tmp_path_factory.mktemp("weights") / "feature_net.weights.h5"
    keras.utils.set_random_seed(7)
    feature_net().save_weights(path)
    return str(path)


def images(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    pixels = rng.normal(80 + 100 * labels[:, None, None, None], 30, (n, 16, 16, 3))
    return np.clip(pixels, 0, 255).astype("float32"), labels


SETTINGS = dict(image_size=(16, 16), channels=3, preset="tiny", augmentation="none", batch_size=8)


def test_a_backbone_from_a_weights_file_trains_frozen_first_and_saves(weights_file, tmp_path):
    given = feature_net()
    given.load_weights(weights_file)
    file_weights = [w.copy() for w in given.get_weights()]
    clf = mmcnn.image.ImageClassifier(
        **SETTINGS, class_names=["dark", "bright"], backbone=given, epochs=2, freeze_epochs=1
    )
    backbone = clf.model.get_layer("backbone")
    assert [layer.name for layer in clf.model.layers][2:4] == ["backbone_scaling", "backbone"]
    for ours, theirs in zip(backbone.get_weights(), file_weights):
        np.testing.assert_array_equal(ours, theirs)

    after_frozen = {}

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            after_frozen.setdefault(epoch, [w.copy() for w in self.model.get_layer("backbone").get_weights()])

    x, y = images(16)
    clf.fit(mmcnn.image.from_arrays(x, y, class_names=["dark", "bright"]), callbacks=[Snapshot()], verbose=0)
    for ours, theirs in zip(after_frozen[0], file_weights):  # batch-norm statistics included
        np.testing.assert_array_equal(ours, theirs)
    assert any(not np.array_equal(a, b) for a, b in zip(after_frozen[1], file_weights))
    # The given model itself is left as it was.
    for ours, theirs in zip(given.get_weights(), file_weights):
        np.testing.assert_array_equal(ours, theirs)

    clf.save(tmp_path / "clf.keras")
    loaded = mmcnn.load(tmp_path / "clf.keras")
    np.testing.assert_allclose(loaded.predict_proba(x[:4]), clf.predict_proba(x[:4]), atol=1e-6)
    # The config holds the backbone's architecture (JSON): from_config rebuilds it.
    rebuilt = mmcnn.image.ImageClassifier.from_config(clf.get_config())
    assert rebuilt.model.get_layer("backbone").count_params() == backbone.count_params()


def test_a_keras_file_and_a_vector_output(tmp_path):
    net = feature_net(vector=True)
    net.save(tmp_path / "net.keras")
    clf = mmcnn.image.ImageClassifier(
        **SETTINGS, class_names=["a", "b"], backbone=str(tmp_path / "net.keras"), backbone_input_range=(-1, 1)
    )
    assert clf.get_config()["backbone"] == str(tmp_path / "net.keras")
    x, _ = images(3)
    # The head pools a (1, 1, 16) map: the embedding is the model's own vector.
    expected = net.predict((x / 127.5 - 1).astype("float32"), verbose=0)
    np.testing.assert_allclose(clf.embed(x), expected, atol=1e-5)


def test_backbone_mismatches_name_both_values():
    with pytest.raises(ValueError, match="`backbone` takes 3 channels, this classifier has channels=1"):
        mmcnn.image.ImageClassifier(
            **{**SETTINGS, "channels": 1}, num_classes=2, backbone=feature_net()
        ).build()
    with pytest.raises(
        ValueError, match=r"`backbone` takes images of height 16, this classifier has image_size=\(20, 20\)"
    ):
        mmcnn.image.ImageClassifier(
            **{**SETTINGS, "image_size": (20, 20)}, num_classes=2, backbone=feature_net()
        ).build()
    with pytest.raises(ValueError, match="`backbone` must be None, a Keras model or a `.keras` file path"):
        mmcnn.image.ImageClassifier(num_classes=2, backbone=3)


def test_the_documented_mobilenet_v3_small_example(tmp_path):
    """docs/transfer.md's example, small: keras.applications with weights=None, then the user's file."""

    def network():
        return keras.applications.MobileNetV3Small(
            input_shape=(32, 32, 3), alpha=0.75, minimalistic=True, include_top=False, weights=None
        )

    network().save_weights(tmp_path / "mobilenet.weights.h5")
    net = network()
    net.load_weights(tmp_path / "mobilenet.weights.h5")
    clf = mmcnn.image.ImageClassifier(
        class_names=["a", "b"], image_size=(32, 32), channels=3, backbone=net, backbone_input_range=(0, 255)
    )
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    # MobileNetV3 scales 0..255 itself: the classifier hands it the pixels unchanged.
    np.testing.assert_allclose(
        clf.embed(x), net.predict(x, verbose=0).mean(axis=(1, 2)), rtol=1e-4, atol=1e-5
    )
    clf.save(tmp_path / "clf.keras")
    np.testing.assert_allclose(mmcnn.load(tmp_path / "clf.keras").embed(x), clf.embed(x), atol=1e-6)
