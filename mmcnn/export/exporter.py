"""Writing a classifier as a TensorFlow SavedModel, all or nothing.

The SavedModel is written with `keras.export.ExportArchive` into a hidden
temporary directory beside the target, checked (no file I/O or Python ops in
any graph), completed with `assets.extra/mmcnn.json`, and only then renamed
into place. A failure at any step removes the temporary directory and leaves
whatever was at the target untouched.
"""

import json
import logging
import os
import shutil
import tempfile
import uuid

import keras
import numpy as np
import tensorflow as tf

from mmcnn.export.graph_ops import forbidden_ops
from mmcnn.export.signatures import ENDPOINTS, OUTPUT_KEYS, SETTINGS, Endpoint

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


def export_metadata(clf, endpoints):
    """The JSON document written to `assets.extra/mmcnn.json`."""
    import mmcnn

    metadata = {
        "format_version": FORMAT_VERSION,
        "modality": clf.modality,
        "class_names": list(clf.class_names),
        "num_classes": len(clf.class_names),
        "preprocessing": SETTINGS[clf.modality](clf),
        "signatures": {
            ep.name: {
                "inputs": {spec.name: _spec_json(spec) for spec in ep.input_signature},
                "outputs": {
                    "probabilities": {"dtype": "float32", "shape": [None, len(clf.class_names)]},
                    "class_id": {"dtype": "int64", "shape": [None]},
                    "class_name": {"dtype": "string", "shape": [None]},
                },
                "description": ep.description,
            }
            for ep in endpoints
        },
        "classifier_config": _json_safe(clf.get_config()),
        "mmcnn_version": mmcnn.__version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "serving_requires": [f"tensorflow=={tf.__version__}"],
    }
    if clf.modality == "text":
        import tensorflow_text

        metadata["tensorflow_text_version"] = tensorflow_text.__version__
        metadata["serving_requires"].append(
            f"tensorflow-text=={tensorflow_text.__version__} (`import tensorflow_text` before loading)"
        )
    return metadata


def read_metadata(path):
    """Reads `assets.extra/mmcnn.json` of an export (class names, preprocessing, versions)."""
    with open(os.path.join(os.fspath(path), METADATA_PATH), encoding="utf-8") as f:
        return json.load(f)


def _check_target(path, overwrite):
    if not os.path.lexists(path):
        return
    if not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    # overwrite=True replaces an export, never an arbitrary folder or file.
    is_export = os.path.isdir(path) and os.path.isfile(os.path.join(path, "saved_model.pb"))
    is_empty_dir = os.path.isdir(path) and not os.listdir(path)
    if not (is_export or is_empty_dir):
        raise FileExistsError(
            f"{path} exists and is not a SavedModel directory; refusing to "
            "replace it even with overwrite=True"
        )


def _move_into_place(tmp, path, overwrite):
    if not os.path.lexists(path):
        os.rename(tmp, path)
        return
    _check_target(path, overwrite)
    parent, base = os.path.split(path)
    aside = os.path.join(parent, f".{base}.old-{uuid.uuid4().hex[:8]}")
    os.rename(path, aside)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(aside, path)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def export_classifier(clf, path, overwrite=False, extra_endpoints=()):
    """Writes `clf` as a SavedModel whose signatures take raw input.

    Signatures (see `mmcnn.export.signatures` and `docs/serving.md`): image
    `serving_default` (encoded bytes), `pixels` and `features`; audio
    `serving_default` (waveforms of any length), `wav` and `features`; text
    `serving_default` (raw strings) and `features` (token ids). Each returns
    `probabilities`, `class_id` and `class_name`. Class names, preprocessing
    settings and versions are written to `assets.extra/mmcnn.json`.

    The export is written to a temporary directory beside `path` and renamed
    into place when complete; on any error the temporary directory is removed
    and an earlier export at `path` is left untouched.

    Args:
        clf: an mmcnn classifier (`ImageClassifier`, `AudioClassifier`,
            `TextClassifier`) with a built model.
        path: the SavedModel directory to write.
        overwrite: replace an existing export at `path` (the old one is
            renamed aside, the new one moved in, then the old one deleted).
        extra_endpoints: more `Endpoint(name, fn, input_signature,
            description)` signatures to add after the standard ones.

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
    ['features', 'pixels', 'serving_default']
    """
    modality = getattr(clf, "modality", None)
    if modality not in ENDPOINTS:
        raise ValueError(
            "`clf` must be an mmcnn image, audio or text classifier. "
            f"Received: {type(clf).__name__} with modality={modality!r}"
        )
    path = os.path.abspath(os.fspath(path))
    _check_target(path, overwrite)  # fail before the (slow) tracing, not after
    endpoints = list(ENDPOINTS[clf.modality](clf))
    for ep in extra_endpoints:
        endpoints.append(Endpoint(*ep))
    parent, base = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
    try:
        archive = keras.export.ExportArchive()
        # Tracking the model also collects its lookup tables (text vocabulary).
        archive.track(clf.model)
        for ep in endpoints:
            archive.add_endpoint(ep.name, ep.fn, ep.input_signature)
        archive.write_out(tmp, verbose=False)
        found = forbidden_ops(tmp)
        if found:
            raise ExportError(f"the exported graph uses ops a serving graph must not: {found}")
        os.makedirs(os.path.join(tmp, os.path.dirname(METADATA_PATH)), exist_ok=True)
        with open(os.path.join(tmp, METADATA_PATH), "w", encoding="utf-8") as f:
            json.dump(export_metadata(clf, endpoints), f, indent=2, ensure_ascii=False)
        _move_into_place(tmp, path, overwrite)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info(
        "exported %s classifier to %s (signatures: %s; outputs: %s)",
        clf.modality,
        path,
        ", ".join(ep.name for ep in endpoints),
        ", ".join(OUTPUT_KEYS),
    )
    return path
