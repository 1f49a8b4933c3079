"""`LabeledData`, the container every modality's `from_*` returns, and how it is built from
the items a per-item check kept."""

import collections
import logging
import os

import numpy as np

from mmcnn.data.labels import _label_names, label_arrays
from mmcnn.data.policy import DataError, check_empty_classes

logger = logging.getLogger("mmcnn")

KINDS = ("files", "arrays", "texts", "rows")


class LabeledData:
    """Inputs with integer labels and the ordered class names.

    Args:
        inputs: what the modality's pipeline reads: a list of file paths
            (`kind="files"`), a list or array of arrays (`kind="arrays"`) or a
            list of strings (`kind="texts"`), or a list of rows, each a dict
            `{column: value or None}` (`kind="rows"`, a multi-modal table:
            `mmcnn.multimodal.TableData`).
        labels: integer class ids, one per input.
        class_names: ordered class names; label `i` is `class_names[i]`.
        kind: `"files"`, `"arrays"`, `"texts"` or `"rows"`.
        skipped: list of `(source, reason)` for bad items left out.
        sources: per-input description for messages (path or row), optional.
        dropped_classes: list of `(class_name, reason)` for classes left out
            because none of their items was usable (`empty_classes="drop"`);
            they are not in `class_names`.
        stripped_labels: how many labels (manifest rows, or class folder
            names) had surrounding whitespace removed (`"cat "` -> `"cat"`).
        repaired_texts: how many texts held invalid UTF-8 that was replaced
            by U+FFFD (text files and byte strings).
        ignored_files: `{extension: count}` of files in class folders left out
            because their extension is not one the modality reads.
        duplicate_rows: how many manifest rows repeat an earlier row (same
            input and label) and were kept, as data.
        dropped_duplicates: how many such rows were left out
            (`duplicates="drop"`).
        targets: for multi-label data, the multi-hot label matrix
            `(n, num_classes)` (1 where the example has the class); `labels`
            then holds each example's first listed class. None (default):
            single-label data. See docs/multilabel.md.

    What was left out or changed is summarised by `data_report()`, the dict
    that `mmcnn train` writes to `metrics.json`.
    """

    def __init__(
        self,
        inputs,
        labels,
        class_names,
        kind,
        skipped=(),
        sources=None,
        dropped_classes=(),
        stripped_labels=0,
        repaired_texts=0,
        ignored_files=None,
        targets=None,
        duplicate_rows=0,
        dropped_duplicates=0,
    ):
        if kind not in KINDS:
            raise ValueError(f"`kind` must be one of {KINDS}. Received: kind={kind!r}")
        self.inputs = inputs
        self.labels = np.asarray(labels, dtype="int32")
        self.class_names = [str(c) for c in class_names]
        self.kind = kind
        self.skipped = list(skipped)
        self.sources = list(sources) if sources is not None else None
        self.dropped_classes = [(str(name), str(reason)) for name, reason in dropped_classes]
        self.stripped_labels = int(stripped_labels)
        self.repaired_texts = int(repaired_texts)
        self.ignored_files = dict(ignored_files or {})
        self.duplicate_rows = int(duplicate_rows)
        self.dropped_duplicates = int(dropped_duplicates)
        if len(self.inputs) != len(self.labels):
            raise DataError(f"{len(self.inputs)} inputs but {len(self.labels)} labels")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise DataError(
                f"labels must lie in [0, {len(self.class_names)}); "
                f"received {self.labels.min()}..{self.labels.max()}"
            )
        self.targets = None if targets is None else np.asarray(targets, dtype="float32")
        if self.targets is not None and self.targets.shape != (len(self.labels), len(self.class_names)):
            raise DataError(
                f"`targets` must have shape (n, num_classes) = {(len(self.labels), len(self.class_names))}. "
                f"Received shape {self.targets.shape}"
            )

    @property
    def multi_label(self):
        """Whether the examples may have several classes each (`targets` is set)."""
        return self.targets is not None

    def target_matrix(self):
        """The multi-hot `(n, num_classes)` float32 label matrix: `targets`, or the one-hot
        `labels` of single-label data."""
        if self.targets is not None:
            return self.targets
        return np.eye(len(self.class_names), dtype="float32")[self.labels].reshape(len(self), -1)

    def __len__(self):
        return len(self.labels)

    def __repr__(self):
        dropped = f", {len(self.dropped_classes)} classes dropped" if self.dropped_classes else ""
        return (
            f"LabeledData({len(self)} {self.kind}, {len(self.class_names)} classes, "
            f"{len(self.skipped)} skipped{dropped})"
        )

    def data_report(self):
        """What loading left out or changed, as a JSON-ready dict.

        Keys: `skipped` (list of `[source, reason]`: files, or manifest rows
        with an empty or missing cell), `dropped_classes` (list of
        `[class_name, reason]`), `stripped_labels`, `repaired_texts`,
        `duplicate_rows`, `dropped_duplicates` (counts) and `ignored_files`
        (`{extension: count}`).

        Example:
        >>> LabeledData(["a"], [0], ["x"], "texts", stripped_labels=2).data_report()["stripped_labels"]
        2
        """
        return {
            "skipped": [list(item) for item in self.skipped],
            "dropped_classes": [list(item) for item in self.dropped_classes],
            "stripped_labels": self.stripped_labels,
            "repaired_texts": self.repaired_texts,
            "ignored_files": dict(self.ignored_files),
            "duplicate_rows": self.duplicate_rows,
            "dropped_duplicates": self.dropped_duplicates,
            **({"multi_label": True} if self.multi_label else {}),
        }

    def _loading_facts(self):
        return {
            "dropped_classes": self.dropped_classes,
            "stripped_labels": self.stripped_labels,
            "repaired_texts": self.repaired_texts,
            "ignored_files": self.ignored_files,
            "duplicate_rows": self.duplicate_rows,
            "dropped_duplicates": self.dropped_duplicates,
        }

    def subset(self, indices):
        """A new LabeledData with the items at `indices` (same class names)."""
        indices = np.asarray(indices, dtype=int)
        if isinstance(self.inputs, np.ndarray):
            inputs = self.inputs[indices]
        else:
            inputs = [self.inputs[i] for i in indices]
        sources = [self.sources[i] for i in indices] if self.sources is not None else None
        return LabeledData(
            inputs,
            self.labels[indices],
            self.class_names,
            self.kind,
            skipped=(),
            sources=sources,
            targets=None if self.targets is None else self.targets[indices],
        )

    def with_classes(self, class_names, leave_out=(), where="data"):
        """The same examples labelled against another (a model's) class list.

        For evaluating a model on data that holds some of its classes: every
        class of this data must be in `class_names` (a class the model does not
        know raises `DataError` naming it), except those in `leave_out`, whose
        examples are left out (e.g. classes dropped from training for having no
        usable example). Classes of `class_names` absent from the data simply
        have no examples.

        Example:
        >>> data = LabeledData(["a", "b", "c"], [0, 1, 1], ["dog", "cat"], "texts")
        >>> moved = data.with_classes(["bird", "cat", "dog"])
        >>> moved.labels.tolist(), moved.class_names
        ([2, 1, 1], ['bird', 'cat', 'dog'])
        """
        class_names = [str(c) for c in class_names]
        index = {name: i for i, name in enumerate(class_names)}
        leave_out = {str(c) for c in leave_out}
        unknown = [c for c in self.class_names if c not in index and c not in leave_out]
        if unknown:
            raise DataError(
                f"{where} has classes {unknown} that the model does not know; it knows {class_names}"
            )
        keep = [i for i, label in enumerate(self.labels) if self.class_names[label] not in leave_out]
        left = sorted({c for c in self.class_names if c in leave_out and c not in index})
        if left and len(keep) < len(self):
            logger.warning("%s: left out %d example(s) of %s", where, len(self) - len(keep), left)
        kept = self.subset(keep)
        labels = [index[self.class_names[label]] for label in kept.labels]
        targets = None
        if kept.targets is not None:
            # Columns moved to the new class order; classes left out lose their column.
            targets = np.zeros((len(kept), len(class_names)), dtype="float32")
            for j, name in enumerate(self.class_names):
                if name in index:
                    targets[:, index[name]] = kept.targets[:, j]
        moved = LabeledData(
            kept.inputs,
            labels,
            class_names,
            self.kind,
            skipped=self.skipped,
            sources=kept.sources,
            targets=targets,
        )
        for name, value in self._loading_facts().items():
            setattr(moved, name, value.copy() if hasattr(value, "copy") else value)
        return moved

    def split(self, fraction=0.1, seed=0):
        """Stratified split into `(rest, held_out)`, `fraction` of each class held out."""
        if not 0 < fraction < 1:
            raise ValueError(f"`fraction` must be in (0, 1). Received: fraction={fraction}")
        rng = np.random.default_rng(seed)
        held = []
        for c in range(len(self.class_names)):
            idx = np.flatnonzero(self.labels == c)
            rng.shuffle(idx)
            n = int(round(len(idx) * fraction))
            if len(idx) >= 2:
                n = min(max(n, 1), len(idx) - 1)
            held.extend(idx[:n].tolist())
        held = np.sort(np.asarray(held, dtype=int))
        rest = np.setdiff1d(np.arange(len(self)), held)
        first, second = self.subset(rest), self.subset(held)
        # What loading left out or changed is reported once, with the first part.
        first.skipped = list(self.skipped)
        for name, value in self._loading_facts().items():
            setattr(first, name, value.copy() if hasattr(value, "copy") else value)
        return first, second

    def class_counts(self):
        """Examples per class (for multi-label data: examples that have the class)."""
        if self.targets is not None:
            return self.targets.sum(axis=0).astype(int)
        return np.bincount(self.labels, minlength=len(self.class_names))


