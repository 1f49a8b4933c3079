"""Every LiteRT and ONNX export checks its file against the Keras model on held-out data; file names
follow the format; the labels file is named after its model file."""

import json
import logging
import os

import pytest
from edge_models import tiny_classifier

import mmcnn.image
from mmcnn.export import ExportError, export_litert, export_onnx
from mmcnn.export.edge import read_edge_document


@pytest.fixture(scope="module")
def sharp_text():
    """A tiny text classifier whose temperature multiplies its logits by 12 (what a split of 24
    examples once fitted): near-equal probabilities become decided ones, which int8 cannot follow."""
    clf, data = tiny_classifier("text")
    clf._set_temperature(0.083)
    return clf, data


def test_int8_that_disagrees_is_refused_and_nothing_is_written(sharp_text, tmp_path):
    clf, data = sharp_text
    with pytest.raises(ExportError, match=r"disagrees with the Keras model: same top class .*bound is 95%"):
        export_litert(clf, tmp_path / "m.tflite", quantize="int8", calibration_data=data)
    assert os.listdir(tmp_path) == []


def test_agreement_is_logged_and_stored_in_the_file(sharp_text, tmp_path, caplog):
    clf, data = sharp_text
    with caplog.at_level(logging.INFO, logger="mmcnn"):
        path = export_litert(clf, tmp_path / "m.tflite", quantize="dynamic", check_data=data)
    agreement = read_edge_document(path)["agreement"]
    assert agreement["agreement"] >= 0.99 and agreement["bound"] == 0.99 and agreement["decided"] > 20
    assert any("decides as the Keras model on" in r.getMessage() for r in caplog.records)
    path = export_onnx(clf, tmp_path / "m.onnx", check_data=data)
    assert read_edge_document(path)["agreement"]["agreement"] == 1.0
    # Without held-out data the file says it was not checked.
    path = export_litert(clf, tmp_path / "plain.tflite")
    assert "no held-out data" in read_edge_document(path)["agreement"]


def test_two_models_share_a_folder(tmp_path):
    for name, classes in (("first", ["a", "b"]), ("second", ["x", "y", "z"])):
        clf = mmcnn.image.ImageClassifier(class_names=classes, image_size=(16, 16), channels=1, preset="tiny")
        export_litert(clf, tmp_path / f"{name}.tflite")
        assert (tmp_path / f"{name}.labels.txt").read_text().split() == classes
    assert sorted(os.listdir(tmp_path)) == [
        "first.labels.txt",
        "first.tflite",
        "second.labels.txt",
        "second.tflite",
    ]


def test_a_name_of_another_format_is_refused(tmp_path):
    clf = mmcnn.image.ImageClassifier(class_names=["a", "b"], image_size=(16, 16), channels=1, preset="tiny")
    with pytest.raises(ValueError, match=r"format='litert' writes a \.tflite file, but .* ends in \.onnx"):
        clf.export(tmp_path / "m.onnx", format="litert")
    with pytest.raises(ValueError, match=r"format='onnx' writes a \.onnx file, but .* ends in \.tflite"):
        clf.export(tmp_path / "m.tflite", format="onnx")
    with pytest.raises(ValueError, match=r"format='saved_model' writes a directory.*\.tflite"):
        clf.export(tmp_path / "m.tflite")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("modality", ["audio", "text"])
def test_successful_onnx_export_prints_nothing(modality, tmp_path, capfd):
    """tf2onnx logs the ops it fails on and recovers from (audio: ComplexAbs at a free batch size;
    text: 'NoneType' object has no attribute 'name'): none of it reaches the terminal."""
    clf, data = tiny_classifier(modality)
    capfd.readouterr()
    path = export_onnx(clf, tmp_path / "m.onnx", check_data=data)
    out, err = capfd.readouterr()
    assert os.path.isfile(path)
    assert out == "" and err == "", (out, err)
    assert json.loads(json.dumps(read_edge_document(path)["agreement"]))["agreement"] in (None, 1.0)
