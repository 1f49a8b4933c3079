"""Image export: encoded bytes / pixels in, checked by plain TensorFlow in a fresh process."""

import io
import json
import os

import numpy as np
import pytest
from export_checks import (
    FORBIDDEN,
    assert_matches_predict,
    graph_op_types,
    run_saved_model_cli,
    serve_in_fresh_process,
)
from PIL import Image

import mmcnn
import mmcnn.image

CLASS_NAMES = ["cat", "dog", "emu"]


def encode(array, fmt, **kwargs):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def sample_files():
    """Seven files of four formats, several sizes and channel counts."""
    rng = np.random.default_rng(0)

    def pixels(h, w, c=None):
        return rng.integers(0, 256, (h, w) if c is None else (h, w, c), dtype=np.uint8)

    return [
        encode(pixels(20, 30, 3), "PNG"),
        encode(pixels(24, 24, 3), "JPEG", quality=90),
        encode(pixels(17, 23, 3), "BMP"),
        encode(pixels(16, 16), "GIF"),
        encode(pixels(40, 12), "PNG"),
        encode(pixels(18, 26, 4), "PNG"),
        encode(pixels(33, 33, 3), "JPEG"),
    ]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    clf = mmcnn.image.ImageClassifier(class_names=CLASS_NAMES, image_size=(16, 16), channels=1, preset="tiny")
    path = clf.export(tmp_path_factory.mktemp("image") / "model")
    return clf, path


@pytest.mark.slow
def test_serving_matches_predict_in_fresh_process(exported, tmp_path):
    clf, path = exported
    files = sample_files()
    rng = np.random.default_rng(1)
    any_size = rng.uniform(0, 255, (7, 21, 27, 3)).astype("float32")
    model_size = rng.uniform(0, 255, (7, 16, 16, 1)).astype("float32")
    calls, expected = [], []
    for n in (1, 7):
        calls.append(("serving_default", {"image_bytes": np.array(files[:n], dtype=object)}))
        expected.append(clf.predict(files[:n]))
        calls.append(("pixels", {"pixels": any_size[:n]}))
        expected.append(clf.predict(any_size[:n]))
        calls.append(("features", {"pixels": model_size[:n]}))
        expected.append(clf.predict(model_size[:n]))
    results = serve_in_fresh_process(path, calls, tmp_path, "image")
    for (signature, inputs), outputs, want in zip(calls, results, expected):
        assert outputs["probabilities"].shape == (len(next(iter(inputs.values()))), 3), signature
        assert_matches_predict(outputs, want)


def test_graph_has_no_file_or_python_ops(exported):
    ops = graph_op_types(exported[1])
    assert "DecodeImage" in ops  # the walk does reach the function bodies
    assert not ops & FORBIDDEN


def test_metadata_asset(exported):
    clf, path = exported
    with open(os.path.join(path, "assets.extra", "mmcnn.json")) as f:
        meta = json.load(f)
    assert meta["modality"] == "image"
    assert meta["class_names"] == CLASS_NAMES
    assert meta["preprocessing"]["image_size"] == [16, 16]
    assert meta["preprocessing"]["channels"] == 1
    assert meta["mmcnn_version"] == mmcnn.__version__
    assert set(meta["signatures"]) == {"serving_default", "pixels", "features", "embedding"}
    # What each signature returns is read from the traced function, so new outputs are listed.
    assert set(meta["signatures"]["embedding"]["outputs"]) >= {"embedding", "probabilities", "class_name"}
    assert meta["signatures"]["serving_default"]["outputs"]["class_id"] == {"dtype": "int64", "shape": [None]}
    assert meta["signatures"]["serving_default"]["inputs"] == {
        "image_bytes": {"dtype": "string", "shape": [None]}
    }


@pytest.mark.slow
def test_saved_model_cli_show_and_run(exported, tmp_path):
    path = exported[1]
    shown = run_saved_model_cli("show", "--dir", path, "--all")
    for signature in ("serving_default", "pixels", "features"):
        assert f"signature_def['{signature}']" in shown
    assert "inputs['image_bytes'] tensor_info:\n        dtype: DT_STRING" in shown
    assert "inputs['pixels'] tensor_info:\n        dtype: DT_FLOAT" in shown
    for output in ("probabilities", "class_id", "class_name"):
        assert f"outputs['{output}']" in shown

    # Encoded bytes from a .npy file (bytes dtype: PNG files never end in NUL).
    np.save(tmp_path / "images.npy", np.array(sample_files()[:1]))
    ran = run_saved_model_cli(
        "run",
        "--dir",
        path,
        "--tag_set",
        "serve",
        "--signature_def",
        "serving_default",
        "--inputs",
        f"image_bytes={tmp_path / 'images.npy'}",
        cwd=tmp_path,
    )
    assert "class_name" in ran and "probabilities" in ran


def test_export_refuses_undecodable_bytes_at_serving_time(exported):
    import tensorflow as tf

    model = tf.saved_model.load(exported[1])
    with pytest.raises(tf.errors.InvalidArgumentError):
        model.signatures["serving_default"](image_bytes=tf.constant([b"not an image"]))
