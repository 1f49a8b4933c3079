"""ONNX export: tiny models of every modality through tf2onnx, run in onnxruntime against Keras."""

import json
import os

import numpy as np
import onnxruntime as ort
import pytest
from edge_models import MODALITIES, TOLERANCE, assert_close, edge_and_keras, tiny_classifier

from mmcnn.export import export_onnx, load_edge_model

INPUT_TYPES = {
    "image": "tensor(uint8)",
    "audio": "tensor(float)",
    "text": "tensor(int32)",
    "board": "tensor(float)",
}


@pytest.mark.parametrize("modality", MODALITIES)
def test_onnx_matches_keras_at_any_batch(modality, tmp_path):
    clf, data = tiny_classifier(modality)
    path = clf.export(tmp_path / "model.onnx", format="onnx")
    x, reference = edge_and_keras(clf, data)
    edge = load_edge_model(path)
    assert_close(edge(x), reference, TOLERANCE[None])
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (feed,) = session.get_inputs()
    assert feed.type == INPUT_TYPES[modality]
    if modality == "audio":
        # tf2onnx maps the front end's RFFT (read by ComplexAbs) only at a fixed batch size.
        assert feed.shape[0] == 1
    else:
        assert isinstance(feed.shape[0], str) or feed.shape[0] is None  # the batch is free
        batch = session.run(None, {feed.name: x[:5]})[0]
        np.testing.assert_allclose(batch, reference[:5], atol=TOLERANCE[None])
    # The class names and the edge document are metadata_props.
    props = session.get_modelmeta().custom_metadata_map
    assert json.loads(props["mmcnn.class_names"]) == clf.class_names == edge.class_names
    document = json.loads(props["mmcnn.json"])
    assert document["modality"] == modality and document["format"] == "onnx"
    assert document["input"]["name"] == feed.name


def test_existing_onnx_file_kept_unless_overwrite(tmp_path):
    clf, _ = tiny_classifier("image")
    path = tmp_path / "m.onnx"
    export_onnx(clf, path)
    first = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_onnx(clf, path)
    assert path.read_bytes() == first
    export_onnx(clf, path, overwrite=True)
    assert os.listdir(tmp_path) == ["m.onnx"]
