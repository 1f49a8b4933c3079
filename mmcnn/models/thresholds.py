"""A multi-label classifier's per-class decision thresholds, chosen on the validation split.

`Classifier.threshold_values` and `Classifier.choose_thresholds` delegate here.
"""

import logging

import numpy as np

from mmcnn.models import pipeline
from mmcnn.models.metrics import DEFAULT_THRESHOLD, best_thresholds

logger = logging.getLogger("mmcnn")


def threshold_values(clf):
    """`Classifier.threshold_values` of `clf`: its thresholds, float32 `(num_classes,)`, else 0.5 each."""
    if clf.thresholds is not None:
        return np.asarray(clf.thresholds, dtype="float32")
    return np.full(clf.num_classes or len(clf.class_names), DEFAULT_THRESHOLD, dtype="float32")


def choose_thresholds(clf, data, batch_size=None, scores=None):
    """`Classifier.choose_thresholds` of `clf`: see there."""
    if not clf.multi_label:
        raise ValueError("`choose_thresholds` is for multi-label classifiers (multi_label=True)")
    clf._check_classes(data, "threshold data")
    if scores is None:
        scores = pipeline.split_scores(clf, data, batch_size)
    elif len(scores) != len(data):
        raise ValueError(
            f"`scores` must have one row per example of the threshold data ({len(data)}). "
            f"Received: {len(scores)} rows"
        )
    clf.thresholds = [float(t) for t in best_thresholds(data.target_matrix(), scores)]
    clf.model.metadata = clf._metadata()
    logger.info(
        "thresholds chosen on %d validation examples: %s",
        len(data),
        ", ".join(f"{n} {t:.3f}" for n, t in zip(clf.class_names, clf.thresholds)),
    )
    return clf.thresholds
