"""All-or-nothing writes: an export appears whole or not at all, and replaces an older one only when asked.

Every export format writes into a hidden temporary path beside the target
(`atomic_write`), and the result is renamed into place only when complete. A
failure at any step removes the temporary path and leaves whatever was at the
target untouched; `overwrite=True` replaces an earlier export of the same kind,
never an arbitrary file or folder.
"""

import contextlib
import os
import shutil
import tempfile
import uuid


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


def check_target(path, overwrite, is_replaceable, what):
    """Raises `FileExistsError` unless `path` is free, or `overwrite` and `is_replaceable(path)`.

    Args:
        path: the target.
        overwrite: whether an existing export may be replaced.
        is_replaceable: `path -> bool`, true for something this format wrote
            (e.g. a SavedModel directory) that `overwrite` may replace.
        what: the kind of thing, for the message ("a SavedModel directory").
    """
    if not os.path.lexists(path):
        return
    if not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    if not is_replaceable(path):
        raise FileExistsError(
            f"{path} exists and is not {what}; refusing to replace it even with overwrite=True"
        )


def move_into_place(tmp, path):
    """Renames `tmp` to `path`; an existing `path` is moved aside first and restored on failure."""
    if not os.path.lexists(path):
        os.rename(tmp, path)
        return
    parent, base = os.path.split(path)
    aside = os.path.join(parent, f".{base}.old-{uuid.uuid4().hex[:8]}")
    os.rename(path, aside)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(aside, path)
        raise
    _remove(aside)


@contextlib.contextmanager
def atomic_write(path, overwrite, is_replaceable, what, directory=True):
    """Yields a temporary path beside `path` to write; moves it into place when the block succeeds.

    `directory` says whether the export is a folder (the temporary folder is
    made) or one file (only its name is chosen). On any exception the
    temporary path is removed and `path` is left as it was.
    """
    path = os.path.abspath(os.fspath(path))
    check_target(path, overwrite, is_replaceable, what)
    parent, base = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    if directory:
        tmp = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
    else:
        tmp = os.path.join(parent, f".{base}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        check_target(path, overwrite, is_replaceable, what)  # it may have appeared meanwhile
        move_into_place(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
