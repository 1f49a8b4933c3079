"""CSV and DataFrame manifests: one row per item, an input column and a label column."""

import codecs
import collections
import csv
import io
import logging
import os

import numpy as np
import pandas as pd

from mmcnn.data.labels import (
    LABEL_SEPARATOR,
    MULTI_LABEL_COLUMN,
    _label_names,
    _log_stripped,
    check_multi_label,
    clean_label,
    resolve_class_names,
    split_label_cell,
    warn_case_collisions,
)
from mmcnn.data.policy import DataError, check_on_error

logger = logging.getLogger("mmcnn")


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


ManifestRows = collections.namedtuple(
    "ManifestRows",
    ["inputs", "labels", "rows", "stripped_labels", "skipped", "duplicate_rows", "dropped_duplicates"],
)
ManifestRows.__doc__ = """What `load_manifest` read.

Fields: `inputs`, `labels` and `rows` (1-based data row numbers) of the rows
kept; `stripped_labels` (how many labels had surrounding whitespace);
`skipped` (`(source, reason)` of rows left out for an empty or missing cell);
`duplicate_rows` (rows kept that repeat an earlier row) and
`dropped_duplicates` (such rows left out, with `duplicates="drop"`).
"""

DUPLICATES = ("keep", "drop")


def check_duplicates(duplicates):
    if duplicates not in DUPLICATES:
        raise ValueError(
            f"`duplicates` must be one of {list(DUPLICATES)}. Received: duplicates={duplicates!r}"
        )
    return duplicates


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
    on_error="skip",
    duplicates="keep",
):
    """`read_manifest`, also returning what was left out or changed (a `ManifestRows`).

    With `multi_label` (None: detected, see `read_labeled_manifest`) every label is a tuple of
    class names."""
    check_on_error(on_error)
    check_duplicates(duplicates)
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
    else:
        labels = [None if _is_missing(label) else clean_label(label) for label in raw_labels]
    rows = list(range(1, len(frame) + 1))
    problems = []
    # An empty or missing cell is bad input, like a broken file: skipped and counted, or named.
    empty = [
        (row, reason)
        for row, value, label in zip(rows, inputs, labels)
        if (reason := _empty(value, label, input_column))
    ]
    skipped = []
    for row, reason in empty:
        if on_error == "raise":
            problems.append(f"row {row}: {reason}")
        else:
            skipped.append((f"{where} row {row}", reason))
    if skipped:
        logger.warning(
            "%s: skipping %d row(s) with an empty or missing cell: %s",
            where,
            len(skipped),
            _shown([f"row {row}: {reason}" for row, reason in empty]),
        )
    bad = {row for row, _ in empty}
    keep = [i for i, row in enumerate(rows) if row not in bad]
    inputs, labels, rows = ([column[i] for i in keep] for column in (inputs, labels, rows))
    stripped = _stripped_labels([raw_labels[i] for i in keep], multi_label)
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
        raise DataError(f"{where}: {len(problems)} bad row(s): {_shown(problems)}")
    repeats = _repeated_rows(inputs, labels, rows)
    if repeats:
        row, earlier = repeats[0]
        logger.warning(
            "%s: %d row(s) repeat an earlier row (e.g. row %d repeats row %d); %s",
            where,
            len(repeats),
            row,
            earlier,
            "left out (duplicates='drop')"
            if duplicates == "drop"
            else "kept as data (duplicates='drop' leaves them out)",
        )
    if duplicates == "drop":
        gone = {row for row, _ in repeats}
        keep = [i for i, row in enumerate(rows) if row not in gone]
        inputs, labels, rows = ([column[i] for i in keep] for column in (inputs, labels, rows))
    _log_stripped(where, len(stripped), stripped[0] if stripped else "")
    warn_case_collisions(set(_label_names(labels)), where)
    counts = (len(repeats), 0) if duplicates == "keep" else (0, len(repeats))
    return ManifestRows(inputs, labels, rows, len(stripped), skipped, *counts)


def _empty(value, label, input_column):
    """Why a row cannot be used ("missing label", ...), or "" when its cells are all there."""
    reasons = [] if label else ["missing label"]
    if _is_missing(value) or (isinstance(value, (str, bytes)) and not value.strip()):
        reasons.append(f"missing {input_column}")
    return " and ".join(reasons)


