"""What `predict` and `evaluate` hand back: the result dictionaries of a classifier's probabilities.

`Classifier.predict`, `Classifier.evaluate` and `Classifier.scores_report` delegate here; the
classifier's thresholds come through its `threshold_values`.
"""

import numpy as np

from mmcnn.models import pipeline
from mmcnn.models.metrics import classification_report, multilabel_report


def prediction_result(clf, probs, top_k=1):
    """`Classifier.predict`'s dictionary for the probabilities `probs` `(n, num_classes)` of `clf`."""
    order = np.argsort(-probs, axis=-1)[:, :top_k]
    top = [[(clf.class_names[j], float(p[j])) for j in row] for row, p in zip(order, probs)]
    if clf.multi_label:
        thresholds = clf.threshold_values()
        hits = probs >= thresholds
        return {
            "labels": [[clf.class_names[j] for j in np.flatnonzero(row)] for row in hits],
            "class_ids": [np.flatnonzero(row) for row in hits],
            "predicted": hits.astype("int32"),
            "scores": probs,
            "probabilities": probs,
            "thresholds": thresholds,
            "top_k": top,
            "class_names": list(clf.class_names),
        }
    ids = np.argmax(probs, axis=-1)
    return {
        "labels": [clf.class_names[i] for i in ids],
        "class_ids": ids,
        "probabilities": probs,
        "top_k": top,
        "class_names": list(clf.class_names),
    }


def scores_report(clf, data, probabilities):
    """`Classifier.scores_report` of `clf`: see there."""
    if clf.multi_label:
        report = multilabel_report(
            data.target_matrix(), probabilities, clf.threshold_values(), clf.class_names
        )
    else:
        report = classification_report(data.labels, np.argmax(probabilities, axis=-1), clf.class_names)
    report["skipped"] = len(data.skipped)
    return report


def evaluate(clf, data, batch_size=None, scores=None, return_probabilities=False):
    """`Classifier.evaluate` of `clf` on the Keras model: see there."""
    clf._check_classes(data, "evaluation data")
    if scores is not None and len(scores) != len(data):
        raise ValueError(
            f"`scores` must have one row per example of `data` ({len(data)}). Received: {len(scores)} rows"
        )
    probabilities = pipeline.split_scores(clf, data, batch_size) if scores is None else scores
    report = clf.scores_report(data, probabilities)
    return (report, probabilities) if return_probabilities else report
