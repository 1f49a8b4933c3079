"""Labelled audio from a folder, a manifest or arrays, decoded once and kept in memory.

Every file is decoded with librosa (resampled to `sample_rate`, mixed down to mono) once,
in `from_directory` / `from_dataframe`, in parallel with a progress bar; a missing, empty,
truncated, NaN-holding or undecodable file is skipped and counted with its path, or raises a
`DataError` naming it (`on_error="raise"`). A silent clip is kept where it is labelled: a
keyword-spotting "silence" or "background" class is made of such clips (their count per
class is logged). A class whose clips were all skipped is an error naming it (or is
dropped, with `empty_classes="drop"`). The decoded waveforms stay in memory, so no
epoch pays for librosa. With `cache_dir`, each decoded waveform is also stored as a float32
`.npy` file keyed by the file's path, modification time, size and the sample rate, so the
next run (another process) reads the arrays instead of decoding again.

The returned `LabeledData` has `kind="arrays"`: `inputs` is a list of 1-D float32
waveforms of any length at `sample_rate`, `sources` the file paths, and an extra
attribute `sample_rate` that `AudioClassifier.fit` checks against its own.
"""

import collections
import hashlib
import logging
import os
import tempfile

import librosa
import numpy as np

from mmcnn.audio.audio_loading import checked_waveform, is_silent, load_audio
from mmcnn.data import (
    DataError,
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

logger = logging.getLogger("mmcnn")

# Suffixes that libsndfile reads, plus those audioread reads when ffmpeg is installed.
AUDIO_EXTENSIONS = (
    ".wav",
    ".wave",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".aiff",
    ".aif",
    ".aifc",
    ".au",
    ".snd",
    ".w64",
    ".rf64",
    ".caf",
    ".m4a",
    ".aac",
    ".wma",
    ".webm",
)


def from_directory(
    path,
    sample_rate=16000,
    class_names=None,
    on_error="skip",
    extensions=AUDIO_EXTENSIONS,
    cache_dir=None,
    verbose=1,
    empty_classes="error",
):
    """Audio clips in a folder with one sub-folder per class, decoded once.

    Files with other extensions are counted per extension in `ignored_files`
    and logged once per extension; class folder names lose surrounding
    whitespace. Silent clips are kept (see the module docstring).

    Args:
        path: root folder; each sub-folder is a class, sorted by name.
        sample_rate: sample rate (Hz) the clips are resampled to; must be the
            classifier's.
        class_names: optional explicit class order (must cover the folders).
        on_error: `"skip"` (default: log and count each bad file in
            `skipped`) or `"raise"` (`DataError` naming the file).
        extensions: lower-case file suffixes to read, or `None` for every file.
        cache_dir: optional folder for decoded `.npy` waveforms, reused by
            later runs while the audio file is unchanged.
        verbose: 0 for no progress bar.
        empty_classes: what to do with a class that has no usable clip (an
            empty folder, or every file skipped): `"error"` (default,
            `DataError` naming the class and why) or `"drop"` (leave it out,
            log it, list it in `dropped_classes`).

    Returns:
        `LabeledData` of 1-D float32 waveforms (`kind="arrays"`, `sources`
        the file paths).

    Example:
    >>> import os, tempfile, numpy as np, soundfile
    >>> root = tempfile.mkdtemp()
    >>> for name, hz in (("low", 300), ("high", 2000)):
    ...     os.makedirs(os.path.join(root, name))
    ...     tone = 0.5 * np.sin(2 * np.pi * hz * np.arange(4000) / 16000)
    ...     soundfile.write(os.path.join(root, name, "a.wav"), tone, 16000)
    >>> data = from_directory(root, verbose=0)
    >>> data.class_names, data.inputs[0].shape
    (['high', 'low'], (4000,))
    """
    check_on_error(on_error)
    check_empty_classes(empty_classes)
    scan = scan_class_folders(path, extensions, class_names, empty_classes, what="audio")
    return _decoded(
        scan.files,
        scan.labels,
        scan.class_names,
        sample_rate,
        on_error,
        cache_dir,
        verbose,
        where=str(path),
        empty_classes=empty_classes,
        dropped_classes=scan.dropped_classes,
        stripped_labels=scan.stripped_labels,
        ignored_files=scan.ignored_files,
    )


def from_dataframe(
    manifest,
    sample_rate=16000,
    path_column="path",
    label_column="label",
    class_names=None,
    base_dir=None,
    on_error="skip",
    cache_dir=None,
    verbose=1,
    encoding=None,
    empty_classes="error",
    multi_label=None,
    duplicates="keep",
):
    """Audio clips listed in a pandas DataFrame or CSV manifest (`path`, `label`), decoded once.

    Paths may be absolute or relative to the CSV's folder (or `base_dir`; the
    working directory for a DataFrame). Missing columns and missing files are
    reported with their row numbers before anything is decoded; rows with an
    empty or missing path or label, and files that cannot be decoded, are
    skipped or raised as in `from_directory`. Rows that repeat an earlier row
    are kept and counted (`duplicates`).

    Args:
        manifest: a pandas DataFrame or the path of a CSV file.
        sample_rate: sample rate (Hz) the clips are resampled to.
        path_column: column holding the file paths.
        label_column: column holding the class labels.
        class_names: optional explicit class order.
        base_dir: folder relative paths are relative to.
        on_error: `"skip"` or `"raise"`.
        cache_dir: optional folder for decoded `.npy` waveforms.
        verbose: 0 for no progress bar.
        encoding: the CSV's text encoding (e.g. `"cp1252"`); `None` is UTF-8
            (a byte-order mark accepted). Bytes that do not decode stop with
            the row and byte offset.
        empty_classes: `"error"` (default) or `"drop"`, for a class whose
            clips were all skipped; see `from_directory`.
        multi_label: `None` (default) detects a multi-label manifest (a `labels`
            column, or `;` between labels in a cell: `"cat; outdoor"`); `True`
            or `False` decides. Multi-label data has `targets` (docs/multilabel.md).
        duplicates: `"keep"` (default) or `"drop"`: rows that repeat an earlier
            row (same path and label) are data, kept and counted in
            `duplicate_rows`; `"drop"` leaves them out (`dropped_duplicates`).

    Returns:
        `LabeledData` of 1-D float32 waveforms (`kind="arrays"`).
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
    return _decoded(
        manifest_rows.inputs,
        manifest_rows.labels,
        manifest_rows.class_names,
        sample_rate,
        on_error,
        cache_dir,
        verbose,
        where=manifest_name(manifest),
        empty_classes=empty_classes,
        stripped_labels=manifest_rows.stripped_labels,
        skipped_rows=manifest_rows.skipped,
        duplicate_rows=manifest_rows.duplicate_rows,
        dropped_duplicates=manifest_rows.dropped_duplicates,
    )


def from_arrays(x, y, sample_rate=16000, source_sample_rate=None, class_names=None):
    """Audio clips from arrays of waveforms.

    Args:
        x: a 2-D array `(n, samples)` of equal-length clips, or a list of 1-D
            waveforms of any lengths.
        y: integer class ids or label strings, one per clip.
        sample_rate: the classifier's sample rate (Hz).
        source_sample_rate: the rate `x` was recorded at, when it differs from
            `sample_rate` (the clips are then resampled); `None` means `x` is
            already at `sample_rate`.
        class_names: optional explicit class order.

    Returns:
        `LabeledData` of 1-D float32 waveforms (`kind="arrays"`).

    Raises:
        DataError: a clip that is not 1-D, is empty or holds NaN / infinite
            samples, named by its index.
    """
    _check_rate("sample_rate", sample_rate)
    if source_sample_rate is not None:
        _check_rate("source_sample_rate", source_sample_rate)
    if isinstance(x, np.ndarray) and x.ndim == 2:
        clips = list(x)
    elif isinstance(x, np.ndarray) and x.ndim != 2 and x.dtype != object:
        raise DataError(
            f"`x` must be a 2-D array (n, samples) or a list of 1-D waveforms. Received shape {x.shape}"
        )
    else:
        clips = list(x)
    waves = []
    for i, clip in enumerate(clips):
        wave = checked_waveform(clip, f"x[{i}]", DataError)
        if source_sample_rate is not None and source_sample_rate != sample_rate:
            wave = librosa.resample(wave, orig_sr=source_sample_rate, target_sr=sample_rate)
        waves.append(np.ascontiguousarray(wave, dtype="float32"))
    ids, names = array_labels(y, class_names)
    if len(ids) != len(waves):
        raise DataError(f"`x` has {len(waves)} clips but `y` has {len(ids)} labels")
    data = LabeledData(waves, ids, names, kind="arrays", sources=[f"x[{i}]" for i in range(len(waves))])
    data.sample_rate = sample_rate
    return data


def cache_path(path, sample_rate, cache_dir):
    """The `.npy` file that holds `path` decoded at `sample_rate` in `cache_dir`.

    The key hashes the absolute path, the modification time (ns), the size and
    the sample rate, so an edited or replaced file is decoded again.
    """
    stat = os.stat(path)
    key = f"{os.path.abspath(path)}|{stat.st_mtime_ns}|{stat.st_size}|{int(sample_rate)}"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return os.path.join(os.fspath(cache_dir), f"{digest}.npy")


def load_cached(path, sample_rate=16000, cache_dir=None):
    """`load_audio(path, sample_rate)`, read from / written to `cache_dir` when given."""
    if cache_dir is None:
        return load_audio(path, sample_rate=sample_rate)
    cached = cache_path(path, sample_rate, cache_dir)
    if os.path.exists(cached):
        try:
            return np.load(cached, allow_pickle=False)
        except (OSError, ValueError) as error:
            logger.warning("cache file %s for %s is unreadable (%s); decoding again", cached, path, error)
    wave = load_audio(path, sample_rate=sample_rate)
    # Write then rename, so a concurrent reader never sees half a file.
    fd, tmp = tempfile.mkstemp(suffix=".npy.tmp", dir=os.fspath(cache_dir))
    try:
        with os.fdopen(fd, "wb") as file:
            np.save(file, wave, allow_pickle=False)
        os.replace(tmp, cached)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return wave


def _decoded(
    files, labels, class_names, sample_rate, on_error, cache_dir, verbose, where, empty_classes, **facts
):
    _check_rate("sample_rate", sample_rate)
    if cache_dir is not None:
        os.makedirs(os.fspath(cache_dir), exist_ok=True)
    waves, kept, skipped = check_each(
        files,
        lambda f: load_cached(f, sample_rate, cache_dir),
        on_error=on_error,
        verbose=verbose,
        what="clips",
    )
    silent = collections.Counter(labels[i] for i, wave in zip(kept, waves) if is_silent(wave))
    if silent:
        # Kept, not skipped: silence is data where it is labelled (keyword spotting's "silence").
        logger.info(
            "%s: kept %d silent clip(s) (peak below -80 dBFS): %s",
            where,
            sum(silent.values()),
            ", ".join(f"{n} in '{name}'" for name, n in sorted(silent.items())),
        )
    data = labeled_data(
        waves,
        labels,
        class_names,
        kept,
        skipped,
        kind="arrays",
        where=where,
        what="clips",
        empty_classes=empty_classes,
        sources=files,
        **facts,
    )
    data.sample_rate = sample_rate
    return data


def _check_rate(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer (Hz). Received: {name}={value!r}")
