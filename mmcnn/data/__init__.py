"""Labelled data shared by every modality: folders, manifests, arrays.

`from_directory`, `from_dataframe` and `from_arrays` of each modality return a
`LabeledData`. Problems are found before training starts and named by file or
manifest row; bad items are skipped and counted (`on_error="skip"`, the
default) or stop with a `DataError` (`on_error="raise"`).
"""

import logging
import os

import numpy as np
import pandas as pd

logger = logging.getLogger("mmcnn")

ON_ERROR = ("skip", "raise")


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
    """

    def __init__(self, inputs, labels, class_names, kind, skipped=(), sources=None):
        if kind not in ("files", "arrays", "texts"):
            raise ValueError(f"`kind` must be 'files', 'arrays' or 'texts'. Received: kind={kind!r}")
        self.inputs = inputs
        self.labels = np.asarray(labels, dtype="int32")
        self.class_names = [str(c) for c in class_names]
        self.kind = kind
        self.skipped = list(skipped)
        self.sources = list(sources) if sources is not None else None
        if len(self.inputs) != len(self.labels):
            raise DataError(f"{len(self.inputs)} inputs but {len(self.labels)} labels")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.class_names)):
            raise DataError(
                f"labels must lie in [0, {len(self.class_names)}); "
                f"received {self.labels.min()}..{self.labels.max()}"
            )

    def __len__(self):
        return len(self.labels)

    def __repr__(self):
        return (
            f"LabeledData({len(self)} {self.kind}, {len(self.class_names)} classes, "
            f"{len(self.skipped)} skipped)"
        )

    def subset(self, indices):
        """A new LabeledData with the items at `indices` (same class names)."""
        indices = np.asarray(indices, dtype=int)
        if isinstance(self.inputs, np.ndarray):
            inputs = self.inputs[indices]
        else:
            inputs = [self.inputs[i] for i in indices]
        sources = [self.sources[i] for i in indices] if self.sources is not None else None
        return LabeledData(
            inputs, self.labels[indices], self.class_names, self.kind, skipped=(), sources=sources
        )

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
        first.skipped = list(self.skipped)
        return first, second

    def class_counts(self):
        return np.bincount(self.labels, minlength=len(self.class_names))


def check_on_error(on_error):
    if on_error not in ON_ERROR:
        raise ValueError(f"`on_error` must be one of {list(ON_ERROR)}. Received: on_error={on_error!r}")
    return on_error


def report_bad(source, reason, on_error, skipped):
    """Skip-and-count or raise, naming the source."""
    if on_error == "raise":
        raise DataError(f"{source}: {reason}")
    logger.warning("skipping %s: %s", source, reason)
    skipped.append((str(source), str(reason)))


def resolve_class_names(found, class_names, where):
    """Checks requested class names against those found in the data."""
    if class_names is None:
        return sorted(found)
    class_names = [str(c) for c in class_names]
    unknown = sorted(set(found) - set(class_names))
    if unknown:
        raise DataError(f"{where}: labels {unknown} are not in class_names {class_names}")
    return class_names


def directory_class_names(path, found, class_names):
    """`resolve_class_names` for a class-per-folder directory: every requested class needs a folder."""
    if class_names is not None:
        absent = [str(c) for c in class_names if str(c) not in found]
        if absent:
            raise DataError(
                f"{os.fspath(path)}: classes {absent} in class_names have no folder; "
                f"class folders are {list(found)}"
            )
    return resolve_class_names(found, class_names, os.fspath(path))


def scan_directory(path, extensions=None):
    """Lists `(file_path, class_name)` pairs of a class-per-folder directory.

    Each sub-folder of `path` is a class (sorted by name); files anywhere under
    it belong to that class. Hidden files are ignored. A missing directory, a
    directory without class folders, an empty class, a symlink loop or an
    unreadable folder raises `DataError` naming it, before any training.

    Args:
        path: the root directory.
        extensions: lower-case suffixes to keep (e.g. `(".png", ".jpg")`), or None for all files.

    Returns:
        `(files, labels, class_names)`: file paths, their class names, sorted class names.
    """
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise DataError(f"{path}: not a directory (expected one sub-folder per class)")
    classes = sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise DataError(f"{path}: no class sub-folders (expected one sub-folder per class)")
    files, labels = [], []
    for name in classes:
        found = _walk_files(os.path.join(path, name), extensions)
        if not found:
            wanted = f" with extensions {sorted(extensions)}" if extensions else ""
            raise DataError(f"{os.path.join(path, name)}: class '{name}' has no files{wanted}")
        files.extend(found)
        labels.extend([name] * len(found))
    return files, labels, classes


def _walk_files(root, extensions):
    seen_dirs = set()
    found = []

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
    return found


def read_manifest(manifest, input_column, label_column="label", base_dir=None, check_files=False):
    """Reads a DataFrame or CSV manifest, reporting bad rows before training.

    Args:
        manifest: a pandas DataFrame or the path of a CSV file.
        input_column: the column with inputs (`"path"` or `"text"`).
        label_column: the column with class labels.
        base_dir: folder that relative paths are relative to (default: the
            CSV's folder, or the working directory for a DataFrame).
        check_files: whether inputs are file paths that must exist.

    Returns:
        `(inputs, labels, rows)` lists; `rows` are 1-based data row numbers
        (the CSV line is row + 1, after the header).

    Raises:
        DataError naming the missing column, or the rows with a missing label,
        a duplicate entry or a path that does not exist.
    """
    if isinstance(manifest, (str, os.PathLike)):
        manifest = os.fspath(manifest)
        if not os.path.isfile(manifest):
            raise DataError(f"{manifest}: manifest not found")
        try:
            # Every cell as text: "NA" or "null" is a text or a label, not a missing value;
            # an empty cell is the empty string. Invalid UTF-8 is replaced, not fatal.
            frame = pd.read_csv(
                manifest, dtype=str, keep_default_na=False, encoding="utf-8", encoding_errors="replace"
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise DataError(f"{manifest}: cannot parse CSV ({error})") from None
        where = manifest
        base_dir = base_dir or os.path.dirname(os.path.abspath(manifest))
    elif isinstance(manifest, pd.DataFrame):
        frame, where = manifest, "manifest"
        base_dir = base_dir or os.getcwd()
    else:
        raise DataError(
            f"manifest must be a pandas DataFrame or a CSV path; received {type(manifest).__name__}"
        )
    missing = [c for c in (input_column, label_column) if c not in frame.columns]
    if missing:
        raise DataError(f"{where}: missing column(s) {missing}; columns are {list(frame.columns)}")
    inputs = frame[input_column].tolist()
    labels = frame[label_column].tolist()
    rows = list(range(1, len(frame) + 1))
    problems = []
    for row, value, label in zip(rows, inputs, labels):
        if label is None or (isinstance(label, float) and np.isnan(label)) or str(label).strip() == "":
            problems.append(f"row {row}: missing label")
        missing_value = value is None or (isinstance(value, float) and np.isnan(value))
        if missing_value or (check_files and str(value).strip() == ""):
            problems.append(f"row {row}: missing {input_column}")
    duplicated = frame.duplicated(subset=[input_column, label_column], keep="first")
    problems.extend(f"row {row}: duplicate of an earlier row" for row, dup in zip(rows, duplicated) if dup)
    if check_files:
        resolved = []
        for row, value in zip(rows, inputs):
            full = (
                value if not isinstance(value, str) or os.path.isabs(value) else os.path.join(base_dir, value)
            )
            if isinstance(value, str) and not os.path.isfile(full):
                problems.append(f"row {row}: file not found: {full}")
            resolved.append(full)
        inputs = resolved
    if problems:
        shown = "; ".join(problems[:20]) + (f"; ... {len(problems) - 20} more" if len(problems) > 20 else "")
        raise DataError(f"{where}: {len(problems)} bad row(s): {shown}")
    return inputs, [str(label) for label in labels], rows


def read_labeled_manifest(
    manifest, input_column, label_column="label", class_names=None, base_dir=None, check_files=False
):
    """`read_manifest`, then the labels checked against `class_names`.

    Returns:
        `(inputs, labels, class_names, sources)`: `class_names` sorted from
        the labels when not given; `sources` name each item's manifest row
        (and file) for messages.

    Raises:
        DataError naming the rows whose label is not in `class_names`, or the
        classes of `class_names` that no row has.
    """
    where = os.fspath(manifest) if isinstance(manifest, (str, os.PathLike)) else "manifest"
    inputs, labels, rows = read_manifest(manifest, input_column, label_column, base_dir, check_files)
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        known = set(class_names)
        bad = [f"row {row}: label {label!r}" for row, label in zip(rows, labels) if label not in known]
        if bad:
            shown = "; ".join(bad[:20]) + (f"; ... {len(bad) - 20} more" if len(bad) > 20 else "")
            raise DataError(
                f"{where}: {len(bad)} row(s) with a label not in class_names {class_names}: {shown}"
            )
        empty = [c for c in class_names if c not in set(labels)]
        if empty:
            raise DataError(f"{where}: classes {empty} in class_names have no rows")
    names = resolve_class_names(set(labels), class_names, where)
    sources = [f"{where} row {row}" + (f" ({x})" if check_files else "") for row, x in zip(rows, inputs)]
    return inputs, labels, names, sources


def labels_to_ids(labels, class_names):
    index = {name: i for i, name in enumerate(class_names)}
    return np.asarray([index[str(label)] for label in labels], dtype="int32")


def array_labels(y, class_names, where="y"):
    """Integer ids and class names from label values (ints or strings)."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"`{where}` must be a 1-D array of labels. Received shape {y.shape}")
    if y.dtype.kind in "iu":
        n = int(y.max()) + 1 if len(y) else 0
        names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(n)]
        if len(y) and (y.min() < 0 or y.max() >= len(names)):
            raise DataError(f"`{where}` holds ids outside [0, {len(names)})")
        return y.astype("int32"), names
    names = resolve_class_names({str(v) for v in y}, class_names, where)
    return labels_to_ids(y, names), names


__all__ = [
    "DataError",
    "LabeledData",
    "array_labels",
    "check_each",
    "check_on_error",
    "directory_class_names",
    "labels_to_ids",
    "read_labeled_manifest",
    "read_manifest",
    "report_bad",
    "resolve_class_names",
    "scan_directory",
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
                report_bad(sources[i], value, on_error, skipped)
            if bar is not None and (i % 64 == 0 or i == len(sources) - 1):
                bar.update(i + 1, values=[("skipped", len(skipped))] if skipped else None)
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
