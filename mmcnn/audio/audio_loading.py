"""Reading audio files into fixed-rate float32 waveforms, and fitting them to a length.

Plain Python / NumPy (librosa and soundfile for decoding); no TensorFlow here, so the
functions can run in worker processes and in data-preparation scripts.
"""

import os
import struct
import warnings

import librosa
import numpy as np
import soundfile

FIT_MODES = ("center", "random", "start")

# Containers whose header states the exact number of frames, so a shorter decode means
# the file was cut (lossy formats only estimate their length).
_EXACT_LENGTH_FORMATS = ("WAV", "WAVEX", "W64", "RF64", "AIFF", "FLAC")

# RIFF data-chunk sizes that streaming writers use for "length unknown".
_UNKNOWN_RIFF_SIZES = (0, 0xFFFFFFFF)


MIN_SAMPLE_RATE = 1000  # Hz; below this a header is taken to be corrupt

# Peak amplitude (full scale 1.0) below which a clip counts as silent: -80 dBFS.
SILENCE_THRESHOLD = 1e-4


class AudioError(ValueError):
    """An audio file that cannot be used; the message names the file and the problem."""


def load_audio(
    path,
    sample_rate=16000,
    mono=True,
    reject_silent=False,
    silence_threshold=SILENCE_THRESHOLD,
):
    """Decodes an audio file, resamples it and (by default) mixes it down to mono.

    Decoding goes through librosa (soundfile for WAV, FLAC, OGG/Vorbis, MP3 and the
    other libsndfile formats; audioread, which needs ffmpeg, for the rest).
    Resampling uses librosa's default (`soxr_hq`). The file is checked and an
    `AudioError` naming it is raised when it is missing, empty, not decodable,
    has no samples, is shorter than its header declares (a truncated WAV or
    FLAC, which librosa would otherwise decode silently to fewer samples),
    contains NaN or infinite samples, or (only with `reject_silent=True`) is
    silent. Silence is accepted by default: it is a valid recording (the
    "silence" / "background" class of keyword spotting is made of it), not a
    broken file.

    Args:
        path: String or path-like, the audio file.
        sample_rate: Integer, the sample rate of the returned waveform in Hz.
        mono: Boolean. `True` averages the channels into one 1D waveform;
            `False` returns `(channels, samples)`, also for a mono file.
        reject_silent: Boolean, whether a clip whose peak absolute amplitude is
            below `silence_threshold` is an error (default `False`).
        silence_threshold: Float, peak amplitude (full scale is 1.0) under which
            a clip counts as silent. The default is -80 dBFS.

    Returns:
        float32 NumPy array `(samples,)` if `mono`, else `(channels, samples)`.

    Raises:
        AudioError: the file cannot be used; the message says why.
        ValueError: an argument is invalid.

    Example:

    >>> import soundfile, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> tone = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100) * 0.5
    >>> soundfile.write(path, tone, 44100)
    >>> load_audio(path, sample_rate=16000).shape
    (16000,)
    """
    _check_positive_int("sample_rate", sample_rate)
    if not isinstance(silence_threshold, (int, float)) or silence_threshold < 0:
        raise ValueError(
            "`silence_threshold` must be a non-negative number. "
            f"Received: silence_threshold={silence_threshold!r}"
        )
    path = os.fspath(path)
    if not os.path.exists(path):
        raise AudioError(f"Audio file not found: {path!r}")
    if not os.path.isfile(path):
        raise AudioError(f"Audio path is not a file: {path!r}")
    if os.path.getsize(path) == 0:
        raise AudioError(f"Audio file is empty (0 bytes): {path!r}")

    try:
        info = soundfile.info(path)
    except Exception:  # noqa: BLE001 - libsndfile cannot read it; audioread may.
        info = None

    try:
        with warnings.catch_warnings():
            # librosa warns on every soundfile -> audioread fallback; we report the
            # outcome ourselves.
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            waveform, native_rate = librosa.load(path, sr=None, mono=False, dtype=np.float32)
    except Exception as error:  # noqa: BLE001 - any decoder failure is a data error.
        if info is not None:
            problem = (
                f"its {info.format} header is readable but the audio data could not be "
                f"decoded (truncated or corrupt?): {_describe(error)}"
            )
        else:
            problem = (
                "not a recognised audio format, or corrupt "
                f"({_describe(error)}). libsndfile reads WAV, FLAC, OGG/Vorbis and MP3; "
                "for other formats (M4A/AAC, ...) install ffmpeg so audioread can decode them"
            )
        raise AudioError(f"Cannot decode audio file {path!r}: {problem}") from error

    waveform = np.atleast_2d(waveform)  # (channels, samples)
    decoded_frames = waveform.shape[-1]
    if decoded_frames == 0:
        raise AudioError(f"Audio file has no samples (header only): {path!r}")

    declared_frames = _declared_frames(path, info)
    if declared_frames is not None and declared_frames != decoded_frames:
        raise AudioError(
            f"Audio file is truncated or corrupt: {path!r} declares {declared_frames} "
            f"frames in its header but only {decoded_frames} could be decoded"
        )
    if not np.all(np.isfinite(waveform)):
        raise AudioError(f"Audio file contains NaN or infinite samples: {path!r}")
    peak = float(np.max(np.abs(waveform)))
    if reject_silent and peak < silence_threshold:
        raise AudioError(
            f"Audio file is silent: {path!r} (peak amplitude {peak:.3g} is below "
            f"silence_threshold={silence_threshold})"
        )

    # A header claiming a tiny sample rate would make resampling blow a few bytes up to
    # gigabytes (a 4 kB WAV at "1 Hz" becomes 32 M samples at 16 kHz).
    if native_rate < MIN_SAMPLE_RATE:
        raise AudioError(
            f"Audio file declares an implausible sample rate of {native_rate} Hz "
            f"(below {MIN_SAMPLE_RATE} Hz): {path!r}"
        )
    if mono:
        waveform = librosa.to_mono(waveform)
    if native_rate != sample_rate:
        waveform = librosa.resample(waveform, orig_sr=native_rate, target_sr=sample_rate)
    return np.ascontiguousarray(waveform, dtype=np.float32)


