"""ImageClassifier end to end: a tiny fit on real PNG files, save/load, inference paths, evaluate.

One small model is trained once per module (horizontal against vertical
stripes, 16x16 grey PNGs written with PIL into a temporary folder) and shared
by the tests that need trained weights.
"""

import io

import keras
import numpy as np
import pytest
from PIL import Image

import mmcnn
import mmcnn.image as mi
from mmcnn.models import pipeline as classifier_module
from mmcnn.testing import run_layer_test

SIZE = (16, 16)


def stripes(orientation, phase, width=2, size=SIZE):
    rows, cols = np.indices(size)
    coord = rows if orientation == "horizontal" else cols
    return np.where(((coord + phase) // width) % 2 == 0, 230, 25).astype(np.uint8)


@pytest.fixture(scope="module")
def stripe_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("stripes")
    rng = np.random.default_rng(0)
    for orientation in ("horizontal", "vertical"):
        (root / orientation).mkdir()
        for i in range(24):
            image = stripes(orientation, phase=i % 4, width=2 + i % 3).astype(np.int16)
            image = np.clip(image + rng.integers(-20, 21, image.shape), 0, 255).astype(np.uint8)
            Image.fromarray(image).save(root / orientation / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def trained(stripe_folder):
    data = mi.from_directory(stripe_folder, verbose=0)
    clf = mi.ImageClassifier(
        image_size=SIZE,
        channels=1,
        preset="tiny",
        augmentation="light",
        epochs=12,
        batch_size=8,
        learning_rate=3e-3,
        seed=1,
    )
    history = clf.fit(data, validation_split=0.25, class_weight="balanced", verbose=0)
    return clf, data, history


@pytest.mark.slow
def test_fit_learns_stripes_and_evaluate_reports(trained):
    clf, data, history = trained
    assert clf.class_names == ["horizontal", "vertical"]
    assert min(history.history["val_loss"]) < history.history["val_loss"][0]
    report = clf.evaluate(data)
    assert report["accuracy"] >= 0.9, report
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix", "labels"} <= set(report)
    assert report["labels"] == clf.class_names
    confusion = np.asarray(report["confusion_matrix"])
    assert confusion.shape == (2, 2) and confusion.sum() == len(data)
    np.testing.assert_array_equal(confusion.sum(axis=1), data.class_counts())
    assert set(report["per_class"]) == {"horizontal", "vertical"}
    assert all(report["per_class"][name]["support"] == 24 for name in clf.class_names)
    assert 0.9 <= report["macro_f1"] <= 1.0


@pytest.mark.slow
def test_predict_files_bytes_and_arrays_agree(trained, stripe_folder):
    clf, _, _ = trained
    # Another size than the model's: every path must resize the same way.
    paths = []
    for k, orientation in enumerate(("horizontal", "vertical", "horizontal")):
        path = stripe_folder / f"probe{k}.png"
        Image.fromarray(stripes(orientation, k, size=(24, 20))).save(path)
        paths.append(str(path))
    by_path = clf.predict(paths)
    by_bytes = clf.predict([open(p, "rb").read() for p in paths])
    decoded = [np.asarray(Image.open(p)) for p in paths]
    by_list = clf.predict(decoded)
    by_batch = clf.predict(np.stack(decoded))
    for other in (by_bytes, by_list, by_batch):
        np.testing.assert_allclose(other["probabilities"], by_path["probabilities"], atol=1e-5)
        assert other["labels"] == by_path["labels"]
    assert by_path["labels"] == ["horizontal", "vertical", "horizontal"]
    assert by_path["probabilities"].shape == (3, 2)
    np.testing.assert_allclose(by_path["probabilities"].sum(axis=1), 1.0, atol=1e-5)
    assert by_path["class_names"] == clf.class_names
    single = clf.predict(paths[1])
    assert single["labels"] == ["vertical"]
    with pytest.raises(mi.ImageError, match=r"inputs\[1\] \(bytes\)"):
        clf.predict([open(paths[0], "rb").read(), b"not an image"])
    with pytest.raises(mi.ImageError, match="missing.png"):
        clf.predict([str(stripe_folder / "missing.png")])


@pytest.mark.slow
def test_save_and_load_give_identical_predictions(trained, tmp_path):
    clf, data, _ = trained
    path = tmp_path / "stripes.keras"
    clf.save(path)
    loaded = mmcnn.load(path)
    assert isinstance(loaded, mi.ImageClassifier)
    assert loaded.class_names == clf.class_names
    assert loaded.image_size == clf.image_size and loaded.channels == 1
    assert loaded.augmentation == clf.augmentation and loaded.preset == "tiny"
    files = data.inputs[::6]
    np.testing.assert_array_equal(loaded.predict(files)["probabilities"], clf.predict(files)["probabilities"])
    # The classifier class is optional: plain Keras loads it as a working model too.
    plain = keras.saving.load_model(path)
    batch = clf.preprocess(files)
    np.testing.assert_allclose(
        plain.predict(batch, verbose=0), clf.model.predict(batch, verbose=0), atol=1e-6
    )


@pytest.mark.slow
def test_augmentation_is_identity_at_inference(trained):
    clf, data, _ = trained
    strong = mi.ImageClassifier(
        class_names=clf.class_names, image_size=SIZE, channels=1, preset="tiny", augmentation="strong", seed=3
    )
    plain = mi.ImageClassifier(
        class_names=clf.class_names, image_size=SIZE, channels=1, preset="tiny", augmentation="none", seed=4
    )
    # Same trained weights in both; the augmentation layer holds none (only random state).
    for model in (strong.model, plain.model):
        for name in ("adapter", "backbone", "head"):
            model.get_layer(name).set_weights(clf.model.get_layer(name).get_weights())
    files = data.inputs[:8]
    first = strong.predict(files)["probabilities"]
    np.testing.assert_array_equal(first, strong.predict(files)["probabilities"])
    np.testing.assert_allclose(first, plain.predict(files)["probabilities"], atol=1e-6)
    np.testing.assert_allclose(first, clf.predict(files)["probabilities"], atol=1e-6)
    # ... while in training mode the strong policy does change the pixels.
    pixels = clf.preprocess(files)
    augmented = strong.model.get_layer("augmentation")(pixels, training=True)
    assert not np.allclose(np.asarray(augmented), pixels)


def test_labels_travel_and_order_is_kept(stripe_folder, tmp_path):
    data = mi.from_directory(stripe_folder, class_names=["vertical", "horizontal"], verbose=0)
    clf = mi.ImageClassifier(
        class_names=["vertical", "horizontal"], image_size=SIZE, channels=1, preset="tiny"
    )
    clf.save(tmp_path / "m.keras")
    assert mmcnn.load(tmp_path / "m.keras").class_names == ["vertical", "horizontal"]
    other = mi.ImageClassifier(class_names=["a", "b"], image_size=SIZE, channels=1, preset="tiny")
    with pytest.raises(mmcnn.data.DataError, match="classes"):
        other.evaluate(data)


def test_same_seed_same_weights():
    def weights(seed):
        clf = mi.ImageClassifier(num_classes=3, image_size=SIZE, channels=3, preset="tiny", seed=seed)
        return clf.model.get_weights()

    for a, b in zip(weights(5), weights(5)):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(weights(5), weights(6)))


def test_presets_build_and_defaults():
    clf = mi.ImageClassifier(num_classes=4)
    assert clf.preset == "compact" and clf.augmentation == mi.image_classifier.DEFAULT_AUGMENTATION
    assert clf.image_size == "auto" and clf.channels == "auto" and clf.mixing is None
    # Built before any data: the documented fallback, 32x32 RGB, which the config then holds.
    assert clf.model.input_shape == (None, 32, 32, 3)
    assert clf.get_config()["image_size"] == (32, 32) and clf.get_config()["channels"] == 3
    for preset in ("tiny", "compact", "small", "mobile", "resnet"):
        model = mi.ImageClassifier(num_classes=4, image_size=SIZE, channels=1, preset=preset).model
        assert model.output_shape == (None, 4)
        assert model.input_shape == (None, *SIZE, 1)


@pytest.mark.parametrize(
    "image_size, pooling, features, stride",
    [
        ((28, 28), "flatten", 7 * 7 * 128, 1),
        ((32, 32), "flatten", 8 * 8 * 128, 1),
        ((64, 64), "flatten", 8 * 8 * 128, 2),
        ((256, 256), "avg", 128, 4),
    ],
)
def test_default_preset_flattens_small_maps_and_averages_large_ones(image_size, pooling, features, stride):
    # "compact": the stem and the first stage each halve the map; "auto" flattens up to 8,192 values.
    # Above 32x32 the stem strides (up to 4) so that the stages see about 32x32.
    clf = mi.ImageClassifier(num_classes=3, image_size=image_size, channels=1)
    head = clf.model.get_layer("head")
    assert head.pooling == pooling
    assert clf.model.get_layer("adapter").strides == stride
    assert clf.model.get_layer("adapter").output.shape[1:3] == tuple(n // 2 // stride for n in image_size)
    assert head.dense.kernel.shape == (features, 3)
    # The resolved pooling is what the saved model holds: the file loads without the preset.
    assert head.get_config()["pooling"] == pooling
    assert clf.embed(np.zeros((2, *image_size), "uint8")).shape == (2, features)


@pytest.mark.parametrize(
    "per_class, policy", [(20, "light"), (mi.image_classifier.AUTO_AUGMENTATION_UNTIL, "flip")]
)
def test_auto_augmentation_follows_the_training_data_size(per_class, policy, tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], per_class)
    data = mi.from_arrays(rng.integers(0, 256, (len(labels), 8, 8), dtype=np.uint8), labels)
    clf = mi.ImageClassifier(image_size=(8, 8), channels=1, preset="tiny")
    assert clf.augmentation == "auto"
    model = clf.prepare(data)
    assert clf.augmentation_policy() == policy
    assert model.get_layer("augmentation").policy == policy
    # The resolved policy is what the file holds, and the config still says "auto".
    clf.save(tmp_path / "m.keras")
    back = mi.ImageClassifier.load(tmp_path / "m.keras")
    assert back.model.get_layer("augmentation").policy == policy and back.augmentation == "auto"


def test_auto_augmentation_before_any_data_is_light():
    clf = mi.ImageClassifier(num_classes=2, image_size=(8, 8), channels=1, preset="tiny")
    assert clf.model.get_layer("augmentation").policy == "light"


def test_default_preset_averages_a_given_backbones_features():
    backbone = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Conv2D(4, 3, strides=4)])
    clf = mi.ImageClassifier(num_classes=3, image_size=(16, 16), channels=1, backbone=backbone)
    assert clf.preset == "compact" and clf.model.get_layer("head").pooling == "avg"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"augmentation": "medium"}, "augmentation"),
        ({"preset": "huge"}, "preset"),
        ({"image_size": (16,)}, "image_size"),
        ({"channels": 2}, "channels"),
        ({"resize_mode": "squash"}, "resize_mode"),
        ({"mixing": "blend"}, "mixing"),
        ({"num_classes": 1}, "num_classes"),
    ],
)
def test_invalid_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mi.ImageClassifier(**{"num_classes": 2, **kwargs})


