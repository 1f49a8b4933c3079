"""Exports: raw input in, class probabilities and names out, written all or nothing.

`export_classifier(clf, path, overwrite=False)` (what `Classifier.export` calls)
writes a TensorFlow SavedModel with the endpoints the classifier declares
(`Classifier.serving_endpoints()`: image bytes, waveforms or WAV bytes, texts,
... decoded and preprocessed inside the graph), and `assets.extra/mmcnn.json`
with the class names and preprocessing settings. See `docs/serving.md`.

For phones, boards and other runtimes: `export_litert` (a `.tflite` file,
built-in operators only, optionally float16 / dynamic / int8 quantized) and
`export_onnx` (an `.onnx` file), both of the classifier's `edge_endpoint()`
(near-raw tensor input) with the class names inside; `load_edge_model` runs
either in its own runtime.

Each format is one module with its writer, its runner and its `ExportFormat`
record (`mmcnn.export.formats`), registered when the module is imported: the
imports below register mmcnn's four (`saved_model`, `litert`, `onnx`, `web`), and
`register_format(record)` or a `mmcnn.export_formats` entry point adds another.
"""

from mmcnn.export.atomic import atomic_write
from mmcnn.export.endpoints import OUTPUT_KEYS, Endpoint, model_input_endpoint, serving_outputs, tensor_spec
from mmcnn.export.exporter import METADATA_PATH, ExportError, export_classifier, read_metadata
from mmcnn.export.formats import (
    ExportFormat,
    export,
    format_names,
    get_format,
    register_format,
    registered_formats,
)
from mmcnn.export.graph_ops import FORBIDDEN_OPS, forbidden_ops, saved_model_op_types
from mmcnn.export.litert import QUANTIZATIONS, export_litert, read_litert_metadata
from mmcnn.export.onnx import export_onnx
from mmcnn.export.runtimes import EdgeModel, load_edge_model, read_class_names
from mmcnn.export.web import export_web

__all__ = [
    "EdgeModel",
    "Endpoint",
    "ExportError",
    "ExportFormat",
    "FORBIDDEN_OPS",
    "METADATA_PATH",
    "OUTPUT_KEYS",
    "QUANTIZATIONS",
    "atomic_write",
    "export",
    "export_classifier",
    "export_litert",
    "export_onnx",
    "export_web",
    "forbidden_ops",
    "format_names",
    "get_format",
    "load_edge_model",
    "model_input_endpoint",
    "read_class_names",
    "read_litert_metadata",
    "read_metadata",
    "register_format",
    "registered_formats",
    "saved_model_op_types",
    "serving_outputs",
    "tensor_spec",
    "unregister_format",
]