def _stripped_labels(raw_labels, multi_label):
    """The label cells that had surrounding whitespace. In a multi-label cell, spaces around
    the `;` separators are part of the format (`"cat; outdoor"`); only the cell's own count."""
    if multi_label:
        return [str(r) for r in raw_labels if str(r) != str(r).strip()]
    return [str(r) for r in raw_labels if str(r) != clean_label(r)]


def _repeated_rows(inputs, labels, rows):
    """`(row, earlier_row)` of each row whose input and label repeat an earlier row's.

    Compared after stripping: "a.png,cat" and "a.png,cat " are the same row; so are the
    label sets "a;b" and "b ; a"."""
    first, repeats = {}, []
    for value, label, row in zip(inputs, labels, rows):
        names = LABEL_SEPARATOR.join(sorted(label)) if isinstance(label, tuple) else label
        key = (value if isinstance(value, (str, bytes)) else repr(value), names)
        if key in first:
            repeats.append((row, first[key]))
        else:
            first[key] = row
    return repeats


def _shown(problems, limit=20):
    more = f"; ... {len(problems) - limit} more" if len(problems) > limit else ""
    return "; ".join(problems[:limit]) + more


def read_manifest(
    manifest,
    input_column,
    label_column="label",
    base_dir=None,
    check_files=False,
    encoding=None,
    on_error="skip",
    duplicates="keep",
):
    """Reads a DataFrame or CSV manifest, reporting bad rows before training.

    Labels lose their surrounding whitespace (`"cat "` is `"cat"`; logged).
    A CSV is decoded strictly: a byte that is not valid in `encoding` stops
    with the row and byte offset, never a silent replacement character.
    A row with an empty or missing cell (input or label) is bad input, like a
    broken file: skipped and logged by row number (`on_error="skip"`), or
    named in the `DataError` (`on_error="raise"`). Rows that repeat an earlier
    row (same input, same label) are data: kept and logged
    (`duplicates="keep"`), or left out (`duplicates="drop"`).

    Args:
        manifest: a pandas DataFrame or the path of a CSV file.
        input_column: the column with inputs (`"path"` or `"text"`).
        label_column: the column with class labels.
        base_dir: folder that relative paths are relative to (default: the
            CSV's folder, or the working directory for a DataFrame).
        check_files: whether inputs are file paths that must exist.
        encoding: the CSV's text encoding (e.g. `"cp1252"`); `None` (default)
            is UTF-8, with or without a byte-order mark. Unused for a DataFrame.
        on_error: `"skip"` (default) or `"raise"`, for rows with an empty or
            missing cell.
        duplicates: `"keep"` (default) or `"drop"`, for rows that repeat an
            earlier row.

    Returns:
        `(inputs, labels, rows)` lists of the rows kept; `rows` are 1-based
        data row numbers (the CSV line is row + 1, after the header).

    Raises:
        DataError naming the missing column, the bytes that do not decode, or
        the rows with a path that does not exist (and, with
        `on_error="raise"`, those with an empty or missing cell).
    """
    return tuple(
        load_manifest(
            manifest,
            input_column,
            label_column,
            base_dir,
            check_files,
            encoding,
            on_error=on_error,
            duplicates=duplicates,
        )[:3]
    )


LabeledManifest = collections.namedtuple(
    "LabeledManifest",
    [
        "inputs",
        "labels",
        "class_names",
        "sources",
        "stripped_labels",
        "skipped",
        "duplicate_rows",
        "dropped_duplicates",
    ],
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
    on_error="skip",
    duplicates="keep",
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
        file, for messages), `stripped_labels` (how many labels had
        surrounding whitespace), `skipped` (`(source, reason)` of rows with
        an empty or missing cell), `duplicate_rows` (rows kept that repeat
        an earlier row) and `dropped_duplicates` (such rows left out).

    Raises:
        DataError naming the rows whose label is not in `class_names`, or the
        classes of `class_names` that no row has.
    """
    where = manifest_name(manifest)
    read = load_manifest(
        manifest,
        input_column,
        label_column,
        base_dir,
        check_files,
        encoding,
        multi_label=multi_label,
        on_error=on_error,
        duplicates=duplicates,
    )
    inputs, labels, rows = read.inputs, read.labels, read.rows
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
    return LabeledManifest(
        inputs,
        labels,
        names,
        sources,
        read.stripped_labels,
        read.skipped,
        read.duplicate_rows,
        read.dropped_duplicates,
    )


def manifest_name(manifest):
    """How messages name a manifest: its path, or "manifest" for a DataFrame."""
    return os.fspath(manifest) if isinstance(manifest, (str, os.PathLike)) else "manifest"
