"""Writing any classifier as a TensorFlow SavedModel, all or nothing.

The exporter knows no modality: it writes the endpoints the classifier
declares (`Classifier.serving_endpoints()`) with `keras.export.ExportArchive`
into a hidden temporary directory beside the target (`mmcnn.export.atomic`),
checks the graphs (no file I/O or Python ops), adds `assets.extra/mmcnn.json`
(class names, the classifier's `serving_metadata()`, versions), and only then
renames it into place. A failure at any step removes the temporary directory
and leaves whatever was at the target untouched.
"""

import json
import logging
import os

import keras
import numpy as np
import tensorflow as tf

from mmcnn._version import __version__
from mmcnn.export.atomic import atomic_write
from mmcnn.export.endpoints import OUTPUT_KEYS, Endpoint
from mmcnn.export.formats import ExportFormat, register_format
from mmcnn.export.graph_ops import forbidden_ops

logger = logging.getLogger("mmcnn")

METADATA_PATH = os.path.join("assets.extra", "mmcnn.json")
FORMAT_VERSION = 1


class ExportError(RuntimeError):
    """An export that could not be written as promised; the target is left as it was."""


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _spec_json(spec):
    return {"dtype": spec.dtype.name, "shape": [None if d is None else int(d) for d in spec.shape]}


def _traced_outputs(function, input_signature):
    """`{key: {"dtype", "shape"}}` of an endpoint's outputs, from its traced function."""
    outputs = function.get_concrete_function(*input_signature).structured_outputs
    return {
        key: {"dtype": tensor.dtype.name, "shape": [None if d is None else int(d) for d in tensor.shape]}
        for key, tensor in sorted(outputs.items())
    }


def export_metadata(clf, endpoints, outputs=None):
    """The JSON document written to `assets.extra/mmcnn.json`.

    Generic: the classifier's `serving_metadata()` hook adds `preprocessing`
    (what a client does to raw input), `serving_requires` (what loading needs
    besides TensorFlow) and any other entries of its own. `outputs` maps
    endpoint names to what they return (read from the traced functions);
    without it, the three outputs every endpoint has are listed."""
    num_classes = len(clf.class_names)
    standard = {
        "probabilities": {"dtype": "float32", "shape": [None, num_classes]},
        "class_id": {"dtype": "int64", "shape": [None]},
        "class_name": {"dtype": "string", "shape": [None]},
    }
    outputs = outputs or {}
    extra = dict(clf.serving_metadata())
    metadata = {
        "format_version": FORMAT_VERSION,
        "modality": clf.modality,
        "class_names": list(clf.class_names),
        "num_classes": num_classes,
        "preprocessing": extra.pop("preprocessing", {}),
        "signatures": {
            ep.name: {
                "inputs": {spec.name: _spec_json(spec) for spec in ep.input_signature},
                "outputs": outputs.get(ep.name, standard),
                "description": ep.description,
            }
            for ep in endpoints
        },
        "classifier_config": _json_safe(clf.get_config()),
        "mmcnn_version": __version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "serving_requires": [f"tensorflow=={tf.__version__}", *extra.pop("serving_requires", [])],
    }
    if getattr(clf, "multi_label", False):
        # What the graph's `predicted` and `labels` outputs compare the scores with.
        metadata["multi_label"] = True
        metadata["thresholds"] = [float(t) for t in clf.threshold_values()]
    metadata.update(extra)
    return _json_safe(metadata)


def read_metadata(path):
    """Reads `assets.extra/mmcnn.json` of an export (class names, preprocessing, versions)."""
    with open(os.path.join(os.fspath(path), METADATA_PATH), encoding="utf-8") as f:
        return json.load(f)


def is_saved_model(path):
    """True for a SavedModel directory (or an empty one): what `overwrite=True` may replace."""
    if not os.path.isdir(path):
        return False
    return os.path.isfile(os.path.join(path, "saved_model.pb")) or not os.listdir(path)


