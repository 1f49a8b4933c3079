"""Labelled data shared by every modality: folders, manifests, arrays.

`from_directory`, `from_dataframe` and `from_arrays` of each modality return a
`LabeledData`. Problems are found before training starts and named by file or
manifest row; bad items are skipped and counted (`on_error="skip"`, the
default) or stop with a `DataError` (`on_error="raise"`).
"""

import codecs
import collections
import csv
import io
import logging
import os

import numpy as np
import pandas as pd

logger = logging.getLogger("mmcnn")

ON_ERROR = ("skip", "raise")
EMPTY_CLASSES = ("error", "drop")


class DataError(ValueError):
    """Bad input data; the message names the file, row or argument."""


class LabeledData:
    """Inputs with integer labels and the ordered class names.

    Args:
        inputs: what the modality's pipeline reads: a list of file paths
            (`kind="files"`), a list or array of arrays (`kind="arrays"`) or a
            list of strings (`kind="texts"`).
        labels: integer class ids, one per input.
        class_names: ordered class names; label `i` is `class_names[i]`.
        kind: `"files"`, `"arrays"` or `"texts"`.
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
    ):
        if kind not in ("files", "arrays", "texts"):
            raise ValueError(f"`kind` must be 'files', 'arrays' or 'texts'. Received: kind={kind!r}")
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

        Keys: `skipped` (list of `[source, reason]`), `dropped_classes`
        (list of `[class_name, reason]`), `stripped_labels`, `repaired_texts`
        (counts) and `ignored_files` (`{extension: count}`).

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
            **({"multi_label": True} if self.multi_label else {}),
        }

    def _loading_facts(self):
        return {
            "dropped_classes": self.dropped_classes,
            "stripped_labels": self.stripped_labels,
            "repaired_texts": self.repaired_texts,
            "ignored_files": self.ignored_files,
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


def check_on_error(on_error):
    if on_error not in ON_ERROR:
        raise ValueError(f"`on_error` must be one of {list(ON_ERROR)}. Received: on_error={on_error!r}")
    return on_error


def check_empty_classes(empty_classes):
    if empty_classes not in EMPTY_CLASSES:
        raise ValueError(
            f"`empty_classes` must be one of {list(EMPTY_CLASSES)}. Received: empty_classes={empty_classes!r}"
        )
    return empty_classes


def report_bad(source, reason, on_error, skipped, log=True):
    """Skip-and-count or raise, naming the source (`log=False`: the caller logs it later)."""
    if on_error == "raise":
        raise DataError(f"{source}: {reason}")
    if log:
        logger.warning("skipping %s: %s", source, reason)
    skipped.append((str(source), str(reason)))


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


def directory_class_names(path, found, class_names):
    """`resolve_class_names` for a class-per-folder directory: every requested class needs a folder."""
    if class_names is not None:
        absent = [clean_label(c) for c in class_names if clean_label(c) not in found]
        if absent:
            raise DataError(
                f"{os.fspath(path)}: classes {absent} in class_names have no folder; "
                f"class folders are {list(found)}"
            )
    return resolve_class_names(found, class_names, os.fspath(path))


FolderScan = collections.namedtuple(
    "FolderScan", ["files", "labels", "class_names", "dropped_classes", "stripped_labels", "ignored_files"]
)
FolderScan.__doc__ = """What `scan_class_folders` found.

