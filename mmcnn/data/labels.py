"""Labels: class names from label values, multi-label cells, surrounding whitespace."""

import collections
import logging

import numpy as np

from mmcnn.data.policy import DataError

logger = logging.getLogger("mmcnn")

LABEL_SEPARATOR = ";"
MULTI_LABEL_COLUMN = "labels"


def clean_label(label):
    """A label as a class name: a string without surrounding whitespace ("cat " -> "cat")."""
    return str(label).strip()


def warn_case_collisions(names, where):
    """Logs a warning for class names that differ only by case ("Cat" and "cat" stay two classes)."""
    groups = collections.defaultdict(set)
    for name in names:
        groups[str(name).casefold()].add(str(name))
    for same in groups.values():
        if len(same) > 1:
            logger.warning(
                "%s: labels %s differ only by case; they are different classes (rename them to merge)",
                where,
                " and ".join(repr(n) for n in sorted(same)),
            )


def _log_stripped(where, count, example):
    if count:
        logger.warning(
            "%s: removed surrounding whitespace from %d label(s) (e.g. %r -> %r); "
            "labels that differ only by it are one class",
            where,
            count,
            example,
            example.strip(),
        )


def resolve_class_names(found, class_names, where):
    """Checks requested class names against those found in the data."""
    if class_names is None:
        return sorted(found)
    class_names = [clean_label(c) for c in class_names]
    unknown = sorted(set(found) - set(class_names))
    if unknown:
        raise DataError(f"{where}: labels {unknown} are not in class_names {class_names}")
    return class_names


def check_multi_label(multi_label):
    if multi_label not in (None, True, False):
        raise ValueError(f"`multi_label` must be None, True or False. Received: multi_label={multi_label!r}")
    return multi_label


def split_label_cell(cell):
    """One cell of a multi-label manifest as a tuple of class names: split on `;`, surrounding
    whitespace removed, empty parts and repeats dropped.

    Example:
    >>> split_label_cell(" cat; outdoor ;;cat")
    ('cat', 'outdoor')
    """
    parts = [clean_label(part) for part in str(cell).split(LABEL_SEPARATOR)]
    return tuple(dict.fromkeys(part for part in parts if part))


def is_multi_label(labels):
    """Whether manifest labels are label sets (tuples, from a multi-label manifest)."""
    return any(isinstance(label, tuple) for label in labels)


def _label_names(labels):
    """Every class name of manifest labels (names, or tuples of names), in order, with repeats."""
    return [name for label in labels for name in (label if isinstance(label, tuple) else (label,))]


def labels_to_ids(labels, class_names):
    index = {name: i for i, name in enumerate(class_names)}
    return np.asarray([index[str(label)] for label in labels], dtype="int32")


def label_arrays(labels, class_names):
    """`LabeledData`'s `labels` and `targets` arguments from manifest labels.

    Class names give integer ids and `targets=None`; label sets (tuples, from
    a multi-label manifest) give the multi-hot `targets` and, as `labels`,
    each example's first listed class.

    Example:
    >>> arrays = label_arrays([("b", "a"), ("a",)], ["a", "b"])
    >>> arrays["labels"].tolist(), arrays["targets"].tolist()
    ([1, 0], [[1.0, 1.0], [1.0, 0.0]])
    """
    if not is_multi_label(labels):
        return {"labels": labels_to_ids(labels, class_names), "targets": None}
    index = {name: i for i, name in enumerate(class_names)}
    targets = np.zeros((len(labels), len(class_names)), dtype="float32")
    for row, label in enumerate(labels):
        targets[row, [index[name] for name in label]] = 1.0
    first = np.asarray([index[label[0]] for label in labels], dtype="int32")
    return {"labels": first, "targets": targets}


def array_labels(y, class_names, where="y"):
    """Integer ids and class names from label values (ints, or strings without surrounding whitespace)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"`{where}` must be a 1-D array of labels. Received shape {y.shape}")
    if y.dtype.kind in "iu":
        n = int(y.max()) + 1 if len(y) else 0
        names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(n)]
        if len(y) and (y.min() < 0 or y.max() >= len(names)):
            raise DataError(f"`{where}` holds ids outside [0, {len(names)})")
        return y.astype("int32"), names
    labels = [clean_label(v) for v in y]
    stripped = [str(v) for v, label in zip(y, labels) if str(v) != label]
    _log_stripped(f"`{where}`", len(stripped), stripped[0] if stripped else "")
    names = resolve_class_names(set(labels), class_names, where)
    return labels_to_ids(labels, names), names
