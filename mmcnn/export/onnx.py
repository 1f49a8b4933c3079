"""ONNX export of the classifier's `edge_endpoint()` through tf2onnx, checked by onnxruntime in the tests.

The same tensor input as the LiteRT file (image uint8 pixels, audio float32
waveform windows, text int32 token ids, or the model's own input) with the
batch dimension left free, float32 probabilities out (output `probabilities`).
The class names (a JSON list under `mmcnn.class_names`) and the
`mmcnn.json` document (`mmcnn.export.edge.edge_document`) are the model's
`metadata_props`.
"""

import json
import logging
import os

import tensorflow as tf

from mmcnn.export.atomic import atomic_write
from mmcnn.export.edge import (
    CLASS_NAMES_KEY,
    DOCUMENT_KEY,
    edge_document,
    edge_endpoint,
    probabilities_endpoint,
    require,
)
from mmcnn.export.exporter import ExportError

logger = logging.getLogger("mmcnn")

OPSET = 17


def is_onnx_file(path):
    """True for a file named `*.onnx` (what `overwrite=True` may replace)."""
    return os.path.isfile(path) and path.lower().endswith(".onnx")


def export_onnx(clf, path, overwrite=False, opset=OPSET):
    """Writes `clf`'s `edge_endpoint()` as an ONNX model, batch dimension free.

    Converted with tf2onnx the way Keras's own `model.export(format="onnx")`
    does (`patch_tf2onnx()`, then `tf2onnx.convert.from_function`), but of the
    edge endpoint rather than the model's input, so the file takes the same
    near-raw input as the LiteRT one.

    Args:
        clf: an mmcnn classifier.
        path: the `.onnx` file to write.
        overwrite: replace an existing `.onnx` file at `path`.
        opset: the ONNX opset.

    Returns:
        The absolute path of the file.

    Raises:
        ImportError: tf2onnx is missing (`pip install "mmcnn[onnx]"`).
        FileExistsError: `path` exists and `overwrite` is false.
        ExportError: tf2onnx could not convert the graph; nothing is written.
    """
    tf2onnx = require("tf2onnx", "onnx", "ONNX export")
    onnx = require("onnx", "onnx", "ONNX export")
    from mmcnn._keras_compat import patch_tf2onnx

    clf = clf.float32_copy() if hasattr(clf, "float32_copy") else clf  # runs on any machine
    path = os.path.abspath(os.fspath(path))
    with atomic_write(path, overwrite, is_onnx_file, "an .onnx file", directory=False) as tmp:
        patch_tf2onnx()
        try:
            endpoint, proto = _convert(tf2onnx, clf, opset, batch=None)
        except ExportError as error:
            # tf2onnx maps some ops (an RFFT read by ComplexAbs: the audio front end) only at a
            # fixed batch size.
            try:
                endpoint, proto = _convert(tf2onnx, clf, opset, batch=1)
            except ExportError:
                raise error from None
            logger.warning("ONNX: %s converts only with a fixed batch of 1: %s", type(clf).__name__, error)
        document = edge_document(clf, endpoint, "onnx")
        document["input"]["name"] = proto.graph.input[0].name
        document["output"]["name"] = proto.graph.output[0].name
        onnx.helper.set_model_props(
            proto,
            {
                CLASS_NAMES_KEY: json.dumps(list(clf.class_names), ensure_ascii=False),
                DOCUMENT_KEY: json.dumps(document, ensure_ascii=False),
            },
        )
        onnx.checker.check_model(proto)
        onnx.save(proto, tmp)
    logger.info("exported %s classifier to %s (ONNX opset %d)", clf.modality, path, opset)
    return path


def _convert(tf2onnx, clf, opset, batch):
    """`(endpoint, ModelProto)` of the edge endpoint at `batch`, checked by the ONNX checker."""
    import onnx

    endpoint = edge_endpoint(clf, batch=batch)
    signature = endpoint.input_signature
    function = tf.function(probabilities_endpoint(endpoint), input_signature=signature)
    try:
        proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=opset)
        # tf2onnx logs an op it cannot map and leaves it in the graph: the checker names it.
        onnx.checker.check_model(proto)
    except Exception as error:
        first = str(error).strip().splitlines()
        raise ExportError(
            f"ONNX conversion (tf2onnx) failed: {first[0] if first else type(error).__name__}"
        ) from error
    return endpoint, proto
