"""LiteRT (TensorFlow Lite) export: one `.tflite` file with built-in operators only, optionally quantized.

The file holds the classifier's `edge_endpoint()` (batch 1): image uint8
pixels, audio float32 waveform windows (log-mel inside), text int32 token ids,
or the model's own input; the output is the class probabilities. Only
built-in operators are allowed (a Select-TF/Flex op does not run in the
standalone runtime): a layer that needs another op is named in the error.

Inside the flatbuffer, two `Model.metadata` entries: `mmcnn.labels` (the class
names, one a line) and `mmcnn.json` (`mmcnn.export.edge.edge_document`:
input, output, quantization, the modality's `edge_metadata()` and how the
file agreed with the Keras model); the class names are also written beside
the file, named after it (`model.tflite` -> `model.labels.txt`).

Before anything is written, the converted file runs in TensorFlow's own
interpreter on held-out examples next to the Keras model
(`mmcnn.export.agreement`), and a file that decides differently too often
is refused.

The conversion goes Keras `ExportArchive` -> SavedModel ->
`tf.lite.TFLiteConverter.from_saved_model`, the route that freezes Keras
variables (`from_concrete_functions` leaves them as reads and the file outputs NaN).
"""

import json
import logging
import os
import re
import tempfile
import uuid
import warnings

import numpy as np
import tensorflow as tf

from mmcnn._stderr import quiet_native
from mmcnn.export.agreement import agreement_line, check_agreement
from mmcnn.export.atomic import atomic_write
from mmcnn.export.edge import (
    DOCUMENT_KEY,
    LABELS_KEY,
    check_suffix,
    edge_document,
    edge_endpoint,
    edge_saved_model,
    float_layer_pattern,
    metadata_entries,
    require,
)
from mmcnn.export.exporter import ExportError
from mmcnn.export.formats import ExportFormat, register_format
from mmcnn.export.mediapipe_check import check_in_mediapipe
from mmcnn.export.runtimes import EdgeModel, invoke_tflite, read_tflite_metadata
from mmcnn.export.tflite_metadata import add_litert_metadata, add_metadata, drop_unused_subgraphs

logger = logging.getLogger("mmcnn")

QUANTIZATIONS = (None, "float16", "dynamic", "int8")
LABELS_SUFFIX = ".labels.txt"
FEW_CALIBRATION_EXAMPLES = 100


def is_tflite_file(path):
    """True for a `.tflite` flatbuffer (what `overwrite=True` may replace)."""
    if not os.path.isfile(path):
        return False
    with open(path, "rb") as f:
        return f.read(8)[4:8] == b"TFL3"


