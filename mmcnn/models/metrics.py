"""Classification reports: accuracy, macro-F1, per-class scores, confusion matrix; multi-label scores."""

import numpy as np


def classification_report(y_true, y_pred, class_names):
    """Scores of predicted against true class ids.

    Returns:
        dict with `accuracy`, `macro_f1`, `per_class` (name -> precision,
        recall, f1, support), `confusion_matrix` (rows: true class, columns:
        predicted class, as nested lists) and `labels` (the class names).
    """
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    k = len(class_names)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (y_true, y_pred), 1)
    true_positive = np.diag(confusion).astype(float)
    predicted = confusion.sum(axis=0).astype(float)
    support = confusion.sum(axis=1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, true_positive / predicted, 0.0)
        recall = np.where(support > 0, true_positive / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = support > 0
    return {
        "accuracy": float(true_positive.sum() / max(len(y_true), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": confusion.tolist(),
        "labels": list(class_names),
        "num_examples": int(len(y_true)),
    }


DEFAULT_THRESHOLD = 0.5


def average_precision(y_true, scores):
    """Average precision of one class: the area under its precision-recall steps.

    `sum_n (R_n - R_{n-1}) P_n` over the distinct score thresholds, highest
    first (tied scores form one step), as scikit-learn's
    `average_precision_score`. None when `y_true` has no positive.

    Example:
    >>> average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    0.8333333333333333
    """
    y_true = np.asarray(y_true, dtype=float)
    scores = np.asarray(scores, dtype=float)
    positives = y_true.sum()
    if positives == 0:
        return None
    order = np.argsort(-scores, kind="mergesort")
    y, s = y_true[order], scores[order]
    # The last index of each run of equal scores: one threshold each.
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    true_pos = np.cumsum(y)[last]
    precision = true_pos / (last + 1)
    recall = true_pos / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def best_thresholds(targets, scores, default=DEFAULT_THRESHOLD):
    """Per-class decision thresholds that maximise each class's F1 on `(targets, scores)`.

    A class is predicted where its score is `>=` its threshold. The threshold
    lies halfway between the lowest score kept positive and the highest one
    below it (0 below the lowest score); a class without positives (or
    without examples) keeps `default`.

    Args:
        targets: multi-hot `(n, num_classes)` true labels.
        scores: `(n, num_classes)` per-class scores (sigmoid outputs).
        default: the threshold of classes it cannot choose for.

    Returns:
        float32 array `(num_classes,)`.

    Example:
    >>> best_thresholds([[1, 0], [0, 0], [1, 1]], [[0.9, 0.2], [0.4, 0.1], [0.6, 0.3]]).tolist()
    [0.5, 0.25]
    """
    targets = np.asarray(targets, dtype=float)
    scores = np.asarray(scores, dtype=float)
    thresholds = np.full(targets.shape[1], default, dtype="float32")
    for c in range(targets.shape[1]):
        y, s = targets[:, c], scores[:, c]
        positives = y.sum()
        if positives == 0:
            continue
        order = np.argsort(-s, kind="mergesort")
        y, s = y[order], s[order]
        last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # cut only between different scores
        true_pos = np.cumsum(y)[last]
        f1 = 2 * true_pos / (last + 1 + positives)
        k = last[int(np.argmax(f1))]  # ties: the highest threshold
        below = s[k + 1] if k + 1 < len(s) else 0.0
        thresholds[c] = (s[k] + below) / 2
    return thresholds


def multilabel_report(targets, scores, thresholds, class_names):
    """Scores of multi-label predictions (`scores >= thresholds`) against multi-hot `targets`.

    Returns:
        dict with `multi_label` (True), `micro_precision`, `micro_recall`,
        `micro_f1` (from the true/false positives summed over classes),
        `macro_f1` (mean F1 of the classes with examples), `mean_average_precision`
        (mean per-class average precision, `average_precision`, over the classes
        with examples), `accuracy` (exact-match ratio: every class right),
        `per_class` (name -> precision, recall, f1, average_precision, threshold,
        support), `thresholds`, `labels` (the class names) and `num_examples`.

    Example:
    >>> report = multilabel_report([[1, 0], [0, 1]], [[0.9, 0.6], [0.2, 0.7]], [0.5, 0.5], ["a", "b"])
    >>> report["micro_f1"], report["accuracy"]
    (0.8, 0.5)
    """
    targets = np.asarray(targets, dtype=float).reshape(-1, len(class_names))
    scores = np.asarray(scores, dtype=float).reshape(-1, len(class_names))
    thresholds = np.broadcast_to(np.asarray(thresholds, dtype=float), (len(class_names),))
    predicted = scores >= thresholds
    truth = targets > 0.5
    true_pos = (predicted & truth).sum(axis=0).astype(float)
    pred_pos = predicted.sum(axis=0).astype(float)
    support = truth.sum(axis=0).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(pred_pos > 0, true_pos / pred_pos, 0.0)
        recall = np.where(support > 0, true_pos / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    tp, pp, sp = true_pos.sum(), pred_pos.sum(), support.sum()
    micro_p = tp / pp if pp else 0.0
    micro_r = tp / sp if sp else 0.0
    micro_f1 = 2 * tp / (pp + sp) if pp + sp else 0.0
    ap = [average_precision(truth[:, c], scores[:, c]) for c in range(len(class_names))]
    present = support > 0
    with_ap = [value for value in ap if value is not None]
    return {
        "multi_label": True,
        "accuracy": float(np.mean(np.all(predicted == truth, axis=1))) if len(targets) else 0.0,
        "micro_precision": float(micro_p),
        "micro_recall": float(micro_r),
        "micro_f1": float(micro_f1),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "mean_average_precision": float(np.mean(with_ap)) if with_ap else 0.0,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "average_precision": ap[i],
                "threshold": float(thresholds[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "thresholds": [float(t) for t in thresholds],
        "labels": list(class_names),
        "num_examples": int(len(targets)),
    }
