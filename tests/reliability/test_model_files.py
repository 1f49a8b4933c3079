"""Unsafe `.keras` files are refused without running their code; mmcnn's models need no unsafe mode.

The malicious files are made by editing `config.json` inside a real `.keras` zip. The
`mmcnn.load` checks of `check_keras_file`'s message need the lead's patch of
`Classifier.load`; the rest holds with Keras 3.15 alone.
"""

import copy
import json
import os
import pathlib
import re
import zipfile

import keras
import numpy as np
import pytest
from keras.src.saving import serialization_lib

import mmcnn
import mmcnn.audio
import mmcnn.image
import mmcnn.text
from mmcnn.models.classifier import ClassifierModel
from mmcnn.training import UnsafeModelError, check_keras_file

ROOT = pathlib.Path(mmcnn.__file__).parent


def safe_mode_is_on():
    # None is Keras's default (safe); enable_unsafe_deserialization() sets False.
    return serialization_lib.in_safe_mode() is not False


@pytest.fixture(scope="module")
def payload(tmp_path_factory):
    """A real mmcnn classifier file with a Lambda layer whose body touches a marker file."""
    folder = tmp_path_factory.mktemp("unsafe")
    marker = folder / "MARKER"
    clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(8, 8), channels=1, preset="tiny")
    body = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")  # noqa: S307
    inputs = keras.Input((8, 8, 1), name="pixels")
    x = keras.layers.Lambda(body, name="payload")(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    model = ClassifierModel(inputs, outputs, metadata=clf._metadata())
    path = folder / "lambda.keras"
    model.save(path)
    assert marker.exists()  # building the model ran the body: the payload is live
    marker.unlink()
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return {
        "folder": folder,
        "marker": marker,
        "lambda": path,
        "files": files,
        "config": json.loads(files["config.json"]),
    }


def write_variant(payload, name, edit):
    config = copy.deepcopy(payload["config"])
    edit(config["config"]["layers"])
    path = payload["folder"] / name
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in payload["files"].items():
            archive.writestr(member, json.dumps(config) if member == "config.json" else data)
    return path


def replace_lambda(module, class_name, config):
    def edit(layers):
        for layer in layers:
            if layer["class_name"] == "Lambda":
                layer.update(module=module, class_name=class_name, config=config, registered_name=None)

    return edit


def variants(payload):
    marker, folder = str(payload["marker"]), str(payload["folder"])
    evil_first = {
        "module": "keras.config",
        "class_name": "enable_unsafe_deserialization",
        "config": {},
        "registered_name": None,
        "name": "evil",
        "inbound_nodes": [],
    }
    return {
        "lambda": payload["lambda"],
        "os_system": write_variant(
            payload, "os.keras", replace_lambda("os", "system", {"command": f"touch {marker}"})
        ),
        # The unsafe switch first, then the Lambda: had it run, the Lambda would load next.
        "enable_unsafe": write_variant(payload, "unsafe.keras", lambda layers: layers.insert(0, evil_first)),
        # A "download" from a file:// URL would copy a file to the marker's path.
        "get_file": write_variant(
            payload,
            "get_file.keras",
            replace_lambda(
                "keras.utils",
                "get_file",
                {
                    "fname": "MARKER",
                    "origin": "file:///etc/hostname",
                    "cache_dir": folder,
                    "cache_subdir": ".",
                },
            ),
        ),
        "os_activation": write_variant(
            payload,
            "activation.keras",
            lambda layers: [
                layer["config"].update(
                    activation={
                        "module": "os",
                        "class_name": "function",
                        "config": "system",
                        "registered_name": "system",
                    }
                )
                for layer in layers
                if layer["class_name"] == "Dense"
            ],
        ),
    }


@pytest.mark.parametrize("case", ["lambda", "os_system", "enable_unsafe", "get_file", "os_activation"])
def test_unsafe_files_are_refused_and_run_nothing(payload, case):
    path = variants(payload)[case]
    with pytest.raises((ValueError, TypeError)):
        keras.saving.load_model(path)  # safe mode, the default
    assert not payload["marker"].exists() and safe_mode_is_on()
    with pytest.raises(UnsafeModelError, match=re.escape(str(path))):
        mmcnn.load(path)
    assert not payload["marker"].exists() and safe_mode_is_on()
    with pytest.raises(UnsafeModelError):
        check_keras_file(path)


def test_the_lambda_payload_would_run_outside_safe_mode(payload):
    # Proves the refusal above matters: the same file, loaded unsafely, runs its code.
    unsafe = {"safe_mode": False}
    keras.saving.load_model(payload["lambda"], **unsafe)
    assert payload["marker"].exists()
    payload["marker"].unlink()
    assert safe_mode_is_on()


def test_mmcnn_never_turns_safe_mode_off():
    offenders = []
    for path in ROOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ("enable_unsafe_deserialization", r"safe_mode\s*=\s*False", r"\bLambda\("):
            if re.search(needle, text):
                offenders.append(f"{path.relative_to(ROOT.parent)}: {needle}")
    assert offenders == []


def classifiers():
    image = mmcnn.image.ImageClassifier(
        num_classes=2, image_size=(8, 8), channels=1, preset="tiny", augmentation="standard"
    )
    audio = mmcnn.audio.AudioClassifier(num_classes=2, clip_seconds=0.25, preset="tiny", n_mels=16)
    text = mmcnn.text.TextClassifier(
        num_classes=2, max_tokens=16, min_frequency=1, embedding_dim=8, filters=4
    )
    text.adapt(["a good film", "a bad film"])
    rng = np.random.default_rng(0)
    return {
        "image": (image, rng.uniform(0, 255, (2, 8, 8, 1)).astype("float32")),
        "audio": (audio, rng.uniform(-0.5, 0.5, (2, 4000)).astype("float32")),
        "text": (text, np.array(["a good film", "bad"], dtype=object)),
    }


@pytest.mark.parametrize("modality", ["image", "audio", "text"])
def test_mmcnn_models_clone_and_load_in_safe_mode(tmp_path, modality):
    clf, x = classifiers()[modality]
    expected = clf.model.predict(x, verbose=0)
    assert not [layer.name for layer in clf.model._flatten_layers() if isinstance(layer, keras.layers.Lambda)]
    clone = keras.models.clone_model(clf.model)
    clone.set_weights(clf.model.get_weights())
    np.testing.assert_allclose(clone.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    path = tmp_path / f"{modality}.keras"
    clf.save(path)
    check_keras_file(path)  # a genuine mmcnn file passes the check
    loaded = keras.saving.load_model(path)  # safe mode
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    again = mmcnn.load(path)
    assert type(again) is type(clf) and again.class_names == clf.class_names
    assert safe_mode_is_on()


def test_check_keras_file_names_a_file_that_is_not_an_archive(tmp_path):
    path = tmp_path / "junk.keras"
    path.write_bytes(os.urandom(100))
    with pytest.raises(ValueError, match="not a readable .keras file"):
        check_keras_file(path)