def export_litert(
    clf,
    path,
    quantize=None,
    calibration_data=None,
    calibration_size=300,
    seed=0,
    overwrite=False,
    check_data=None,
):
    """Writes `clf` as a LiteRT `.tflite` file with built-in operators only.

    Quantization:
    - `None`: float32 weights and activations.
    - `"float16"`: float16 weights, float32 computation (about half the size).
    - `"dynamic"`: int8 weights, activations quantized on the fly.
    - `"int8"`: full-integer weights and activations, calibrated on up to
      `calibration_size` examples drawn (seeded) from `calibration_data`;
      float32 output (what MediaPipe's classifiers accept) and int8 input where
      the endpoint's input is not already an integer (image uint8 pixels and
      text int32 ids stay as they are).

    Layers the classifier names in `edge_float_layers()` (the audio log-mel
    front end, whose power spectrum spans too many decades for 8 bits) stay
    float: `"int8"` then quantizes the rest, calibrated, with float32 input
    and output. The converter offers no way to keep layers float in
    dynamic-range mode, so for such a classifier `"dynamic"` is that same
    selective int8 conversion (and needs `calibration_data`).

    Args:
        clf: an mmcnn classifier.
        path: the `.tflite` file to write.
        quantize: `None`, `"float16"`, `"dynamic"` or `"int8"`.
        calibration_data: a `LabeledData` (the training data) for `"int8"`.
        calibration_size: most examples drawn for calibration; fewer than 100
            gives a warning with the number used.
        seed: seed of the calibration draw (and of the agreement check's).
        overwrite: replace an existing `.tflite` file at `path`.
        check_data: a `LabeledData` of held-out examples (the validation
            split) on which the file must decide as the Keras model does
            (`mmcnn.export.agreement`; up to 200 drawn); default
            `calibration_data`; with neither, the check is skipped and the log says so.

    Returns:
        The absolute path of the file.

    Raises:
        ValueError: `path` does not end in `.tflite`.
        FileExistsError: `path` (or its `.labels.txt` with other class names)
            exists and `overwrite` is false.
        ExportError: the model needs an operator LiteRT has no built-in
            kernel for (the message names the layer and the op), or the file
            decides differently from the Keras model on too many of
            `check_data`'s examples; nothing is written.

    Example:
    >>> import os, tempfile, mmcnn
    >>> clf = mmcnn.image.ImageClassifier(class_names=["a", "b"], image_size=(16, 16), channels=1,
    ...                                   preset="tiny")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = export_litert(clf, os.path.join(folder, "model.tflite"), quantize="float16")
    ...     read_litert_metadata(path)[LABELS_KEY].decode().split()
    ['a', 'b']
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"`quantize` must be one of {QUANTIZATIONS}. Received: quantize={quantize!r}")
    if isinstance(calibration_size, bool) or not isinstance(calibration_size, int) or calibration_size < 1:
        raise ValueError(
            f"`calibration_size` must be a positive integer. Received: calibration_size={calibration_size!r}"
        )
    clf = clf.float32_copy() if hasattr(clf, "float32_copy") else clf  # runs on any machine
    endpoint = edge_endpoint(clf, batch=1)
    float_layers = float_layer_pattern(clf)
    calibrated = quantize == "int8" or (quantize == "dynamic" and float_layers is not None)
    if calibrated and calibration_data is None:
        why = (
            "full-integer quantization"
            if quantize == "int8"
            else f"{type(clf).__name__} keeps {list(clf.edge_float_layers())} float, so 'dynamic' is the "
            "selective int8 conversion"
        )
        raise ValueError(
            f"quantize={quantize!r} needs `calibration_data` ({why}): pass the training data "
            "(a LabeledData); a few hundred examples are drawn from it"
        )
    path = os.path.abspath(os.fspath(path))
    check_suffix(path, ".tflite", "litert")
    labels_text = "".join(f"{name}\n" for name in clf.class_names)
    labels_path = labels_file(path)
    _check_labels_file(labels_path, labels_text, overwrite)
    with atomic_write(path, overwrite, is_tflite_file, "a .tflite file", directory=False) as tmp:
        representative = None
        if calibrated:
            examples = calibration_examples(clf, calibration_data, calibration_size, seed)
            representative = lambda: ([row[None]] for row in examples)  # noqa: E731
        with tempfile.TemporaryDirectory(prefix="mmcnn-litert-") as folder:
            edge_saved_model(clf, endpoint, folder)
            with quiet_native():  # the converter's and interpreter's C++ log lines
                data = _convert(clf, folder, quantize, representative, float_layers, endpoint)
        data = drop_unused_subgraphs(data)  # a leftover tokenizer-table initializer
        what = f"{quantize or 'float32'} .tflite file"
        check_data = calibration_data if check_data is None else check_data
        if check_data is None or not len(check_data):
            agreement = "no held-out data given (pass check_data=, the validation split)"
        else:
            agreement = _check(clf, data, check_data, quantize, what, seed)
        logger.info(agreement_line(agreement, what))
        document = edge_document(clf, endpoint, "litert", quantize, **_io_details(data))
        document["agreement"] = agreement
        # The runtimes the file ran or loaded in: the agreement check's, and the MediaPipe Task's.
        mediapipe = check_in_mediapipe(add_metadata(data, document), document)
        document["checked_in"] = [] if isinstance(agreement, str) else ["LiteRT interpreter"]
        document["checked_in"] += [mediapipe] if mediapipe else []
        data = add_litert_metadata(
            data,
            {
                LABELS_KEY: "\n".join(clf.class_names).encode("utf-8"),
                DOCUMENT_KEY: json.dumps(document, ensure_ascii=False).encode("utf-8"),
            },
        )
        data = add_metadata(data, document)  # standard TFLite Metadata, labels packed in the file
        with open(tmp, "wb") as f:
            f.write(data)
    _write_text(labels_path, labels_text)
    logger.info(
        "exported %s classifier to %s (LiteRT, quantize=%s, %d bytes)",
        clf.modality,
        path,
        quantize,
        len(data),
    )
    return path


def labels_file(path):
    """The class-names file written beside a `.tflite` file: `model.tflite` -> `model.labels.txt`.

    Named after the file, so that the files of several runs can share a folder."""
    return os.path.splitext(os.fspath(path))[0] + LABELS_SUFFIX


def run_tflite(interpreter, inputs):
    """Probabilities `(n, num_classes)` of a batch of edge inputs, one example at a time."""
    return np.stack([invoke_tflite(interpreter, row[None])[0] for row in np.asarray(inputs)])


def calibration_examples(clf, data, size=300, seed=0):
    """Up to `size` edge inputs (each with batch 1 removed) drawn from `data` with `seed`, in data order."""
    if len(data) == 0:
        raise ValueError("`calibration_data` holds no examples")
    count = min(size, len(data))
    indices = np.sort(np.random.default_rng(seed).choice(len(data), count, replace=False))
    if count < FEW_CALIBRATION_EXAMPLES:
        warnings.warn(
            f"int8 calibration uses only {count} examples (fewer than {FEW_CALIBRATION_EXAMPLES}); "
            "the quantization ranges may not cover the inputs the model will see",
            UserWarning,
            stacklevel=3,
        )
    rows = []
    for x, _ in clf.make_dataset(data.subset(indices), batch_size=32):
        rows.extend(np.asarray(clf.edge_inputs(x)))
    return rows


def _check(clf, data, check_data, quantize, what, seed):
    """The file's agreement with the Keras model, run in `ai_edge_litert` (what devices run) where it
    is installed, else in TensorFlow's interpreter, whose int8 kernels refuse some inputs that
    LiteRT's accept (a DIV by a quantized zero): then the check is skipped and says why."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        with quiet_native():
            interpreter = Interpreter(model_content=data)
            interpreter.allocate_tensors()
        fallback = False
    except ImportError:
        interpreter, fallback = _tf_interpreter(data), True
    try:
        run = lambda x: run_tflite(interpreter, x)  # noqa: E731
        return check_agreement(clf, run, check_data, quantize, what, seed=seed)
    except RuntimeError as error:
        if not fallback:
            raise ExportError(f"the converted {what} fails in ai_edge_litert: {error}") from error
        return f'TensorFlow\'s interpreter cannot run it ({error}); install "mmcnn[lite]" to check it'