@pytest.mark.slow
@pytest.mark.parametrize("mixing", ["mixup", "cutmix"])
def test_mixing_trains_with_soft_labels(stripe_folder, mixing):
    data = mi.from_directory(stripe_folder, verbose=0)
    clf = mi.ImageClassifier(
        image_size=SIZE,
        channels=1,
        preset="tiny",
        augmentation="none",
        mixing=mixing,
        epochs=1,
        batch_size=16,
    )
    train, val = data.split(0.25)
    history = clf.fit(train, validation_data=val, verbose=0)
    assert np.isfinite(history.history["loss"][0]) and "val_accuracy" in history.history
    assert isinstance(clf.model.loss, keras.losses.CategoricalCrossentropy)
    images, labels = next(iter(clf.make_dataset(train, training=True, batch_size=16)))
    assert labels.shape == (16, 2)
    np.testing.assert_allclose(np.sum(labels, axis=-1), 1.0, atol=1e-5)
    assert clf.evaluate(val)["confusion_matrix"]


@pytest.mark.parametrize(
    "kwargs, size",
    [({"strides": 2}, 8), ({"pooling": "max"}, 8), ({"strides": 2, "pooling": "avg"}, 4)],
    ids=["strided", "pooled", "both"],
)
def test_image_adapter_layer(kwargs, size):
    run_layer_test(
        mi.ImageAdapter,
        {"filters": 4, "kernel_size": 3, **kwargs},
        np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype("float32"),
        expected_output_shape=(2, size, size, 4),
    )