def is_silent(waveform, silence_threshold=SILENCE_THRESHOLD):
    """Whether a waveform's peak absolute amplitude is below `silence_threshold` (-80 dBFS).

    Example:

    >>> is_silent(np.zeros(10)), is_silent(np.full(10, 0.5))
    (True, False)
    """
    waveform = np.asarray(waveform)
    return bool(waveform.size == 0 or float(np.max(np.abs(waveform))) < silence_threshold)


def _describe(error):
    if type(error).__name__ == "NoBackendError":
        # librosa's last resort after soundfile failed: audioread without ffmpeg.
        return "neither soundfile nor audioread could decode it (audioread needs ffmpeg)"
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _declared_frames(path, info):
    """Frame count the header promises, or None where it is not exact."""
    if info is None or info.format not in _EXACT_LENGTH_FORMATS:
        return None
    if info.format in ("WAV", "WAVEX"):
        # libsndfile clamps the data chunk to the bytes present, so its frame count
        # cannot reveal a truncation; read the RIFF header ourselves.
        return _riff_declared_frames(path)
    return info.frames


def _riff_declared_frames(path):
    """Frames declared by a RIFF/WAVE data chunk, or None if unknown."""
    with open(path, "rb") as file:
        header = file.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return None
        block_align = None
        while True:
            chunk = file.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                fmt = file.read(size)
                if len(fmt) < 14:
                    return None
                block_align = struct.unpack("<H", fmt[12:14])[0]
                if size % 2:
                    file.seek(1, os.SEEK_CUR)
            elif chunk_id == b"data":
                if block_align in (None, 0) or size in _UNKNOWN_RIFF_SIZES:
                    return None
                return size // block_align
            else:
                # Chunks are word aligned.
                file.seek(size + (size % 2), os.SEEK_CUR)