Fields: `files` (paths), `labels` (their class names), `class_names` (the
classes kept, in order), `dropped_classes` (`(name, reason)` of empty classes
left out with `empty_classes="drop"`), `stripped_labels` (class folder names
with surrounding whitespace), `ignored_files` (`{extension: count}`).
"""


def scan_class_folders(path, extensions=None, class_names=None, empty_classes="error", what="files"):
    """Lists the files of a class-per-folder directory, with what was left out.

    Each sub-folder of `path` is a class (sorted by name); files anywhere under
    it belong to that class. Hidden files and folders are ignored silently.
    Folder names are class names without surrounding whitespace, so `cat` and
    `cat ` are one class (counted in `stripped_labels`, logged); names that
    differ only by case are logged as a warning. Files whose extension is not
    in `extensions` are counted per extension and logged once per extension
    ("ignored 12 .heic files in PATH ..."). A missing directory, a directory
    without class folders, a symlink loop or an unreadable folder raises
    `DataError` naming it; so does a class with no file to read, unless
    `empty_classes="drop"` (then it is left out and listed in `dropped_classes`).

    Args:
        path: the root directory.
        extensions: lower-case suffixes to read (e.g. `(".png", ".jpg")`), or None for all files.
        class_names: optional requested classes; every one needs its folder,
            and every folder must be one of them.
        empty_classes: `"error"` (default) or `"drop"`.
        what: what the files are, for messages (`"image"`, `"audio"`, `"text"`).

    Returns:
        A `FolderScan`.
    """
    check_empty_classes(empty_classes)
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise DataError(f"{path}: not a directory (expected one sub-folder per class)")
    folders = sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))
    if not folders:
        raise DataError(f"{path}: no class sub-folders (expected one sub-folder per class)")
    by_class = collections.defaultdict(list)
    for folder in folders:
        by_class[clean_label(folder)].append(folder)
    stripped = [folder for folder in folders if folder != clean_label(folder)]
    _log_stripped(path, len(stripped), stripped[0] if stripped else "")
    found = sorted(by_class)
    if "" in by_class:
        raise DataError(f"{path}: a class folder named {by_class[''][0]!r} has no name once stripped")
    warn_case_collisions(found, path)
    names = directory_class_names(path, found, class_names)
    extensions = None if extensions is None else tuple(e.lower() for e in extensions)
    files, labels, dropped, problems = [], [], [], []
    ignored = collections.defaultdict(list)
    # Files in folder order on disk, whatever the order of the requested class names.
    for name in found:
        class_files = []
        for folder in by_class[name]:
            kept, left_out = _walk_files(os.path.join(path, folder), extensions)
            class_files.extend(kept)
            for item in left_out:
                ignored[os.path.splitext(item)[1].lower()].append(item)
        if not class_files:
            where = ", ".join(os.path.join(path, folder) for folder in by_class[name])
            wanted = f" with a supported extension ({', '.join(sorted(extensions))})" if extensions else ""
            problems.append((name, where, f"class '{name}' has no files{wanted}"))
            continue
        files.extend(class_files)
        labels.extend([name] * len(class_files))
    for extension, paths in sorted(ignored.items()):
        shown = extension or "(no extension)"
        logger.warning(
            "ignored %d %s file(s) in %s (e.g. %s): not a supported %s format; supported: %s",
            len(paths),
            shown,
            path,
            paths[0],
            what,
            ", ".join(sorted(extensions)),
        )
    for name, where, reason in problems:
        counts = _ignored_in(ignored, [os.path.join(path, f) for f in by_class[name]])
        reason += f" (ignored {counts})" if counts else ""
        if empty_classes == "error":
            raise DataError(
                f"{where}: {reason}. A class needs at least one example: add files, remove the folder, "
                "or pass empty_classes='drop' to leave the class out"
            )
        logger.warning("dropping class '%s' from %s: %s", name, path, reason)
        dropped.append((name, reason))
    kept_names = [n for n in names if n not in {d for d, _ in dropped}]
    if not kept_names:
        raise DataError(f"{path}: no class has any {what} file to read")
    return FolderScan(
        files,
        labels,
        kept_names,
        dropped,
        len(stripped),
        {extension: len(paths) for extension, paths in sorted(ignored.items())},
    )


def _ignored_in(ignored, folders):
    counts = []
    for extension, paths in sorted(ignored.items()):
        n = sum(any(p.startswith(f + os.sep) for f in folders) for p in paths)
        if n:
            counts.append(f"{n} {extension or '(no extension)'} file(s)")
    return ", ".join(counts)


def scan_directory(path, extensions=None):
    """Lists `(file_path, class_name)` pairs of a class-per-folder directory.

    `scan_class_folders` with an empty class an error.

    Args:
        path: the root directory.
        extensions: lower-case suffixes to keep (e.g. `(".png", ".jpg")`), or None for all files.

    Returns:
        `(files, labels, class_names)`: file paths, their class names, sorted class names.
    """
    scan = scan_class_folders(path, extensions)
    return scan.files, scan.labels, scan.class_names


def _walk_files(root, extensions):
    """`(kept, ignored)` file paths under `root`; hidden entries are neither."""
    seen_dirs = set()
    found, ignored = [], []

    def onerror(error):
        raise DataError(f"{error.filename}: cannot read folder ({error.strerror})")

    for dirpath, dirnames, filenames in os.walk(root, onerror=onerror, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen_dirs:
            raise DataError(f"{dirpath}: symlink loop (already visited as {real})")
        seen_dirs.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if extensions is None or os.path.splitext(name)[1].lower() in extensions:
                found.append(os.path.join(dirpath, name))
            else:
                ignored.append(os.path.join(dirpath, name))
    return found, ignored


def check_encoding(encoding):
    """The codec to decode a manifest with: `None` is UTF-8 (strict, a byte-order mark accepted)."""
    if encoding is None:
        return "utf-8-sig"
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ValueError(
            "`encoding` must be the name of a text encoding Python knows, such as 'utf-8' or "
            f"'cp1252'. Received: encoding={encoding!r}"
        ) from None
    return "utf-8-sig" if name == "utf-8" else name


def read_csv_text(path, encoding=None):
    """The text of a CSV manifest, decoded strictly; a byte that does not decode is a DataError.

    The error names the data row (1-based, after the header) and the byte
    offset, and says how to pass the file's encoding.
    """
    codec = check_encoding(encoding)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as error:
        row = _csv_record_at(raw, error.start, codec) - 1
        place = "the header" if row < 1 else f"row {row}"
        bad = raw[error.start : max(error.end, error.start + 1)][:4].hex(" ").upper()
        name = "UTF-8" if codec == "utf-8-sig" else codec
        fix = (
            "pass encoding='cp1252' (--encoding cp1252 on the command line) if it was saved by "
            "Excel on Windows, or the file's own encoding"
            if codec == "utf-8-sig"
            else "pass the file's own encoding (encoding=..., --encoding)"
        )
        raise DataError(f"{path}: {place} (byte {error.start}: 0x{bad}) is not valid {name}; {fix}") from None


def _csv_record_at(raw, offset, codec):
    """1-based CSV record (the header is 1) that holds byte `offset`; blank lines do not count."""
    prefix = raw[:offset].decode(codec, errors="replace")
    try:
        # The sentinel makes the record that the offset starts count, even at a line start.
        records = [r for r in csv.reader(io.StringIO(prefix + "x", newline="")) if r]
        return len(records)
    except csv.Error:
        return prefix.count("\n") + 1


def _is_missing(value):
    return value is None or (isinstance(value, float) and np.isnan(value))


ManifestRows = collections.namedtuple("ManifestRows", ["inputs", "labels", "rows", "stripped_labels"])

LABEL_SEPARATOR = ";"
MULTI_LABEL_COLUMN = "labels"


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


def _label_column(frame, label_column, multi_label):
    """`(column, multi_label)`: a `labels` column stands in for a missing `label` one; `None`
    detects multi-label data (a `labels` column, or a `;` in a label cell)."""
    if label_column not in frame.columns and label_column == "label" and MULTI_LABEL_COLUMN in frame.columns:
        label_column = MULTI_LABEL_COLUMN
    if multi_label is None and label_column in frame.columns:
        multi_label = label_column == MULTI_LABEL_COLUMN or any(
            LABEL_SEPARATOR in str(cell) for cell in frame[label_column] if not _is_missing(cell)
        )
    return label_column, bool(multi_label)


def load_manifest(
    manifest,
    input_column,
    label_column="label",
    base_dir=None,
    check_files=False,
    encoding=None,
    multi_label=False,
):
    """`read_manifest`, also returning how many labels had surrounding whitespace (a `ManifestRows`).

    With `multi_label` (None: detected, see `read_labeled_manifest`) every label is a tuple of
    class names."""
    if isinstance(manifest, (str, os.PathLike)):
        manifest = os.fspath(manifest)
        if not os.path.isfile(manifest):
            raise DataError(f"{manifest}: manifest not found")
        text = read_csv_text(manifest, encoding)
        try:
            # Every cell as text: "NA" or "null" is a text or a label, not a missing value;
            # an empty cell is the empty string.
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise DataError(f"{manifest}: cannot parse CSV ({error})") from None
        where = manifest
        base_dir = base_dir or os.path.dirname(os.path.abspath(manifest))
    elif isinstance(manifest, pd.DataFrame):
        check_encoding(encoding)
        frame, where = manifest, "manifest"
        base_dir = base_dir or os.getcwd()
    else:
        raise DataError(
            f"manifest must be a pandas DataFrame or a CSV path; received {type(manifest).__name__}"
        )
    check_multi_label(multi_label)
    label_column, multi_label = _label_column(frame, label_column, multi_label)
    missing = [c for c in (input_column, label_column) if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; columns are {list(frame.columns)}")
    inputs = frame[input_column].tolist()
    raw_labels = frame[label_column].tolist()
    if multi_label:
        labels = [None if _is_missing(label) else split_label_cell(label) for label in raw_labels]
        # Per cell, its first label that had surrounding whitespace (the log's example).
        stripped = [
            next(p for p in str(r).split(LABEL_SEPARATOR) if p.strip() and p != clean_label(p))
            for r, c in zip(raw_labels, labels)
            if c is not None and any(p != clean_label(p) for p in str(r).split(LABEL_SEPARATOR) if p.strip())
        ]
    else:
        labels = [None if _is_missing(label) else clean_label(label) for label in raw_labels]
        stripped = [str(r) for r, c in zip(raw_labels, labels) if c is not None and str(r) != c]
    rows = list(range(1, len(frame) + 1))
    problems = []
    for row, value, label in zip(rows, inputs, labels):
        if not label:
            problems.append(f"row {row}: missing label")
        if _is_missing(value) or (check_files and str(value).strip() == ""):
            problems.append(f"row {row}: missing {input_column}")
    # Duplicates after stripping: "a.png,cat" and "a.png,cat " are the same row.
    keys = [LABEL_SEPARATOR.join(sorted(label)) if isinstance(label, tuple) else label for label in labels]
    duplicated = pd.DataFrame({"input": inputs, "label": keys}).duplicated(keep="first")
    problems.extend(f"row {row}: duplicate of an earlier row" for row, dup in zip(rows, duplicated) if dup)
    if check_files:
        resolved = []
        for row, value in zip(rows, inputs):
            full = (
                value if not isinstance(value, str) or os.path.isabs(value) else os.path.join(base_dir, value)
            )
            if isinstance(value, str) and not os.path.isfile(full):
                # A path written on Windows ("imgs\\cat\\1.png") names no file here.
                hint = (
                    " (the path uses Windows '\\' separators; write '/' instead)"
                    if "\\" in str(value)
                    else ""
                )
                problems.append(f"row {row}: file not found: {full}{hint}")
            resolved.append(full)
        inputs = resolved
    if problems:
        shown = "; ".join(problems[:20]) + (f"; ... {len(problems) - 20} more" if len(problems) > 20 else "")
        raise DataError(f"{where}: {len(problems)} bad row(s): {shown}")
    _log_stripped(where, len(stripped), stripped[0] if stripped else "")
    warn_case_collisions(set(_label_names(labels)), where)
    return ManifestRows(inputs, labels, rows, len(stripped))


def _label_names(labels):
    """Every class name of manifest labels (names, or tuples of names), in order, with repeats."""
    return [name for label in labels for name in (label if isinstance(label, tuple) else (label,))]


def read_manifest(
    manifest, input_column, label_column="label", base_dir=None, check_files=False, encoding=None
):
    """Reads a DataFrame or CSV manifest, reporting bad rows before training.

    Labels lose their surrounding whitespace (`"cat "` is `"cat"`; logged).
    A CSV is decoded strictly: a byte that is not valid in `encoding` stops
    with the row and byte offset, never a silent replacement character.

    Args:
        manifest: a pandas DataFrame or the path of a CSV file.
        input_column: the column with inputs (`"path"` or `"text"`).
        label_column: the column with class labels.
        base_dir: folder that relative paths are relative to (default: the
            CSV's folder, or the working directory for a DataFrame).
        check_files: whether inputs are file paths that must exist.
        encoding: the CSV's text encoding (e.g. `"cp1252"`); `None` (default)
            is UTF-8, with or without a byte-order mark. Unused for a DataFrame.

    Returns:
        `(inputs, labels, rows)` lists; `rows` are 1-based data row numbers
        (the CSV line is row + 1, after the header).

    Raises:
        DataError naming the missing column, the bytes that do not decode, or
        the rows with a missing label, a duplicate entry or a path that does
        not exist.
    """
    return tuple(load_manifest(manifest, input_column, label_column, base_dir, check_files, encoding)[:3])


LabeledManifest = collections.namedtuple(
    "LabeledManifest", ["inputs", "labels", "class_names", "sources", "stripped_labels"]
)


def read_labeled_manifest(
    manifest,
    input_column,
    label_column="label",
    class_names=None,
    base_dir=None,
    check_files=False,
    encoding=None,
    multi_label=None,
):
    """`read_manifest`, then the labels checked against `class_names`.

    Multi-label manifests: a `label` cell may hold several labels separated
    by `;` (`"cat; outdoor"`), or a `labels` column replaces the `label` one.
    `multi_label=None` (default) detects either; `True` reads every cell as
    a label set, `False` never splits. Each label of a multi-label manifest
    is a tuple of class names (`split_label_cell`).

    Returns:
        A `LabeledManifest`: `inputs`, `labels`, `class_names` (sorted from
        the labels when not given), `sources` (each item's manifest row, and
        file, for messages) and `stripped_labels` (how many labels had
        surrounding whitespace).

    Raises:
        DataError naming the rows whose label is not in `class_names`, or the
        classes of `class_names` that no row has.
    """
    where = manifest_name(manifest)
    inputs, labels, rows, stripped = load_manifest(
        manifest, input_column, label_column, base_dir, check_files, encoding, multi_label=multi_label
    )
    if class_names is not None:
        class_names = [clean_label(c) for c in class_names]
        known = set(class_names)
        bad = [
            f"row {row}: label {name!r}"
            for row, label in zip(rows, labels)
            for name in _label_names([label])
            if name not in known
        ]
        if bad:
            shown = "; ".join(bad[:20]) + (f"; ... {len(bad) - 20} more" if len(bad) > 20 else "")
            raise DataError(
                f"{where}: {len(bad)} row(s) with a label not in class_names {class_names}: {shown}"
            )
        found = set(_label_names(labels))
        empty = [c for c in class_names if c not in found]
        if empty:
            raise DataError(f"{where}: classes {empty} in class_names have no rows")
    names = resolve_class_names(set(_label_names(labels)), class_names, where)
    sources = [f"{where} row {row}" + (f" ({x})" if check_files else "") for row, x in zip(rows, inputs)]
    return LabeledManifest(inputs, labels, names, sources, stripped)


def manifest_name(manifest):
    """How messages name a manifest: its path, or "manifest" for a DataFrame."""
    return os.fspath(manifest) if isinstance(manifest, (str, os.PathLike)) else "manifest"


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
        skipped=skipped,
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


__all__ = [
    "EMPTY_CLASSES",
    "LABEL_SEPARATOR",
    "MULTI_LABEL_COLUMN",
    "DataError",
    "FolderScan",
    "LabeledData",
    "LabeledManifest",
    "ManifestRows",
    "array_labels",
    "check_each",
    "check_empty_classes",
    "check_encoding",
    "check_multi_label",
    "check_on_error",
    "clean_label",
    "directory_class_names",
    "is_multi_label",
    "label_arrays",
    "labeled_data",
    "labels_to_ids",
    "load_manifest",
    "manifest_name",
    "read_csv_text",
    "read_labeled_manifest",
    "read_manifest",
    "report_bad",
    "resolve_class_names",
    "scan_class_folders",
    "scan_directory",
    "split_label_cell",
    "warn_case_collisions",
]


def check_each(sources, check, on_error="skip", verbose=1, what="files"):
    """Runs `check(source)` on every source in a thread pool, with a progress bar.

    A source whose check raises `ValueError` or `OSError` is skipped and
    counted, or stops the run (`on_error="raise"`), naming it; one bad file
    never costs the others.

    Returns:
        `(results, kept, skipped)`: the check's results and the indices of
        the sources it accepted, and `(source, reason)` for the others.
    """
    import concurrent.futures

    import keras

    check_on_error(on_error)
    results, kept, skipped = [], [], []
    bar = keras.utils.Progbar(len(sources), unit_name=what, verbose=verbose) if verbose and sources else None
    workers = min(8, (os.cpu_count() or 2) * 2)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for i, outcome in enumerate(pool.map(lambda s: _attempt(check, s), sources)):
            ok, value = outcome
            if ok:
                results.append(value)
                kept.append(i)
            else:
                # With a progress bar on the line, the "skipping" lines wait until it is done.
                report_bad(sources[i], value, on_error, skipped, log=bar is None)
            if bar is not None and (i % 64 == 0 or i == len(sources) - 1):
                bar.update(i + 1, values=[("skipped", len(skipped))] if skipped else None)
    if bar is not None:
        for source, reason in skipped:
            logger.warning("skipping %s: %s", source, reason)
    if skipped:
        logger.warning("skipped %d of %d %s (see the log above for each)", len(skipped), len(sources), what)
    return results, kept, skipped


def _attempt(check, source):
    try:
        return True, check(source)
    except (ValueError, OSError) as error:
        message = str(error)
        # Errors that already name the source need not repeat it.
        return False, message.replace(f"{source}: ", "", 1) if message.startswith(str(source)) else message
