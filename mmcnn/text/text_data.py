"""Labelled texts from a folder of `.txt` files, a manifest or Python lists.

All three return a `mmcnn.data.LabeledData` of strings (`kind="texts"`).
Awkward texts have one behaviour each, here and in the model alike:

- invalid UTF-8 bytes in a text file are replaced by U+FFFD (files are decoded
  with `errors="replace"`; the tokenizer repairs strings given as bytes the same
  way); the repaired texts are counted (`LabeledData.repaired_texts`) and logged;
- an empty text file or list item is kept: the model sees an all-padding input
  (an empty text cell in a manifest is a missing cell: see below);
- a very long text is kept whole here and truncated to `max_tokens` tokens by
  the tokenizer.

Only a file that cannot be read at all, or a manifest row with an empty or missing
text or label, is skipped and counted (or named, with `on_error="raise"`); other
manifest problems are reported with their row numbers. Rows that repeat an earlier
row are data: kept and counted (`duplicates="drop"` leaves them out). A CSV
manifest is the user's own table and is decoded strictly: a byte that is not valid
in its encoding (`encoding=`, UTF-8 by default) stops with the row and byte offset.
"""

import logging
import os

import numpy as np
import pandas as pd

from mmcnn.data import (
    LabeledData,
    array_labels,
    check_each,
    check_empty_classes,
    check_on_error,
    label_arrays,
    labeled_data,
    manifest_name,
    read_labeled_manifest,
    scan_class_folders,
)

logger = logging.getLogger("mmcnn")

TEXT_EXTENSIONS = (".txt",)


def read_text_file(path):
    """The text of a file: UTF-8 (a leading byte-order mark dropped), invalid bytes -> U+FFFD."""
    if not os.path.isfile(path):  # a FIFO or device named .txt would block the read forever
        raise ValueError(f"{path}: not a regular file")
    with open(path, "rb") as f:
        raw = f.read()
    return raw.decode("utf-8-sig", errors="replace")


def from_directory(path, class_names=None, on_error="skip", verbose=1, empty_classes="error"):
    """Texts in a folder with one sub-folder per class, one `.txt` file per text.

    Files are read in parallel with a progress bar and decoded as UTF-8;
    invalid bytes become U+FFFD (the rest of the file is kept; such files are
    counted in `repaired_texts` and logged) and an empty file is an empty text
    (an all-padding model input). A file that cannot be read is skipped and
    counted with its path, or stops with an error naming it
    (`on_error="raise"`). Files other than `.txt` are counted per extension
    in `ignored_files` and logged; class folder names lose surrounding
    whitespace.

    Args:
        path: root folder; each sub-folder is a class, sorted by name.
        class_names: optional explicit class order. Every name needs its
            folder, and every folder must be named.
        on_error: `"skip"` (default) or `"raise"`.
        verbose: 0 for no progress bar.
        empty_classes: `"error"` (default) or `"drop"`: what to do with a
            class without a readable `.txt` file (see
            `mmcnn.image.from_directory`).

    Returns:
        `LabeledData` of strings (`kind="texts"`); `sources` are the file paths.

    Raises:
        DataError: for a missing root folder, a folder without class
            sub-folders, a class folder without `.txt` files, a class in
            `class_names` without a folder or a folder not in `class_names`;
            with `on_error="raise"`, for the first unreadable file (named).

    Example:
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> for name, text in [("good", b"a fine day"), ("bad", b"bad \\xff bytes")]:
    ...     os.makedirs(os.path.join(root, name))
    ...     with open(os.path.join(root, name, "a.txt"), "wb") as f:
    ...         _ = f.write(text)
    >>> data = from_directory(root, verbose=0)
    >>> data.class_names, data.inputs
    (['bad', 'good'], ['bad \\ufffd bytes', 'a fine day'])
    """
    check_on_error(on_error)
    check_empty_classes(empty_classes)
    scan = scan_class_folders(path, TEXT_EXTENSIONS, class_names, empty_classes, what="text")
    results, kept, skipped = check_each(
        scan.files, _read_counting_repairs, on_error=on_error, verbose=verbose, what="texts"
    )
    repaired = [scan.files[i] for i, (_, was_repaired) in zip(kept, results) if was_repaired]
    _log_repaired(str(path), repaired)
    return labeled_data(
        [text for text, _ in results],
        scan.labels,
        scan.class_names,
        kept,
        skipped,
        kind="texts",
        where=str(path),
        what="text files",
        empty_classes=empty_classes,
        sources=scan.files,
        dropped_classes=scan.dropped_classes,
        stripped_labels=scan.stripped_labels,
        ignored_files=scan.ignored_files,
        repaired_texts=len(repaired),
    )


def _read_counting_repairs(path):
    """`(text, whether invalid UTF-8 was replaced)`: a U+FFFD already in the file is not a repair."""
    if not os.path.isfile(path):  # a FIFO or device named .txt would block the read forever
        raise ValueError(f"{path}: not a regular file")
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return raw.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return raw.decode("utf-8-sig", errors="replace"), True


def _log_repaired(where, repaired):
    if repaired:
        logger.warning(
            "%s: %d text(s) held invalid UTF-8, replaced by U+FFFD (e.g. %s)",
            where,
            len(repaired),
            repaired[0],
        )