def fit_length(waveform, num_samples, mode="center", rng=None):
    """Pads with zeros or crops a waveform to exactly `num_samples` samples.

    Args:
        waveform: 1D array-like `(samples,)`.
        num_samples: Integer, the length of the result.
        mode: `"center"` (pad or crop symmetrically; an odd extra sample goes
            to the end), `"random"` (place the clip at a random offset in the
            padding, or crop a random window), or `"start"` (pad at the end, or
            keep the first `num_samples`).
        rng: `numpy.random.Generator`, an integer seed, or `None`; used only by
            `mode="random"`.

    Returns:
        NumPy array `(num_samples,)` with the waveform's dtype.

    Example:

    >>> fit_length(np.ones(3, "float32"), 5).tolist()
    [0.0, 1.0, 1.0, 1.0, 0.0]
    >>> fit_length(np.arange(5.0), 3, mode="start").tolist()
    [0.0, 1.0, 2.0]
    """
    waveform = _as_waveform(waveform)
    _check_positive_int("num_samples", num_samples)
    if mode not in FIT_MODES:
        raise ValueError(f"`mode` must be one of {FIT_MODES}. Received: mode={mode!r}")
    length = waveform.shape[0]
    excess = abs(length - num_samples)
    if mode == "center":
        offset = excess // 2
    elif mode == "random":
        offset = int(np.random.default_rng(rng).integers(0, excess + 1))
    else:
        offset = 0
    if length >= num_samples:
        return waveform[offset : offset + num_samples].copy()
    result = np.zeros(num_samples, dtype=waveform.dtype)
    result[offset : offset + length] = waveform
    return result


def frame_windows(waveform, num_samples, hop):
    """Cuts a clip of any length into overlapping fixed-length windows.

    For inference on clips longer (or shorter) than the model's input: predict
    on every window and aggregate. Windows start every `hop` samples; when the
    last regular window stops before the end of the clip, one more window
    aligned with the end of the clip is added, so every sample is covered and
    no window holds padding. A clip not longer than `num_samples` gives one
    window, zero-padded around the centre (as `fit_length(mode="center")`).

    Args:
        waveform: 1D array-like `(samples,)`.
        num_samples: Integer, window length.
        hop: Integer, samples between window starts, `1 <= hop <= num_samples`.

    Returns:
        NumPy array `(windows, num_samples)`.

    Example:

    >>> frame_windows(np.arange(10.0), num_samples=4, hop=3)[:, 0].tolist()
    [0.0, 3.0, 6.0]
    >>> frame_windows(np.arange(10.0), num_samples=4, hop=4)[:, 0].tolist()
    [0.0, 4.0, 6.0]
    """
    waveform = _as_waveform(waveform)
    num_samples, hop = check_framing(num_samples, hop)
    length = waveform.shape[0]
    if length <= num_samples:
        return fit_length(waveform, num_samples, mode="center")[None, :]
    starts = list(range(0, length - num_samples + 1, hop))
    if starts[-1] + num_samples < length:
        starts.append(length - num_samples)
    return np.stack([waveform[s : s + num_samples] for s in starts])


def check_framing(num_samples, hop):
    """`(num_samples, hop)` as Python ints, checked for framing: both positive integers and
    `hop <= num_samples` (a larger hop would skip samples). `frame_windows` here and its in-graph
    twin `mmcnn.audio.audio_frames.frame_windows` both check with it.

    Example:
    >>> check_framing(np.int64(4), 2)
    (4, 2)
    """
    _check_positive_int("num_samples", num_samples)
    _check_positive_int("hop", hop)
    if hop > num_samples:
        raise ValueError(
            "`hop` must not exceed `num_samples`, or samples between windows would be "
            f"skipped. Received: hop={hop}, num_samples={num_samples}"
        )
    return int(num_samples), int(hop)


def checked_waveform(clip, where, error=ValueError):
    """`clip` as a float32 1-D waveform; `error` names `where` if it is empty, not 1-D or not finite."""
    wave = np.asarray(clip, dtype="float32")
    if wave.ndim != 1 or wave.size == 0:
        raise error(f"{where}: a waveform must be a non-empty 1-D array. Received shape {wave.shape}")
    if not np.all(np.isfinite(wave)):
        raise error(f"{where}: the waveform holds NaN or infinite samples")
    return wave


def _as_waveform(waveform):
    waveform = np.asarray(waveform)
    if waveform.ndim != 1:
        raise ValueError(f"`waveform` must be 1D (samples,). Received: waveform with shape {waveform.shape}")
    return waveform


def _check_positive_int(name, value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