def serving_endpoints(clf, extra_endpoints=()):
    """The classifier's declared endpoints, checked, plus `extra_endpoints`."""
    if not callable(getattr(clf, "serving_endpoints", None)) or getattr(clf, "modality", None) is None:
        raise ValueError(
            "`clf` must be an mmcnn image, audio or text classifier (any mmcnn Classifier). "
            f"Received: {type(clf).__name__}"
        )
    endpoints = [Endpoint(*ep) for ep in clf.serving_endpoints()] + [Endpoint(*ep) for ep in extra_endpoints]
    names = [ep.name for ep in endpoints]
    if not endpoints or names[0] != "serving_default" or len(set(names)) != len(names):
        raise ValueError(
            f"{type(clf).__name__}.serving_endpoints() must list distinct endpoints, "
            f"`serving_default` first. Received: {names}"
        )
    return endpoints


def export_classifier(clf, path, overwrite=False, extra_endpoints=()):
    """Writes `clf` as a SavedModel whose signatures take raw input.

    The signatures are the classifier's `serving_endpoints()` (see
    `docs/serving.md`): image `serving_default` (encoded bytes), `pixels` and
    `features`; audio `serving_default` (waveforms of any length), `wav` and
    `features`; text `serving_default` (raw strings) and `features` (token
    ids); a classifier that declares nothing else gets `serving_default` on
    its model's own input. Each returns `probabilities`, `class_id` and
    `class_name`. Class names, preprocessing settings and versions are written
    to `assets.extra/mmcnn.json`.

    The export is written to a temporary directory beside `path` and renamed
    into place when complete; on any error the temporary directory is removed
    and an earlier export at `path` is left untouched.

    Args:
        clf: an mmcnn classifier (`ImageClassifier`, `AudioClassifier`,
            `TextClassifier`, `MovePredictor`, ...).
        path: the SavedModel directory to write.
        overwrite: replace an existing export at `path` (the old one is
            renamed aside, the new one moved in, then the old one deleted).
        extra_endpoints: more `Endpoint(name, fn, input_signature,
            description)` signatures to add after the classifier's own.

    Returns:
        The absolute path of the export.

    Raises:
        FileExistsError: `path` exists and `overwrite` is false, or it is not
            a SavedModel directory.
        ExportError: the graph would read or write files or call Python.

    Example:
    >>> import os, tempfile, mmcnn
    >>> clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = export_classifier(clf, os.path.join(folder, "model"))
    ...     sorted(read_metadata(path)["signatures"])
    ['embedding', 'features', 'pixels', 'serving_default']
    """
    clf = clf.float32_copy() if hasattr(clf, "float32_copy") else clf  # runs on any machine
    endpoints = serving_endpoints(clf, extra_endpoints)
    path = os.path.abspath(os.fspath(path))
    # The target is checked before the (slow) tracing, and again before the rename.
    with atomic_write(path, overwrite, is_saved_model, "a SavedModel directory") as tmp:
        archive = keras.export.ExportArchive()
        # Tracking the model also collects its lookup tables (text vocabulary).
        archive.track(clf.model)
        outputs = {}
        for ep in endpoints:
            function = archive.add_endpoint(ep.name, ep.fn, ep.input_signature)
            outputs[ep.name] = _traced_outputs(function, ep.input_signature)
        try:
            archive.write_out(tmp, verbose=False)
        except tf.errors.OpError as error:  # e.g. the disk filled while writing the variables
            kept = "the previous export is unchanged" if os.path.exists(path) else "nothing was written"
            raise ExportError(
                f"could not write the export to {path} ({error.message.strip()}); {kept}"
            ) from None
        found = forbidden_ops(tmp)
        if found:
            raise ExportError(f"the exported graph uses ops a serving graph must not: {found}")
        os.makedirs(os.path.join(tmp, os.path.dirname(METADATA_PATH)), exist_ok=True)
        with open(os.path.join(tmp, METADATA_PATH), "w", encoding="utf-8") as f:
            json.dump(export_metadata(clf, endpoints, outputs), f, indent=2, ensure_ascii=False)
    logger.info(
        "exported %s classifier to %s (signatures: %s; outputs: %s)",
        clf.modality,
        path,
        ", ".join(ep.name for ep in endpoints),
        ", ".join(OUTPUT_KEYS),
    )
    return path


# Registered first: the default format, and the first `--format` choice.
SAVED_MODEL = register_format(
    ExportFormat(
        name="saved_model",
        writer=export_classifier,
        default_name="export",
        description="saved_model (raw-input signatures)",
    )
)