def from_dataframe(
    manifest,
    text_column="text",
    label_column="label",
    class_names=None,
    on_error="skip",
    verbose=1,
    encoding=None,
    empty_classes="error",
    multi_label=None,
    duplicates="keep",
):
    """Texts listed in a pandas DataFrame or CSV manifest (`text`, `label`).

    A CSV is read with every cell as a string, so texts such as `"NA"` or
    `"null"` stay texts. It is decoded strictly with `encoding` (UTF-8 by
    default): a byte that does not decode is a `DataError` naming the row and
    byte offset, not a silent U+FFFD. Labels lose surrounding whitespace.
    A row whose text or label is empty or missing (an empty cell, only
    spaces, `None`/NaN in a DataFrame) is skipped, counted in `skipped` and
    logged with its row number (1-based data rows; the CSV line is one more,
    after the header), or named in a `DataError` with `on_error="raise"`.
    Rows that repeat an earlier row (same text and label) are data: kept and
    counted in `duplicate_rows` (and logged), or left out with
    `duplicates="drop"`. A missing column, or (with explicit `class_names`) a
    label not in the class list, is a `DataError` naming the rows. Byte
    strings in a DataFrame are decoded as UTF-8 with U+FFFD for invalid
    bytes, and counted in `repaired_texts`.

    Args:
        manifest: a pandas DataFrame or the path of a CSV file.
        text_column: the column of texts.
        label_column: the column of class labels.
        class_names: optional explicit class order; every label must be in it
            and every class must have at least one row.
        on_error: `"skip"` (default) or `"raise"`, for rows with an empty or
            missing text or label.
        verbose: unused (texts need no per-item check); kept for the common signature.
        encoding: the CSV's text encoding (e.g. `"cp1252"`); `None` is UTF-8
            (a byte-order mark accepted).
        empty_classes: accepted for the common signature; classes come from
            the rows kept, so none can end up empty.
        multi_label: `None` (default) detects a multi-label manifest (a `labels`
            column, or `;` between labels in a cell: `"cat; outdoor"`); `True`
            or `False` decides. Multi-label data has `targets` (docs/multilabel.md).
        duplicates: `"keep"` (default) or `"drop"`: rows that repeat an earlier
            row (same text and label) are data, kept and counted in
            `duplicate_rows`; `"drop"` leaves them out (`dropped_duplicates`).

    Returns:
        `LabeledData` of strings (`kind="texts"`); `sources` name the rows.

    Raises:
        DataError: naming the file, the column or the bad rows.

    Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"text": ["good", "bad", "", "bad"], "label": ["p", "n", "n", "n"]})
    >>> data = from_dataframe(frame)
    >>> data.class_names, data.inputs, data.skipped, data.duplicate_rows
    (['n', 'p'], ['good', 'bad', 'bad'], [('manifest row 3', 'missing text')], 1)
    """
    check_on_error(on_error)
    check_empty_classes(empty_classes)
    rows = read_labeled_manifest(
        manifest,
        text_column,
        label_column,
        class_names,
        encoding=encoding,
        multi_label=multi_label,
        on_error=on_error,
        duplicates=duplicates,
    )
    texts = [_to_text(t) for t in rows.inputs]
    repaired = [source for source, t in zip(rows.sources, rows.inputs) if _needs_repair(t)]
    _log_repaired(manifest_name(manifest), repaired)
    return LabeledData(
        texts,
        class_names=rows.class_names,
        **label_arrays(rows.labels, rows.class_names),
        kind="texts",
        skipped=rows.skipped,
        sources=rows.sources,
        stripped_labels=rows.stripped_labels,
        repaired_texts=len(repaired),
        duplicate_rows=rows.duplicate_rows,
        dropped_duplicates=rows.dropped_duplicates,
    )


def from_arrays(texts, labels, class_names=None):
    """Texts from Python lists (or arrays, pandas Series).

    Args:
        texts: `n` strings (`bytes` are decoded as UTF-8, invalid bytes -> U+FFFD).
        labels: `n` integer class ids or label strings.
        class_names: optional ordered class names (for string labels: every
            label must be in it; for ids: `class_names[i]` names id `i`).

    Returns:
        `LabeledData` of strings (`kind="texts"`).

    Raises:
        ValueError: naming the first item that is not a string, or for a count mismatch.

    Example:
    >>> data = from_arrays(["a good film", "a bad film"], ["pos", "neg"])
    >>> data.class_names, data.labels.tolist()
    (['neg', 'pos'], [1, 0])
    """
    if isinstance(texts, (str, bytes)):
        raise ValueError(f"`texts` must be a list of texts, not one string. Received: {texts[:50]!r}")
    items = list(texts.tolist() if isinstance(texts, (np.ndarray, pd.Series)) else texts)
    for i, item in enumerate(items):
        if not isinstance(item, (str, bytes)):
            raise ValueError(f"`texts[{i}]` must be a string. Received {type(item).__name__}: {item!r:.60}")
    ids, names = array_labels(
        np.asarray(labels.tolist() if isinstance(labels, pd.Series) else labels), class_names, "labels"
    )
    if len(ids) != len(items):
        raise ValueError(f"`texts` has {len(items)} texts but `labels` has {len(ids)} labels")
    repaired = [f"texts[{i}]" for i, t in enumerate(items) if _needs_repair(t)]
    _log_repaired("from_arrays", repaired)
    return LabeledData([_to_text(t) for t in items], ids, names, kind="texts", repaired_texts=len(repaired))


def _needs_repair(item):
    if not isinstance(item, bytes):
        return False
    try:
        item.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _to_text(item):
    if isinstance(item, bytes):
        return item.decode("utf-8", errors="replace")
    return str(item)
