"""Labelled images from a folder, a manifest or arrays.

All three return a `mmcnn.data.LabeledData`; `ImageClassifier.make_dataset`
turns it into a `tf.data` pipeline (parallel decode, cache when it fits,
shuffle, batch, prefetch). Problems are found here, before training, and
named by file or manifest row.
"""

import logging

import numpy as np

from mmcnn.data import (
    LabeledData,
    array_labels,
    check_each,
    check_empty_classes,
    check_on_error,
    labeled_data,
    manifest_name,
    read_labeled_manifest,
    scan_class_folders,
)
from mmcnn.image.image_files import DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, validate_image_file

logger = logging.getLogger("mmcnn")

__all__ = ["IMAGE_EXTENSIONS", "from_arrays", "from_dataframe", "from_directory"]


def from_directory(
    path,
    class_names=None,
    on_error="skip",
    max_pixels=DEFAULT_MAX_PIXELS,
    extensions=IMAGE_EXTENSIONS,
    verbose=1,
    empty_classes="error",
):
    """Images in a folder with one sub-folder per class.

    Every file is checked before training (in parallel, with a progress bar):
    a corrupt, truncated or oversized file is skipped and counted with its
    path, or stops with an error naming it (`on_error="raise"`). PNG, JPEG,
    BMP, GIF (first frame) and WebP, grey or colour, are read (the one list,
    `IMAGE_EXTENSIONS`, that manifests and `predict` use too); EXIF
    orientation is applied when the image is decoded; images of any size are
    resized by the classifier. Files with other extensions (`.heic`, `.tif`,
    `.txt` ...) are counted per extension in `ignored_files` and logged once
    per extension. Class folder names lose surrounding whitespace (`"cat "`
    and `"cat"` are one class).

    Args:
        path: root folder; each sub-folder is a class, sorted by name.
        class_names: optional explicit class order. Every name needs its
            folder, and every folder must be named.
        on_error: `"skip"` (default) or `"raise"`.
        max_pixels: refuse images whose header declares more pixels.
        extensions: file suffixes to read (lower case, with the dot), a
            subset of `IMAGE_EXTENSIONS`.
        verbose: 0 for no progress bar.
        empty_classes: what to do with a class that has no usable image
            (an empty folder, or every file skipped): `"error"` (default,
            `DataError` naming the class and why its files were skipped) or
            `"drop"` (leave the class out, log it, list it in `dropped_classes`).

    Returns:
        `LabeledData` of file paths (`kind="files"`).

    Raises:
        DataError: before any decoding, for a missing root folder, a folder
            without class sub-folders, an empty class folder, a class in
            `class_names` without a folder or a folder not in `class_names`;
            after checking the files, for a class whose files were all
            skipped (unless `empty_classes="drop"`); with `on_error="raise"`,
            for the first bad file (named).

    Example:
    >>> import numpy as np, tempfile, os
    >>> from PIL import Image
    >>> root = tempfile.mkdtemp()
    >>> for name, value in [("dark", 0), ("bright", 255)]:
    ...     os.makedirs(os.path.join(root, name))
    ...     Image.fromarray(np.full((8, 8), value, np.uint8)).save(os.path.join(root, name, "a.png"))
    >>> data = from_directory(root, verbose=0)
    >>> data.class_names, len(data)
    (['bright', 'dark'], 2)
    """
    check_on_error(on_error)
    check_empty_classes(empty_classes)
    extensions = tuple(e.lower() for e in extensions)
    unknown = [e for e in extensions if e not in IMAGE_EXTENSIONS]
    if unknown:
        raise ValueError(
            f"`extensions` must be a subset of {list(IMAGE_EXTENSIONS)} (the formats training, predict "
            f"and the export decode alike). Received: extensions={list(extensions)}"
        )
    scan = scan_class_folders(path, extensions, class_names, empty_classes, what="image")
    return _checked(
        scan.files,
        scan.labels,
        scan.class_names,
        on_error,
        max_pixels,
        verbose,
        where=str(path),
        empty_classes=empty_classes,
        dropped_classes=scan.dropped_classes,
        stripped_labels=scan.stripped_labels,
        ignored_files=scan.ignored_files,
    )


