"""Scoring converted files in their runtimes (`Classifier.evaluate(model_file=...)`), text end to end,
and the errors when an optional runtime is missing."""

import sys

import numpy as np
import pytest
from edge_models import tiny_classifier

import mmcnn.text
from mmcnn.export import export_litert, export_onnx, load_edge_model


@pytest.mark.parametrize("quantize", [None, "int8"])
def test_evaluate_a_model_file_next_to_keras(quantize, tmp_path):
    clf, data = tiny_classifier("image")
    path = export_litert(clf, tmp_path / "m.tflite", quantize=quantize, calibration_data=data)
    metrics = clf.evaluate(data, model_file=path)
    keras_metrics = clf.evaluate(data)
    assert metrics["keras_accuracy"] == pytest.approx(keras_metrics["accuracy"])
    assert metrics["num_examples"] == len(data) and metrics["format"] == "litert"
    assert metrics["file_size_bytes"] == (tmp_path / "m.tflite").stat().st_size
    assert metrics["latency_ms_batch1"] > 0
    assert metrics["max_abs_diff"] < (1e-5 if quantize is None else 5e-2)
    if quantize is None:
        assert metrics["accuracy"] == metrics["keras_accuracy"] and metrics["agreement"] == 1.0
    assert set(keras_metrics) <= set(metrics)


def test_audio_evaluate_with_a_model_file(tmp_path):
    clf, data = tiny_classifier("audio")
    path = export_onnx(clf, tmp_path / "a.onnx")
    metrics = clf.evaluate(data, model_file=path)
    assert metrics["agreement"] == 1.0 and metrics["max_abs_diff"] < 1e-5


def test_a_file_of_other_classes_is_refused(tmp_path):
    clf, data = tiny_classifier("image")
    other = mmcnn.image.ImageClassifier(
        class_names=["x", "y", "z"], image_size=(16, 16), channels=1, preset="tiny"
    )
    path = export_litert(other, tmp_path / "m.tflite")
    with pytest.raises(ValueError, match="holds classes"):
        clf.evaluate(data, model_file=path)


def test_raw_text_through_python_tokenizer_and_tflite(tmp_path):
    clf, data = tiny_classifier("text")
    path = export_litert(clf, tmp_path / "t.tflite", quantize="float16")
    edge = load_edge_model(path)
    # What an app does: the tokenizer from the settings inside the file, then the interpreter.
    tokenizer = mmcnn.text.PythonTokenizer.from_config(edge.document["preprocessing"]["tokenizer"])
    texts = [*data.inputs[:40], "", "Ünïcödé\u00a0words\tand  SPACES", "x" * 3000]
    ids = tokenizer(texts)
    np.testing.assert_array_equal(ids, clf.edge_inputs(clf.preprocess(texts)))
    assert [edge.class_names[i] for i in np.argmax(edge(ids), -1)] == clf.predict(texts)["labels"]


@pytest.mark.parametrize("export, suffix", [(export_litert, "tflite"), (export_onnx, "onnx")])
def test_default_text_mode_through_python_tokenizer(export, suffix, tmp_path):
    # The default tokenizer mode (unicode_script) runs without TensorFlow too.
    texts = ["abc,123 déjà-vu!", "ΟΔΟΣ-abc 日本語のテキスト", "e\u0301 😀👍🏽a 1/2", "x,y;z"] * 3
    clf = mmcnn.text.TextClassifier(class_names=["a", "b", "c"], max_tokens=12, min_frequency=1, filters=4)
    clf.adapt(texts[:2])
    assert clf.tokenizer.mode == "unicode_script"
    edge = load_edge_model(export(clf, tmp_path / f"t.{suffix}"))
    assert "gives the same ids" in edge.document["preprocessing"]["python_tokenizer"]
    tokenizer = mmcnn.text.PythonTokenizer.from_config(edge.document["preprocessing"]["tokenizer"])
    ids = tokenizer(texts)
    np.testing.assert_array_equal(ids, clf.edge_inputs(clf.preprocess(texts)))
    np.testing.assert_allclose(edge(ids), clf.predict_proba(texts), atol=1e-5)


def test_unreproduced_tokenizer_mode_is_said_in_the_metadata():
    clf = mmcnn.text.TextClassifier(num_classes=2, mode="wordpiece", max_tokens=8, min_frequency=1)
    clf.adapt(["a b", "c d"])
    assert "not reproduced" in clf.edge_metadata()["python_tokenizer"]


@pytest.mark.parametrize(
    "module, suffix, extra",
    [("ai_edge_litert.interpreter", "tflite", "lite"), ("onnxruntime", "onnx", "onnx")],
)
def test_missing_runtime_names_the_extra(module, suffix, extra, tmp_path, monkeypatch):
    path = tmp_path / f"m.{suffix}"
    path.write_bytes(b"\0" * 16)
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ImportError, match=rf'pip install "mmcnn\[{extra}\]"'):
        load_edge_model(path)


def test_missing_tf2onnx_names_the_extra(tmp_path, monkeypatch):
    clf, _ = tiny_classifier("image")
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    with pytest.raises(ImportError, match=r'pip install "mmcnn\[onnx\]"'):
        export_onnx(clf, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
