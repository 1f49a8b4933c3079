"""All-or-nothing writes: an export appears whole or not at all, and replaces an older one only when asked.

Every export format writes into a hidden temporary path beside the target
(`atomic_write`), and the result is renamed into place only when complete. A
failure at any step removes the temporary path and leaves whatever was at the
target untouched; `overwrite=True` replaces an earlier export of the same kind,
never an arbitrary file or folder. `replaced_file` does the same for one plain
file (a JSON record, a `.npy` array). Either way an error names the target the
caller gave, never the temporary name (`about_target`).
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


@contextlib.contextmanager
def _cleaned_up(tmp, path):
    """On any exception in the block: removes `tmp` and raises the error as about `path` (`about_target`)."""
    try:
        yield
    except BaseException as error:
        _remove(tmp)
        named = about_target(error, tmp, path)
        if named is error:
            raise
        raise named from None


def about_target(error, tmp, path):
    """`error` as the caller should read it: about `path`, not the temporary `tmp` it came from.

    An `OSError` that names `tmp` becomes the same kind of error (same
    `errno`) saying `cannot write PATH: REASON`, where a missing folder is named
    as such; another error type gets `tmp` replaced by `path` in its message
    (or is returned as it is when its type cannot be made from a message)."""
    text = str(error)
    names = {tmp, os.path.basename(tmp)}
    if not any(name and name in text for name in names) and getattr(error, "filename", None) != tmp:
        return error
    if isinstance(error, OSError):
        folder = os.path.dirname(os.path.abspath(path))
        reason = error.strerror or text.replace(tmp, path)
        if isinstance(error, FileNotFoundError) and not os.path.isdir(folder):
            reason = f"the folder {folder} does not exist"
        named = type(error)(f"cannot write {path}: {reason}")
        named.errno = error.errno
        return named
    try:
        return type(error)(text.replace(tmp, path).replace(os.path.basename(tmp), os.path.basename(path)))
    except Exception:  # noqa: BLE001 - an exception type that needs other arguments: keep it
        return error


@contextlib.contextmanager
def replaced_file(path, suffix=""):
    """Yields a temporary file name beside `path` to write; renames it to `path` when the block succeeds.

    `suffix` ends the temporary name (`.npy`: `numpy.save` adds it otherwise).
    On any exception the temporary file is removed and `path` is left as it
    was; an error about the temporary file names `path` instead.

    Example:
    >>> import json, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "record.json")
    >>> with replaced_file(path) as tmp:
    ...     with open(tmp, "w") as f:
    ...         json.dump({"ok": True}, f)
    >>> open(path).read()
    '{"ok": true}'
    >>> with replaced_file(os.path.join(path + "-missing", "x.json")) as tmp:
    ...     open(tmp, "w")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    FileNotFoundError: cannot write ...x.json: the folder ...record.json-missing does not exist
    """
    path = os.fspath(path)
    parent, base = os.path.split(path)
    tmp = os.path.join(parent, f".{base}.tmp-{uuid.uuid4().hex[:8]}{suffix}")
    with _cleaned_up(tmp, path):
        yield tmp
        os.replace(tmp, path)


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
    with _cleaned_up(tmp, path):
        yield tmp
        check_target(path, overwrite, is_replaceable, what)  # it may have appeared meanwhile
        move_into_place(tmp, path)