@pytest.mark.parametrize("epochs", [1, None], ids=["epoch_dataset", "plain"])
def test_training_batches_mix_classes_listed_in_order(monkeypatch, epochs):
    # Data read folder by folder is sorted by class. With more examples than the shuffle buffer
    # holds, a window shuffle alone gave batches of one class, drifting through the classes
    # within each epoch (Fashion-MNIST from PNG folders: 0.896 against 0.913 from arrays).
    monkeypatch.setattr(classifier_module, "SHUFFLE_BUFFER", 64)
    labels = np.repeat(np.arange(4), 150)
    data = mi.from_arrays(np.zeros((600, 4, 4), np.uint8), labels, class_names=list("abcd"))
    clf = mi.ImageClassifier(num_classes=4, image_size=(4, 4), channels=1, preset="tiny", augmentation="none")
    batches = [y.numpy() for _, y in clf.make_dataset(data, training=True, batch_size=32, epochs=epochs)]
    assert sum(len(b) for b in batches) == 600
    for batch in (batches[0], batches[len(batches) // 2], batches[-2]):
        assert len(np.unique(batch)) == 4, batch


def test_mixed_bfloat16_classifier_gives_float32_probabilities():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        clf = mi.ImageClassifier(num_classes=2, image_size=SIZE, channels=1, preset="tiny")
        assert clf.model.get_layer("adapter").compute_dtype == "bfloat16"
        assert clf.model.output.dtype == "float32"
        pixels = np.random.default_rng(0).uniform(0, 255, (3, *SIZE, 1)).astype("float32")
        probabilities = clf.predict_proba(pixels)
    finally:
        keras.config.set_dtype_policy(previous)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-6)


@pytest.mark.slow
def test_encoded_bytes_round_trip_matches_pil(trained):
    clf, _, _ = trained
    image = stripes("vertical", 1)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    np.testing.assert_array_equal(clf.preprocess([buffer.getvalue()])[0, ..., 0], image.astype("float32"))
