"""Exports: raw input in, class probabilities and names out, written all or nothing.

`export_classifier(clf, path, overwrite=False)` (what `Classifier.export` calls)
writes a TensorFlow SavedModel with the endpoints the classifier declares
(`Classifier.serving_endpoints()`: image bytes, waveforms or WAV bytes, texts,
... decoded and preprocessed inside the graph), and `assets.extra/mmcnn.json`
with the class names and preprocessing settings. See `docs/serving.md`.
"""

from mmcnn.export.atomic import atomic_write
from mmcnn.export.audio_frames import frame_windows
from mmcnn.export.endpoints import OUTPUT_KEYS, Endpoint, model_input_endpoint, serving_outputs, tensor_spec
from mmcnn.export.exporter import METADATA_PATH, ExportError, export_classifier, read_metadata
from mmcnn.export.graph_ops import FORBIDDEN_OPS, forbidden_ops, saved_model_op_types

__all__ = [
    "Endpoint",
    "ExportError",
    "FORBIDDEN_OPS",
    "METADATA_PATH",
    "OUTPUT_KEYS",
    "atomic_write",
    "export_classifier",
    "forbidden_ops",
    "frame_windows",
    "model_input_endpoint",
    "read_metadata",
    "saved_model_op_types",
    "serving_outputs",
    "tensor_spec",
]