def _converter(saved_model):
    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    return converter


def _convert(clf, saved_model, quantize, representative, float_layers, endpoint):
    converter = _converter(saved_model)
    try:
        if quantize is None:
            return converter.convert()
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
            return converter.convert()
        if quantize == "dynamic" and float_layers is None:
            return converter.convert()
        converter.representative_dataset = representative
        if float_layers is not None:
            return _selective_int8(converter, representative, float_layers)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if endpoint.input_signature[0].dtype.is_floating:
            converter.inference_input_type = tf.int8
        # float32 probabilities out (the converter's default, one DEQUANTIZE at the end): MediaPipe's
        # classifiers refuse an int8 output tensor.
        return converter.convert()
    except Exception as error:
        raise _conversion_error(clf, error) from error


def _selective_int8(converter, representative, float_layers):
    """int8 everywhere but the tensors of `float_layers`; float32 input and output.

    The QuantizationDebugger's route: calibrate once, then quantize with the
    front end's tensors denylisted (`fully_quantize=False` keeps float input
    and output: fully quantizing them doubled the error of an audio model)."""
    debug = tf.lite.experimental
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the debugger's own tf.lite.Interpreter
        debugger = debug.QuantizationDebugger(
            converter=converter,
            debug_dataset=representative,
            debug_options=debug.QuantizationDebugOptions(fully_quantize=False),
        )
    names = [t["name"] for t in _tf_interpreter(debugger.calibrated_model).get_tensor_details()]
    keep = [name for name in names if float_layers.search(name)]
    if not keep:
        raise ExportError(
            f"no converted tensor belongs to the layers to keep float ({float_layers.pattern}); "
            "check the classifier's edge_float_layers()"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        debugger.options = debug.QuantizationDebugOptions(denylisted_nodes=keep, fully_quantize=False)
    return debugger.get_nondebug_quantized_model()


def _conversion_error(clf, error):
    """An `ExportError` naming the layer and the op without a built-in kernel, when the converter says so."""
    found = []
    for item in getattr(error, "errors", None) or []:
        op = getattr(getattr(item, "operator", None), "name", "") or ""
        calls = list(getattr(getattr(item, "location", None), "call", []) or [])
        location = calls[0].name if calls else ""
        if op:
            found.append((op, _layer_of(clf, location), location.split("@")[0]))
    if not found:
        first = str(error).strip().splitlines()
        return ExportError(f"LiteRT conversion failed: {first[0] if first else type(error).__name__}")
    op, layer, location = found[0]
    where = f"layer {layer!r}" if layer else "a layer"
    others = sorted({f"{o} ({lay or '?'})" for o, lay, _ in found[1:]} - {f"{op} ({layer or '?'})"})
    return ExportError(
        f"{where} uses the op {op}, which has no built-in LiteRT kernel (at {location}); a .tflite file "
        "with built-in operators only cannot hold it: replace the layer or compute it outside the model"
        + (f". Also: {', '.join(others)}" if others else "")
    )


def _layer_of(clf, location):
    """The top-level layer name in a converter location such as `image_classifier_1/my_layer_1/Op@fn`."""
    parts = location.split("@")[0].split("/")
    if len(parts) < 3:
        return None
    candidate = parts[1]
    names = {layer.name for layer in clf.model.layers}
    for name in (candidate, re.sub(r"_\d+$", "", candidate)):
        if name in names:
            return name
    return re.sub(r"_\d+$", "", candidate)


def _io_details(data):
    interpreter = _tf_interpreter(data)

    def details(d):
        scale, zero = d["quantization"]
        entry = {"name": d["name"], "dtype": np.dtype(d["dtype"]).name, "shape": [int(v) for v in d["shape"]]}
        if scale:
            entry["quantization"] = {"scale": float(scale), "zero_point": int(zero)}
        return entry

    return {
        "input_details": details(interpreter.get_input_details()[0]),
        "output_details": details(interpreter.get_output_details()[0]),
    }


def _tf_interpreter(data):
    # TensorFlow's own interpreter, only to read tensor names and types: exporting does not need the
    # `lite` extra. Its deprecation warning is about running models (the runtimes use ai_edge_litert).
    from tensorflow.lite.python.interpreter import Interpreter

    with warnings.catch_warnings(), quiet_native():
        warnings.simplefilter("ignore", UserWarning)
        interpreter = Interpreter(model_content=data)
        interpreter.allocate_tensors()
        return interpreter


# ---------------------------------------------------------------- flatbuffer metadata
def read_litert_metadata(path_or_bytes):
    """`{name: bytes}` of a `.tflite` file's `Model.metadata` entries (TensorFlow's schema, no runtime)."""
    from tensorflow.lite.python import schema_py_generated as schema

    data = path_or_bytes
    if not isinstance(data, (bytes, bytearray)):
        with open(os.fspath(path_or_bytes), "rb") as f:
            data = f.read()
    return metadata_entries(schema.Model.GetRootAs(data, 0))


def _check_labels_file(path, text, overwrite):
    if os.path.exists(path) and not overwrite:
        with open(path, encoding="utf-8", errors="replace") as f:
            if f.read() != text:
                raise FileExistsError(
                    f"{path} already exists with other class names; overwrite it (overwrite=True, "
                    "`mmcnn export --overwrite`) or export under another name"
                )


def _write_text(path, text):
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def read_litert_document(path):
    """The `mmcnn.json` document inside a `.tflite` file."""
    return json.loads(read_litert_metadata(path)[DOCUMENT_KEY])


def needs_calibration(clf, quantize):
    """Whether this export draws calibration examples: int8, and dynamic with float layers."""
    return quantize == "int8" or (quantize == "dynamic" and bool(clf.edge_float_layers()))


# ---------------------------------------------------------------- the runtime
class LiteRTModel(EdgeModel):
    """A `.tflite` file in `ai_edge_litert`'s interpreter."""

    format = "litert"

    def __init__(self, path, num_threads=None):
        super().__init__(path)
        litert = require("ai_edge_litert.interpreter", "lite", "running a .tflite file")
        with open(self.path, "rb") as f:
            data = f.read()
        entries = read_tflite_metadata(data)
        self.document = json.loads(entries[DOCUMENT_KEY]) if DOCUMENT_KEY in entries else {}
        self.class_names = (
            entries[LABELS_KEY].decode("utf-8").split("\n")
            if LABELS_KEY in entries
            else self.document.get("class_names", [])
        )
        with quiet_native():  # "Created TensorFlow Lite XNNPACK delegate for CPU."
            self.interpreter = litert.Interpreter(model_content=data, num_threads=num_threads)
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def run_one(self, x):
        return invoke_tflite(self.interpreter, x, self.input, self.output)


LITERT = register_format(
    ExportFormat(
        name="litert",
        writer=export_litert,
        suffix=".tflite",
        default_name="model.tflite",
        runner=LiteRTModel,
        read_document=read_litert_document,
        quantizations=QUANTIZATIONS[1:],
        needs_calibration=needs_calibration,
        checked=True,
        description="litert (.tflite, built-in ops)",
    )
)
