"""Scoring an exported `.tflite` / `.onnx` file in its own runtime, next to the Keras model it came from.

`Classifier.evaluate_model_file` (and `evaluate(..., model_file=...)`) delegate here.
"""

import os

import numpy as np

from mmcnn.export.runtimes import load_edge_model
from mmcnn.models import pipeline
from mmcnn.models.metrics import classification_report, multilabel_report


def evaluate_model_file(clf, data, model_file, batch_size=None):
    """`Classifier.evaluate_model_file` of `clf`: see there."""
    clf._check_classes(data, "evaluation data")
    edge = load_edge_model(model_file)
    if edge.class_names and list(edge.class_names) != list(clf.class_names):
        raise ValueError(
            f"{model_file} holds classes {edge.class_names}, but the classifier has {clf.class_names}"
        )
    if bool(edge.document.get("multi_label")) != clf.multi_label:
        kind = "multi-label" if edge.document.get("multi_label") else "single-label"
        raise ValueError(
            f"{model_file} is a {kind} model file, but the classifier is "
            f"{'multi-label' if clf.multi_label else 'single-label'}"
        )
    file_probs, times = [], []
    for x, _ in clf.make_dataset(data, batch_size=batch_size):
        probs, ms = edge.timed(clf.edge_inputs(x))
        file_probs.append(probs)
        times.append(ms)
    file_probs = np.concatenate(file_probs) if file_probs else np.zeros((0, len(clf.class_names)))
    # The Keras side is `evaluate`'s own path (a compiled `model.predict`), not an eager
    # `model(x)`: under mixed bfloat16 the two round differently, and the score printed
    # next to the file's must be the one `mmcnn evaluate` and metrics.json give.
    keras_probs = pipeline.split_scores(clf, data, batch_size) if len(data) else file_probs[:0]
    keras_report = clf.scores_report(data, keras_probs)
    if clf.multi_label:
        # The file's own thresholds decide its predictions (what a device would apply).
        report = multilabel_report(data.target_matrix(), file_probs, edge.thresholds, clf.class_names)
        same = np.all((file_probs >= edge.thresholds) == (keras_probs >= clf.threshold_values()), axis=-1)
    else:
        file_ids, keras_ids = np.argmax(file_probs, axis=-1), np.argmax(keras_probs, axis=-1)
        report = classification_report(data.labels, file_ids, clf.class_names)
        same = file_ids == keras_ids
    report.update(
        skipped=len(data.skipped),
        keras_accuracy=keras_report["accuracy"],
        agreement=float(np.mean(same)) if len(data) else 0.0,
        max_abs_diff=float(np.max(np.abs(file_probs - keras_probs))) if len(data) else 0.0,
        file_size_bytes=edge.file_size_bytes,
        latency_ms_batch1=float(np.median(np.concatenate(times))) if times else 0.0,
        format=edge.format,
        model_file=os.fspath(model_file),
    )
    if clf.multi_label:
        report.update(
            keras_micro_f1=keras_report["micro_f1"],
            keras_mean_average_precision=keras_report["mean_average_precision"],
        )
    return report
