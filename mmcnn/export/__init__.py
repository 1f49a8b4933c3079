"""SavedModel export: raw input in, class probabilities and names out, checked by plain TensorFlow.

`export_classifier(clf, path, overwrite=False)` (what `Classifier.export` calls)
writes a TensorFlow SavedModel whose signatures decode and preprocess raw input
(image bytes, waveforms or WAV bytes, texts) inside the graph, plus a `features`
signature for the model's own input and `assets.extra/mmcnn.json` with the
class names and preprocessing settings. See `docs/serving.md`.
"""

from mmcnn.export.audio_frames import frame_windows
from mmcnn.export.exporter import METADATA_PATH, ExportError, export_classifier, read_metadata
from mmcnn.export.graph_ops import FORBIDDEN_OPS, forbidden_ops, saved_model_op_types
from mmcnn.export.signatures import OUTPUT_KEYS, Endpoint

__all__ = [
    "Endpoint",
    "ExportError",
    "FORBIDDEN_OPS",
    "METADATA_PATH",
    "OUTPUT_KEYS",
    "export_classifier",
    "forbidden_ops",
    "frame_windows",
    "read_metadata",
    "saved_model_op_types",
]