def labeled_data(
    kept_inputs,
    labels,
    class_names,
    kept,
    skipped,
    kind,
    where,
    what="files",
    empty_classes="error",
    sources=None,
    dropped_classes=(),
    skipped_rows=(),
    **facts,
):
    """The `LabeledData` of the items a per-item check kept; classes it emptied are refused or dropped.

    A class whose items were all skipped (all files corrupt, say) has no
    example to learn from: with `empty_classes="error"` that is a `DataError`
    naming the class and why its items were skipped, as an empty class folder
    is; with `"drop"` the class is left out of `class_names` (the ids are
    renumbered), logged, and listed in `dropped_classes`.

    Args:
        kept_inputs: the kept items, in order (paths, arrays or texts).
        labels: the class name of every item checked (kept or not).
        class_names: the ordered classes.
        kept: indices (into `labels`) of the kept items, ascending.
        skipped: `(source, reason)` of the other items, in index order.
        kind: `LabeledData.kind`.
        where: the folder or manifest, for messages.
        what: what the items are, for messages ("files", "clips", ...).
        empty_classes: `"error"` or `"drop"`.
        sources: per-item descriptions (all items), or None.
        dropped_classes: classes already dropped (empty folders).
        skipped_rows: `(source, reason)` of manifest rows left out before
            the check (an empty or missing cell); listed first in `skipped`.
        **facts: further `LabeledData` arguments (`stripped_labels`, ...).

    Returns:
        `LabeledData`.
    """
    check_empty_classes(empty_classes)
    kept = list(kept)
    kept_set = set(kept)
    not_kept = [i for i in range(len(labels)) if i not in kept_set]
    reasons = collections.defaultdict(list)
    for i, item in zip(not_kept, skipped):
        for name in _label_names([labels[i]]):
            reasons[name].append(item)
    counts = collections.Counter(_label_names([labels[i] for i in kept]))
    empty = [(name, _all_skipped(reasons[name], what)) for name in class_names if counts[name] == 0]
    dropped = list(dropped_classes)
    if empty and empty_classes == "error":
        listed = "; ".join(f"class {name!r}: {reason}" for name, reason in empty)
        raise DataError(
            f"{where}: {listed}. A class needs at least one usable example: fix or remove these files, "
            "or pass empty_classes='drop' to leave the class out"
        )
    if empty:
        if len(empty) == len(class_names):
            raise DataError(f"{where}: no usable {what} in any class")
        for name, reason in empty:
            logger.warning("dropping class %r from %s: %s", name, where, reason)
        dropped.extend(empty)
        gone = {name for name, _ in empty}
        class_names = [name for name in class_names if name not in gone]
    return LabeledData(
        kept_inputs,
        class_names=class_names,
        **label_arrays([labels[i] for i in kept], class_names),
        kind=kind,
        skipped=[*skipped_rows, *skipped],
        sources=[sources[i] for i in kept] if sources is not None else None,
        dropped_classes=dropped,
        **facts,
    )


def _all_skipped(items, what):
    if not items:
        return f"no {what}"
    shown = "; ".join(f"{os.path.basename(source)}: {reason}" for source, reason in items[:2])
    more = f"; and {len(items) - 2} more" if len(items) > 2 else ""
    return f"all {len(items)} {what} were skipped ({shown}{more})"
