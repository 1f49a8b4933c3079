"""Class-per-folder directories: each sub-folder is a class."""

import collections
import logging
import os

from mmcnn.data.labels import _log_stripped, clean_label, resolve_class_names, warn_case_collisions
from mmcnn.data.policy import DataError, check_empty_classes

logger = logging.getLogger("mmcnn")


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
