"""LiteRT export: tiny models of every modality, each quantization, run in ai_edge_litert against Keras."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from edge_models import MODALITIES, TOLERANCE, assert_close, edge_and_keras, tiny_classifier

import mmcnn.image
from mmcnn.export import ExportError, export_litert, load_edge_model, read_litert_metadata
from mmcnn.export.runtimes import read_tflite_metadata

# What the file takes and gives per modality, float32 and int8.
INPUT_DTYPES = {"image": np.uint8, "audio": np.float32, "text": np.int32, "board": np.float32}
# int8 files give float32 probabilities: MediaPipe's classifiers refuse an int8 output.
INT8_IO = {"image": (np.uint8, np.float32), "audio": (np.float32, np.float32), "text": (np.int32, np.float32)}
INT8_IO["board"] = (np.int8, np.float32)


@pytest.fixture(scope="module", params=MODALITIES)
def tiny(request):
    clf, data = tiny_classifier(request.param)
    return request.param, clf, data


@pytest.mark.parametrize("quantize", [None, "float16", "dynamic", "int8"])
def test_converted_file_matches_keras(tiny, quantize, tmp_path):
    modality, clf, data = tiny
    path = (
        clf.export(tmp_path / "model.tflite", format="litert", quantize=quantize, calibration_data=data)
        if quantize
        else clf.export(tmp_path / "model.tflite", format="litert")
    )
    edge = load_edge_model(path)
    x, reference = edge_and_keras(clf, data)
    assert_close(edge(x), reference, TOLERANCE[quantize])
    expected_in = INT8_IO[modality][0] if quantize == "int8" else INPUT_DTYPES[modality]
    assert edge.input["dtype"] == expected_in
    assert edge.input["shape"].tolist() == [1, *clf.edge_endpoint().input_signature[0].shape[1:]]
    if quantize == "int8":
        assert edge.output["dtype"] == INT8_IO[modality][1]
    # The class names travel inside the file and beside it.
    assert edge.class_names == clf.class_names
    assert (tmp_path / "model.labels.txt").read_text().split("\n")[:-1] == clf.class_names
    document = edge.document
    assert document["modality"] == modality and document["quantize"] == quantize
    assert document["preprocessing"] == json.loads(json.dumps(clf.edge_metadata()))


def test_builtin_ops_only(tiny, tmp_path):
    from ai_edge_litert import schema_py_generated as schema

    _, clf, _ = tiny
    data = open(export_litert(clf, tmp_path / "m.tflite"), "rb").read()
    model = schema.ModelT.InitFromPackedBuf(data, 0)
    assert all(code.builtinCode != schema.BuiltinOperator.CUSTOM for code in model.operatorCodes)


def test_sizes_shrink_with_quantization(tmp_path):
    clf, data = tiny_classifier("image")
    sizes = {
        q: os.path.getsize(export_litert(clf, tmp_path / f"{q}.tflite", quantize=q, calibration_data=data))
        for q in (None, "float16", "int8")
    }
    assert sizes["int8"] < sizes["float16"] < sizes[None]


def test_metadata_reads_back_without_the_runtime(tmp_path):
    clf, _ = tiny_classifier("image")
    path = export_litert(clf, tmp_path / "m.tflite")
    entries = read_litert_metadata(path)
    assert entries["mmcnn.labels"].decode().split("\n") == clf.class_names
    assert entries == read_tflite_metadata(open(path, "rb").read())
    document = json.loads(entries["mmcnn.json"])
    assert document["input"]["dtype"] == "uint8" and document["preprocessing"]["image_size"] == [16, 16]


def test_audio_front_end_stays_float_in_int8(tmp_path):
    from ai_edge_litert import schema_py_generated as schema

    clf, data = tiny_classifier("audio")
    model_bytes = open(
        export_litert(clf, tmp_path / "a.tflite", quantize="int8", calibration_data=data), "rb"
    ).read()
    model = schema.ModelT.InitFromPackedBuf(model_bytes, 0)
    names = {code.builtinCode for code in model.operatorCodes}
    assert schema.BuiltinOperator.RFFT2D in names  # the spectrogram, in float
    tensors = model.subgraphs[0].tensors
    front = [t for t in tensors if b"log_mel" in t.name]
    assert front and all(t.type != schema.TensorType.INT8 for t in front)
    assert any(t.type == schema.TensorType.INT8 for t in tensors)


# ------------------------------------------------------------------ errors
class BesselLayer(keras.layers.Layer):
    def call(self, x):
        return tf.math.bessel_i0e(x)  # no built-in LiteRT kernel


def bessel_classifier():
    clf, _ = tiny_classifier("image")
    inner = clf.model
    inputs = keras.Input(inner.input_shape[1:])
    clf._model = keras.Model(inputs, inner(BesselLayer(name="my_bessel")(inputs)))
    return clf


def test_unconvertible_layer_is_named_and_nothing_is_written(tmp_path):
    clf = bessel_classifier()
    with pytest.raises(ExportError, match=r"layer 'my_bessel' uses the op tf\.BesselI0e"):
        export_litert(clf, tmp_path / "bad.tflite")
    assert os.listdir(tmp_path) == []


def test_few_calibration_examples_warn_with_the_number(tmp_path):
    clf, data = tiny_classifier("image")
    with pytest.warns(UserWarning, match="only 40 examples"):
        export_litert(clf, tmp_path / "m.tflite", quantize="int8", calibration_data=data, calibration_size=40)


def test_int8_needs_calibration_data(tmp_path):
    clf, _ = tiny_classifier("image")
    with pytest.raises(ValueError, match="calibration_data"):
        export_litert(clf, tmp_path / "m.tflite", quantize="int8")
    with pytest.raises(ValueError, match="quantize"):
        export_litert(clf, tmp_path / "m.tflite", quantize="int4")


def test_existing_file_kept_unless_overwrite(tmp_path):
    clf, _ = tiny_classifier("image")
    path = tmp_path / "m.tflite"
    path.write_bytes(b"not mine")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_litert(clf, path)
    with pytest.raises(FileExistsError, match="not a .tflite file"):
        export_litert(clf, path, overwrite=True)
    assert path.read_bytes() == b"not mine"
    path.unlink()
    export_litert(clf, path)
    first = path.read_bytes()
    with pytest.raises(FileExistsError):
        export_litert(clf, path, quantize="float16")
    assert path.read_bytes() == first
    export_litert(clf, path, quantize="float16", overwrite=True)
    assert len(path.read_bytes()) < len(first)
    assert sorted(os.listdir(tmp_path)) == ["m.labels.txt", "m.tflite"]


def test_labels_file_with_other_classes_is_kept(tmp_path):
    clf, _ = tiny_classifier("image")
    (tmp_path / "m.labels.txt").write_text("x\ny\n")
    with pytest.raises(FileExistsError, match="other class names"):
        export_litert(clf, tmp_path / "m.tflite")
    assert not (tmp_path / "m.tflite").exists()


def test_classifier_export_dispatch_refuses_quantize_for_other_formats(tmp_path):
    clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
    with pytest.raises(ValueError, match="format='litert' only"):
        clf.export(tmp_path / "m.onnx", format="onnx", quantize="int8")
    with pytest.raises(ValueError, match="format='litert' only"):
        clf.export(tmp_path / "sm", quantize="float16")
    with pytest.raises(ValueError, match="`format` must be one of"):
        clf.export(tmp_path / "m.pt", format="torch")
    assert os.listdir(tmp_path) == []
