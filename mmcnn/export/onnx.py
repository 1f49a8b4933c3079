"""ONNX export of the classifier's `edge_endpoint()` through tf2onnx, checked by onnxruntime in the tests.

The same tensor input as the LiteRT file (image uint8 pixels, audio float32
waveform windows, text int32 token ids, or the model's own input) with the
batch dimension left free, float32 probabilities out (output `probabilities`).
The class names (a JSON list under `mmcnn.class_names`) and the
`mmcnn.json` document (`mmcnn.export.edge.edge_document`) are the model's
`metadata_props`, and so is how the file agreed with the Keras model on
held-out examples (`mmcnn.export.agreement`, run in onnxruntime before
anything is written).
"""

import json
import logging
import os
import warnings

import numpy as np
import tensorflow as tf

from mmcnn._stderr import quiet_native
from mmcnn.export.agreement import agreement_line, check_agreement
from mmcnn.export.atomic import atomic_write
from mmcnn.export.edge import (
    CLASS_NAMES_KEY,
    DOCUMENT_KEY,
    check_suffix,
    edge_document,
    edge_endpoint,
    probabilities_endpoint,
    require,
)
from mmcnn.export.exporter import ExportError
from mmcnn.export.formats import ExportFormat, register_format
from mmcnn.export.runtimes import EdgeModel

logger = logging.getLogger("mmcnn")

OPSET = 17
# onnxruntime's input type names -> the NumPy dtype a feed is cast to.
ONNX_TYPES = {
    "tensor(float)": np.float32,
    "tensor(uint8)": np.uint8,
    "tensor(int8)": np.int8,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
}


def is_onnx_file(path):
    """True for a file named `*.onnx` (what `overwrite=True` may replace)."""
    return os.path.isfile(path) and path.lower().endswith(".onnx")


def export_onnx(clf, path, overwrite=False, opset=OPSET, check_data=None, seed=0, endpoint=None):
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
        check_data: a `LabeledData` of held-out examples (the validation
            split) on which the file, run in onnxruntime, must decide as the
            Keras model does (`mmcnn.export.agreement`; up to 200 drawn with
            `seed`); without it the check is skipped and the log says so.
        seed: seed of the agreement check's draw.
        endpoint: `endpoint(clf) -> Endpoint` in place of `clf.edge_endpoint()`
            (the web page's float pixels, say); its input must take what
            `clf.edge_inputs` gives, cast to its dtype.

    Returns:
        The absolute path of the file.

    Raises:
        ImportError: tf2onnx is missing (`pip install "mmcnn[onnx]"`).
        ValueError: `path` does not end in `.onnx`.
        FileExistsError: `path` exists and `overwrite` is false.
        ExportError: tf2onnx could not convert the graph, or the file decides
            differently from the Keras model on too many of `check_data`'s
            examples; nothing is written.
    """
    tf2onnx = require("tf2onnx", "onnx", "ONNX export")
    onnx = require("onnx", "onnx", "ONNX export")
    from mmcnn._keras_compat import patch_tf2onnx

    clf = clf.float32_copy() if hasattr(clf, "float32_copy") else clf  # runs on any machine
    path = os.path.abspath(os.fspath(path))
    check_suffix(path, ".onnx", "onnx")
    with atomic_write(path, overwrite, is_onnx_file, "an .onnx file", directory=False) as tmp:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # Keras's patch reads np.object
            patch_tf2onnx()
        try:
            endpoint, proto = _convert(tf2onnx, clf, opset, batch=None, declare=endpoint)
        except ExportError as error:
            # tf2onnx maps some ops (an RFFT read by ComplexAbs: the audio front end) only at a
            # fixed batch size.
            try:
                endpoint, proto = _convert(tf2onnx, clf, opset, batch=1, declare=endpoint)
            except ExportError:
                raise error from None
            logger.info(
                "ONNX: %s converts only with a fixed batch of 1 (the file takes one example at a time)",
                type(clf).__name__,
            )
            logger.debug("ONNX: at a free batch size: %s", error)
        agreement = _check(clf, proto, check_data, seed)
        logger.info(agreement_line(agreement, ".onnx file"))
        document = edge_document(clf, endpoint, "onnx")
        document["agreement"] = agreement
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


def _convert(tf2onnx, clf, opset, batch, declare=None):
    """`(endpoint, ModelProto)` of the edge endpoint at `batch`, checked by the ONNX checker."""
    import onnx

    endpoint = edge_endpoint(clf, batch=batch, declare=declare)
    signature = endpoint.input_signature
    function = tf.function(probabilities_endpoint(endpoint), input_signature=signature)
    try:
        with quiet_native():  # tf2onnx logs the ops it fails on and recovers from, and TF's lines
            proto, _ = tf2onnx.convert.from_function(function, input_signature=signature, opset=opset)
        # tf2onnx logs an op it cannot map and leaves it in the graph: the checker names it.
        onnx.checker.check_model(proto)
    except Exception as error:
        first = str(error).strip().splitlines()
        raise ExportError(
            f"ONNX conversion (tf2onnx) failed: {first[0] if first else type(error).__name__}"
        ) from error
    return endpoint, proto


def _check(clf, proto, data, seed):
    """How the converted model (in onnxruntime) agrees with the Keras model, or why it was not checked."""
    if data is None or not len(data):
        return "no held-out data given (pass check_data=, the validation split)"
    try:
        import onnxruntime
    except ImportError:
        logger.warning("ONNX: onnxruntime is not installed: the file is not checked against the Keras model")
        return 'onnxruntime is not installed (pip install "mmcnn[onnx]")'
    with quiet_native():
        session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0]
    dtype = ONNX_TYPES.get(feed.type, np.float32)

    def run(inputs):
        rows = [session.run(None, {feed.name: row[None].astype(dtype)})[0] for row in inputs]
        return np.concatenate(rows)

    return check_agreement(clf, run, data, None, ".onnx file", seed=seed)


def read_onnx_document(path):
    """The `mmcnn.json` document inside an `.onnx` file (read with the onnx package, no runtime)."""
    onnx = require("onnx", "onnx", "reading an .onnx file")
    props = {p.key: p.value for p in onnx.load(os.fspath(path), load_external_data=False).metadata_props}
    return json.loads(props[DOCUMENT_KEY])


# ---------------------------------------------------------------- the runtime
class OnnxModel(EdgeModel):
    """An `.onnx` file in onnxruntime (CPU)."""

    format = "onnx"

    def __init__(self, path):
        super().__init__(path)
        ort = require("onnxruntime", "onnx", "running an .onnx file")
        with quiet_native():
            self.session = ort.InferenceSession(self.path, providers=["CPUExecutionProvider"])
        props = self.session.get_modelmeta().custom_metadata_map
        self.document = json.loads(props[DOCUMENT_KEY]) if DOCUMENT_KEY in props else {}
        self.class_names = (
            json.loads(props[CLASS_NAMES_KEY])
            if CLASS_NAMES_KEY in props
            else self.document.get("class_names", [])
        )
        self.input = self.session.get_inputs()[0]
        self.input_dtype = ONNX_TYPES.get(self.input.type, np.float32)

    def run_one(self, x):
        x = np.asarray(x).astype(self.input_dtype, copy=False)
        return np.asarray(self.session.run(None, {self.input.name: x})[0], dtype=np.float32)


ONNX = register_format(
    ExportFormat(
        name="onnx",
        writer=export_onnx,
        suffix=".onnx",
        default_name="model.onnx",
        runner=OnnxModel,
        read_document=read_onnx_document,
        checked=True,
        description="onnx (.onnx, onnxruntime)",
    )
)