def from_dataframe(
    manifest,
    path_column="path",
    label_column="label",
    class_names=None,
    base_dir=None,
    on_error="skip",
    max_pixels=DEFAULT_MAX_PIXELS,
    verbose=1,
    encoding=None,
    empty_classes="error",
    multi_label=None,
    duplicates="keep",
):
    """Images listed in a pandas DataFrame or CSV manifest (`path`, `label`).

    Relative paths are relative to the CSV's folder (for a DataFrame: the
    working directory), or to `base_dir`. A missing column, and rows with a
    missing file or (with explicit `class_names`) a label not in the class
    list, are all reported with their row numbers (1-based data rows; the CSV
    line is one more, after the header) before anything is decoded. Rows with
    an empty or missing path or label, and files that exist but cannot be
    used (not decodable, or an extension not in `IMAGE_EXTENSIONS`, the list
    folder scanning uses), are skipped and counted, or named
    (`on_error="raise"`). Rows that repeat an earlier row are kept and
    counted (`duplicates`). Labels lose surrounding whitespace.

    Args:
        manifest: a pandas DataFrame or the path of a CSV file.
        path_column: the column of image paths.
        label_column: the column of class labels.
        class_names: optional explicit class order; every label must be in it
            and every class must have at least one row.
        base_dir: folder that relative paths are relative to.
        on_error: `"skip"` (default) or `"raise"`.
        max_pixels: refuse images whose header declares more pixels.
        verbose: 0 for no progress bar.
        encoding: the CSV's text encoding (e.g. `"cp1252"`); `None` is UTF-8
            (a byte-order mark accepted). Bytes that do not decode stop with
            the row and byte offset, never a silent replacement.
        empty_classes: `"error"` (default) or `"drop"`, for a class whose
            files were all skipped; see `from_directory`.
        multi_label: `None` (default) detects a multi-label manifest (a `labels`
            column, or `;` between labels in a cell: `"cat; outdoor"`); `True`
            or `False` decides. Multi-label data has `targets` (docs/multilabel.md).
        duplicates: `"keep"` (default) or `"drop"`: rows that repeat an earlier
            row (same path and label) are data, kept and counted in
            `duplicate_rows`; `"drop"` leaves them out (`dropped_duplicates`).

    Returns:
        `LabeledData` of absolute or base-relative file paths (`kind="files"`).

    Raises:
        DataError: naming the column, the bad rows, the undecodable bytes,
            or a class whose files were all skipped.
    """
    check_on_error(on_error)
    check_empty_classes(empty_classes)
    manifest_rows = read_labeled_manifest(
        manifest,
        path_column,
        label_column,
        class_names,
        base_dir,
        check_files=True,
        encoding=encoding,
        multi_label=multi_label,
        on_error=on_error,
        duplicates=duplicates,
    )
    return _checked(
        manifest_rows.inputs,
        manifest_rows.labels,
        manifest_rows.class_names,
        on_error,
        max_pixels,
        verbose,
        where=manifest_name(manifest),
        empty_classes=empty_classes,
        sources=manifest_rows.sources,
        stripped_labels=manifest_rows.stripped_labels,
        skipped_rows=manifest_rows.skipped,
        duplicate_rows=manifest_rows.duplicate_rows,
        dropped_duplicates=manifest_rows.dropped_duplicates,
    )


def from_arrays(x, y, class_names=None):
    """Images from arrays, with values 0..255 (not scaled to 0..1).

    Args:
        x: a batch array `(n, height, width)` (grey) or
            `(n, height, width, channels)` (channels 1-4), or a list of
            `(height, width[, channels])` arrays of different sizes (each is
            resized by the classifier, like files).
        y: `n` integer class ids or label strings.
        class_names: optional ordered class names (for string labels: every
            label must be in it; for ids: `class_names[i]` names id `i`).

    Returns:
        `LabeledData` of float32 pixels (`kind="arrays"`).

    Raises:
        ValueError: for a wrong shape or count, or non-finite pixels (naming
            the first bad images).

    Example:
    >>> import numpy as np
    >>> data = from_arrays(np.zeros((4, 8, 8), "uint8"), ["a", "b", "a", "b"])
    >>> data.class_names, data.inputs.shape
    (['a', 'b'], (4, 8, 8, 1))
    """
    if isinstance(x, (list, tuple)) and len(x) and len({np.shape(item) for item in x}) > 1:
        images = [_one_image(item, i) for i, item in enumerate(x)]
    else:
        images = np.asarray(x)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or not 1 <= images.shape[-1] <= 4:
            raise ValueError(
                "`x` must have shape (n, height, width) or (n, height, width, channels) "
                f"with 1 to 4 channels. Received: x.shape={images.shape}"
            )
        if images.dtype.kind not in "uif":
            raise ValueError(f"`x` must hold numbers. Received: x.dtype={images.dtype}")
        images = images.astype("float32")
        bad = np.flatnonzero(~np.isfinite(images.reshape(len(images), -1)).all(axis=1))
        if len(bad):
            raise ValueError(f"`x` has non-finite pixels (NaN or inf) in images {bad[:10].tolist()}")
    ids, names = array_labels(y, class_names)
    if len(ids) != len(images):
        raise ValueError(f"`x` has {len(images)} images but `y` has {len(ids)} labels")
    peak = (
        max((float(np.max(image)) for image in images), default=0.0)
        if isinstance(images, list)
        else (float(images.max()) if images.size else 0.0)
    )
    if 0 < peak <= 1.0:
        # A common slip: arrays already scaled to [0, 1] train on nearly black images.
        logger.warning(
            "from_arrays: pixel values lie in [0, %g]; mmcnn expects 0..255 (the adapter scales them)", peak
        )
    return LabeledData(images, ids, names, kind="arrays")


def _one_image(item, index):
    image = np.asarray(item)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or not 1 <= image.shape[-1] <= 4 or image.dtype.kind not in "uif":
        raise ValueError(
            f"`x[{index}]` must be a numeric (height, width[, channels]) image with 1 "
            f"to 4 channels. Received: shape={image.shape}, dtype={image.dtype}"
        )
    image = image.astype("float32")
    if not np.isfinite(image).all():
        raise ValueError(f"`x[{index}]` has non-finite pixels (NaN or inf)")
    return image


def _checked(files, labels, class_names, on_error, max_pixels, verbose, where, empty_classes, **facts):
    _, kept, skipped = check_each(
        files,
        lambda f: validate_image_file(f, max_pixels=max_pixels),
        on_error=on_error,
        verbose=verbose,
        what="images",
    )
    return labeled_data(
        [files[i] for i in kept],
        labels,
        class_names,
        kept,
        skipped,
        kind="files",
        where=where,
        what="images",
        empty_classes=empty_classes,
        **facts,
    )
