"""Labelled images from a folder, a manifest or arrays."""

import numpy as np

from mmcnn.data import (LabeledData, array_labels, check_each, check_on_error, labels_to_ids,
                        read_manifest, resolve_class_names, scan_directory)
from mmcnn.image.image_converter import DEFAULT_MAX_PIXELS, validate_image_file

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def from_directory(path, class_names=None, on_error="skip", max_pixels=DEFAULT_MAX_PIXELS,
                   extensions=IMAGE_EXTENSIONS, verbose=1):
    """Images in a folder with one sub-folder per class.

    Every file is checked before training (in parallel, with a progress bar):
    a corrupt, truncated or oversized file is skipped and counted with its
    path, or stops with an error naming it (`on_error="raise"`).

    Args:
        path: root folder; each sub-folder is a class, sorted by name.
        class_names: optional explicit class order (must cover the folders).
        on_error: `"skip"` (default) or `"raise"`.
        max_pixels: refuse images whose header declares more pixels.
        extensions: file suffixes to read.
        verbose: 0 for no progress bar.

    Returns:
        `LabeledData` of file paths.
    """
    check_on_error(on_error)
    files, labels, found = scan_directory(path, extensions)
    names = resolve_class_names(found, class_names, path)
    return _checked(files, labels, names, on_error, max_pixels, verbose)


def from_dataframe(manifest, path_column="path", label_column="label", class_names=None,
                   base_dir=None, on_error="skip", max_pixels=DEFAULT_MAX_PIXELS, verbose=1):
    """Images listed in a pandas DataFrame or CSV manifest (`path`, `label`).

    Relative paths are relative to the CSV's folder (or `base_dir`). Missing
    columns, missing labels, duplicate rows and missing files are reported
    with their row numbers before anything is decoded.
    """
    check_on_error(on_error)
    paths, labels, _ = read_manifest(manifest, path_column, label_column, base_dir, check_files=True)
    names = resolve_class_names(set(labels), class_names, str(manifest) if isinstance(manifest, str) else "manifest")
    return _checked(paths, labels, names, on_error, max_pixels, verbose)


def from_arrays(x, y, class_names=None):
    """Images from arrays: `x` of shape `(n, height, width)` or `(n, height, width, channels)`
    with values 0..255, `y` integer ids or label strings."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"`x` must have shape (n, height, width[, channels]). Received shape {x.shape}")
    ids, names = array_labels(y, class_names)
    if len(ids) != len(x):
        raise ValueError(f"`x` has {len(x)} images but `y` has {len(ids)} labels")
    return LabeledData(x.astype("float32"), ids, names, kind="arrays")


def _checked(files, labels, class_names, on_error, max_pixels, verbose):
    _, kept, skipped = check_each(files, lambda f: validate_image_file(f, max_pixels=max_pixels),
                                  on_error=on_error, verbose=verbose, what="images")
    return LabeledData([files[i] for i in kept], labels_to_ids([labels[i] for i in kept], class_names),
                       class_names, kind="files", skipped=skipped)
