"""What the on-device formats (LiteRT, ONNX) share: the edge endpoint, the document inside each file.

The on-device formats take the classifier's `edge_endpoint()`: one tensor in,
as close to raw as built-in ops allow (image uint8 pixels, audio float32
waveform windows, text int32 token ids), float32 probabilities
`(batch, num_classes)` out (multi-label: per-class scores). `edge_document`
is the JSON that travels inside each file (`mmcnn.json`): class names, input
and output, quantization, the modality's `edge_metadata()` and, for
multi-label classifiers, the per-class `thresholds` (a class is predicted
where its score reaches its threshold).
"""

import importlib
import os
import re

import keras
import tensorflow as tf

from mmcnn._version import __version__
from mmcnn.export.endpoints import Endpoint, tensor_spec
from mmcnn.export.exporter import _json_safe
from mmcnn.export.formats import file_suffixes, format_for_path

EDGE_FORMAT_VERSION = 1
# Names inside the files: a `.tflite` file's `Model.metadata` entries, an ONNX model's `metadata_props`.
LABELS_KEY = "mmcnn.labels"
CLASS_NAMES_KEY = "mmcnn.class_names"
DOCUMENT_KEY = "mmcnn.json"


def model_input_edge_endpoint(clf):
    """The default `edge_endpoint`: the Keras model's own input, batch 1 -> probabilities."""
    model = clf.model
    if len(model.inputs) != 1:
        raise ValueError(
            f"{type(clf).__name__}'s model has {len(model.inputs)} inputs; a classifier with several "
            "inputs must declare its own edge_endpoint()"
        )
    spec = model.inputs[0]
    name = spec.name.split(":")[0] or "inputs"

    def probabilities(inputs):
        return model(inputs, training=False)

    shape = [1, *spec.shape[1:]]
    return Endpoint(
        "edge",
        probabilities,
        [tensor_spec(shape, spec.dtype, name)],
        f"the model's own input: {spec.dtype} {tuple(shape)}",
    )


def edge_endpoint(clf, batch=1, declare=None):
    """The classifier's `edge_endpoint()` (or `declare(clf)`'s, a format's own variant), checked, with
    the batch dimension set to `batch` (1 or None)."""
    if not callable(getattr(clf, "edge_endpoint", None)) or getattr(clf, "modality", None) is None:
        raise ValueError(f"`clf` must be an mmcnn Classifier. Received: {type(clf).__name__}")
    endpoint = Endpoint(*(declare(clf) if declare is not None else clf.edge_endpoint()))
    if len(endpoint.input_signature) != 1:
        raise ValueError(
            f"{type(clf).__name__}.edge_endpoint() must take one tensor; it declares "
            f"{len(endpoint.input_signature)}"
        )
    spec = endpoint.input_signature[0]
    shape = [batch, *spec.shape[1:]]
    if any(d is None for d in shape[1:]):
        raise ValueError(
            f"{type(clf).__name__}.edge_endpoint() must fix every dimension but the batch. "
            f"Received: shape={tuple(spec.shape)}"
        )
    return endpoint._replace(input_signature=[tf.TensorSpec(shape, spec.dtype, name=spec.name)])


def probabilities_endpoint(endpoint):
    """A function for `ExportArchive`: the endpoint's probabilities under the output name `probabilities`."""

    def serve(inputs):
        return {"probabilities": tf.cast(endpoint.fn(inputs), tf.float32)}

    return serve


def edge_saved_model(clf, endpoint, directory):
    """Writes the endpoint as a SavedModel (what `TFLiteConverter.from_saved_model` reads).

    Through `keras.export.ExportArchive`, which tracks the Keras variables so
    that the converter freezes them (a plain `tf.saved_model.save` or
    `from_concrete_functions` leaves them as variable reads, and the file outputs NaN)."""
    archive = keras.export.ExportArchive()
    archive.track(clf.model)
    archive.add_endpoint("serving_default", probabilities_endpoint(endpoint), endpoint.input_signature)
    archive.write_out(directory, verbose=False)
    return directory


def edge_document(clf, endpoint, format, quantize=None, input_details=None, output_details=None):
    """The `mmcnn.json` document stored inside a `.tflite` or `.onnx` file."""
    spec = endpoint.input_signature[0]
    num_classes = len(clf.class_names)
    multi_label = bool(getattr(clf, "multi_label", False))
    # Multi-label: the output is per-class sigmoid scores; a class is predicted where its
    # score reaches its threshold (chosen on the validation split), listed here in class order.
    decision = {"multi_label": multi_label}
    if multi_label:
        decision["thresholds"] = [float(t) for t in clf.threshold_values()]
    return _json_safe(
        {
            "format_version": EDGE_FORMAT_VERSION,
            "format": format,
            "quantize": quantize,
            "modality": clf.modality,
            "class_names": list(clf.class_names),
            "num_classes": num_classes,
            "input": input_details
            or {"name": spec.name, "dtype": spec.dtype.name, "shape": _shape(spec.shape)},
            "output": output_details
            or {"name": "probabilities", "dtype": "float32", "shape": [spec.shape[0], num_classes]},
            **decision,
            "description": endpoint.description,
            "preprocessing": dict(clf.edge_metadata()),
            "mmcnn_version": __version__,
            "tensorflow_version": tf.__version__,
            "keras_version": keras.__version__,
        }
    )


def float_layer_pattern(clf):
    """A regex that matches converted tensor names inside the layers `clf.edge_float_layers()` names."""
    names = [str(n) for n in clf.edge_float_layers()]
    if not names:
        return None
    # Keras scopes ops as `<model>_1/<layer>_1/...`: a path component is the layer name plus a suffix.
    return re.compile("(^|/)(" + "|".join(re.escape(n) for n in names) + r")(_\d+)?(/|$)")


def check_suffix(path, suffix, format):
    """Refuses a file name whose suffix is not the format's (a `.tflite` written as `model.onnx`)."""
    name = os.path.basename(os.fspath(path))
    if not name.lower().endswith(suffix):
        found = os.path.splitext(name)[1] or "no suffix"
        other = file_suffixes().get(found.lower())
        hint = f" (the suffix of format={other!r})" if other else ""
        raise ValueError(
            f"{path}: format={format!r} writes a {suffix} file, but the name ends in {found}{hint}; "
            f"name it *{suffix}"
        )


def read_edge_document(path):
    """The `mmcnn.json` document inside a `.tflite` or `.onnx` file: its format's `read_document`."""
    record = format_for_path(path)
    if record is None or record.read_document is None:
        raise ValueError(f"{path}: no export format with a document inside has this suffix")
    return record.read_document(path)


def require(module, extra, what):
    """Imports an optional module, or fails saying which extra installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{what} needs the `{module.split('.')[0]}` package, which is not installed: "
            f'pip install "mmcnn[{extra}]"'
        ) from error


def _shape(shape):
    return [None if d is None else int(d) for d in shape]


def metadata_entries(model):
    """`{name: bytes}` of a parsed `.tflite` flatbuffer root's `Model.metadata` entries."""
    entries = {}
    for k in range(model.MetadataLength()):
        meta = model.Metadata(k)
        buffer = model.Buffers(meta.Buffer())
        entries[meta.Name().decode()] = buffer.DataAsNumpy().tobytes() if buffer.DataLength() else b""
    return entries
