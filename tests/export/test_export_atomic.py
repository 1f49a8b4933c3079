"""An export appears whole or not at all, and replaces an older one only when asked."""

import doctest
import hashlib
import os

import pytest
import tensorflow as tf

import mmcnn.image
from mmcnn.export import Endpoint, export_classifier, exporter, read_metadata


def tree_digest(path):
    """Relative path -> sha256 of every file under `path`."""
    digest = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            with open(full, "rb") as f:
                digest[os.path.relpath(full, path)] = hashlib.sha256(f.read()).hexdigest()
    return digest


def leftovers(folder, keep):
    return sorted(set(os.listdir(folder)) - set(keep))


@pytest.fixture(scope="module")
def classifiers():
    def make(names):
        return mmcnn.image.ImageClassifier(class_names=names, image_size=(8, 8), channels=1, preset="tiny")

    return make(["old_a", "old_b"]), make(["new_a", "new_b", "new_c"])


@pytest.fixture(scope="module")
def first_export(classifiers, tmp_path_factory):
    folder = tmp_path_factory.mktemp("atomic")
    path = export_classifier(classifiers[0], folder / "model")
    return folder, path


def failing_endpoint():
    def explode(pixels):
        raise RuntimeError("failure while tracing, on purpose")

    return Endpoint(
        "broken",
        explode,
        [tf.TensorSpec([None, 8, 8, 1], tf.float32, name="pixels")],
        "raises during tracing",
    )


def test_existing_export_is_not_overwritten_by_default(classifiers, first_export):
    folder, path = first_export
    before = tree_digest(path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        classifiers[1].export(path)
    assert tree_digest(path) == before
    assert leftovers(folder, ["model"]) == []


def test_failure_midway_leaves_previous_export_and_no_temp_dir(classifiers, first_export):
    folder, path = first_export
    before = tree_digest(path)
    with pytest.raises(RuntimeError, match="on purpose"):
        export_classifier(classifiers[1], path, overwrite=True, extra_endpoints=[failing_endpoint()])
    assert tree_digest(path) == before
    assert read_metadata(path)["class_names"] == ["old_a", "old_b"]
    assert leftovers(folder, ["model"]) == []
    # and the previous export still serves
    served = tf.saved_model.load(path).signatures["features"](pixels=tf.zeros((2, 8, 8, 1)))
    assert served["probabilities"].shape == (2, 2)


def test_failure_on_a_new_path_leaves_nothing(classifiers, tmp_path):
    with pytest.raises(RuntimeError, match="on purpose"):
        export_classifier(classifiers[1], tmp_path / "fresh", extra_endpoints=[failing_endpoint()])
    assert os.listdir(tmp_path) == []


def test_refuses_to_replace_something_that_is_not_an_export(classifiers, tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not a SavedModel directory"):
        classifiers[1].export(precious, overwrite=True)
    assert (precious / "keep.txt").read_text() == "mine"
    assert leftovers(tmp_path, ["notes"]) == []


def test_overwrite_replaces_the_export_and_cleans_up(classifiers, first_export):
    folder, path = first_export
    export_classifier(classifiers[1], path, overwrite=True)
    assert read_metadata(path)["class_names"] == ["new_a", "new_b", "new_c"]
    assert leftovers(folder, ["model"]) == []
    served = tf.saved_model.load(path).signatures["features"](pixels=tf.zeros((1, 8, 8, 1)))
    assert served["probabilities"].shape == (1, 3)


def test_rejects_objects_that_are_not_classifiers(tmp_path):
    with pytest.raises(ValueError, match="must be an mmcnn image, audio or text classifier"):
        export_classifier(object(), tmp_path / "x")
    assert os.listdir(tmp_path) == []


def test_docstring_examples_run():
    results = doctest.testmod(exporter, verbose=False)
    assert results.attempted > 0 and results.failed == 0
