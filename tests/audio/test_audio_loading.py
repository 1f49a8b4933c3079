"""load_audio on real files written to tmp_path, fit_length and frame_windows."""

import doctest

import numpy as np
import pytest
import soundfile

from mmcnn.audio import audio_loading
from mmcnn.audio.audio_loading import AudioError, fit_length, frame_windows, is_silent, load_audio


def tone(seconds=0.25, sr=16000, channels=1, frequency=440.0):
    t = np.arange(int(seconds * sr)) / sr
    clip = 0.5 * np.sin(2 * np.pi * frequency * t)
    if channels == 1:
        return clip.astype("float32")
    # Different level per channel, so the down-mix is checkable.
    return np.stack([clip * (c + 1) / channels for c in range(channels)], axis=1).astype("float32")


def write(path, data, sr=16000, **kwargs):
    soundfile.write(str(path), data, sr, **kwargs)
    return path


# --- decoding ----------------------------------------------------------------


def test_wav_at_the_target_rate_is_returned_unchanged(tmp_path):
    clip = tone()
    path = write(tmp_path / "a.wav", clip, subtype="FLOAT")
    out = load_audio(path)
    assert out.dtype == np.float32 and out.shape == (4000,)
    np.testing.assert_array_equal(out, clip)


@pytest.mark.parametrize("native_rate", [11025, 22050, 44100])
def test_unusual_sample_rates_are_resampled(tmp_path, native_rate):
    path = write(tmp_path / "a.wav", tone(sr=native_rate), sr=native_rate)
    out = load_audio(path, sample_rate=16000)
    assert out.shape == (4000,)
    # Still a 440 Hz tone after resampling.
    spectrum = np.abs(np.fft.rfft(out))
    assert abs(np.argmax(spectrum) * 16000 / out.size - 440.0) <= 4.0


def test_six_channels_are_mixed_down(tmp_path):
    clip = tone(channels=6)
    path = write(tmp_path / "surround.wav", clip, subtype="FLOAT")
    out = load_audio(path)
    assert out.shape == (4000,)
    np.testing.assert_allclose(out, clip.mean(axis=1), atol=1e-6)
    multi = load_audio(path, mono=False)
    assert multi.shape == (6, 4000) and multi.dtype == np.float32


def test_six_channels_at_44100_are_mixed_down_and_resampled(tmp_path):
    path = write(tmp_path / "surround.wav", tone(sr=44100, channels=6), sr=44100)
    assert load_audio(path).shape == (4000,)


def test_mono_false_on_a_mono_file_keeps_a_channel_axis(tmp_path):
    path = write(tmp_path / "a.wav", tone())
    assert load_audio(path, mono=False).shape == (1, 4000)


@pytest.mark.parametrize("extension, fmt", [("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")])
def test_compressed_formats(tmp_path, extension, fmt):
    clip = tone(seconds=0.5)
    path = write(tmp_path / f"a.{extension}", clip, format=fmt)
    out = load_audio(path)
    assert out.dtype == np.float32
    if fmt == "FLAC":
        np.testing.assert_allclose(out, clip, atol=1e-4)
    else:
        # Lossy codecs may add encoder delay or padding.
        assert abs(out.size - clip.size) <= 2048
        assert np.max(np.abs(out)) > 0.3


def test_accepts_str_paths(tmp_path):
    path = write(tmp_path / "a.wav", tone())
    assert load_audio(str(path)).shape == (4000,)


# --- bad files -----------------------------------------------------------------


def assert_audio_error(path, match, **kwargs):
    with pytest.raises(AudioError, match=match) as info:
        load_audio(path, **kwargs)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    assert_audio_error(tmp_path / "nope.wav", "not found")


def test_directory(tmp_path):
    assert_audio_error(tmp_path, "not a file")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    assert_audio_error(path, "empty")


def test_undecodable_bytes(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 2000, dtype=np.uint8).tobytes())
    assert_audio_error(path, "Cannot decode.*not a recognised audio format")


def test_header_only_wav(tmp_path):
    path = write(tmp_path / "header.wav", np.zeros(0, "float32"), subtype="PCM_16")
    assert_audio_error(path, "no samples")


@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_truncated_wav(tmp_path, subtype):
    path = write(tmp_path / "cut.wav", tone(), subtype=subtype)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_audio_error(path, "truncated.*declares 4000 frames")


def test_truncated_flac(tmp_path):
    noise = 0.01 * np.random.default_rng(0).normal(size=16000).astype("float32")
    path = write(tmp_path / "cut.flac", tone(seconds=1.0) + noise)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_audio_error(path, "truncated")


def test_wav_with_extra_chunks_is_not_called_truncated(tmp_path):
    path = write(tmp_path / "a.wav", tone(), subtype="PCM_16")
    data = path.read_bytes()
    # Insert a LIST chunk (odd size, so a pad byte) between fmt and data.
    fmt_end = 12 + 8 + int.from_bytes(data[16:20], "little")
    extra = b"LIST" + (5).to_bytes(4, "little") + b"hello" + b"\x00"
    riff_size = int.from_bytes(data[4:8], "little") + len(extra)
    patched = data[:4] + riff_size.to_bytes(4, "little") + data[8:fmt_end] + extra + data[fmt_end:]
    path.write_bytes(patched)
    assert load_audio(path).shape == (4000,)


def test_silent_clip_is_accepted_unless_asked(tmp_path):
    # Silence is a valid recording (keyword spotting's "silence" class); refusing it is opt-in.
    path = write(tmp_path / "silence.wav", np.zeros(4000, "float32"))
    assert np.all(load_audio(path) == 0.0)
    assert is_silent(load_audio(path))
    assert_audio_error(path, "silent", reject_silent=True)


def test_silence_threshold(tmp_path):
    path = write(tmp_path / "quiet.wav", tone() * 1e-3, subtype="FLOAT")
    assert load_audio(path, reject_silent=True).shape == (4000,)
    assert not is_silent(load_audio(path))
    assert_audio_error(path, "silent", reject_silent=True, silence_threshold=1e-2)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples(tmp_path, bad):
    clip = tone()
    clip[100] = bad
    path = write(tmp_path / "nan.wav", clip, subtype="FLOAT")
    assert_audio_error(path, "NaN or infinite")


def test_invalid_arguments(tmp_path):
    path = write(tmp_path / "a.wav", tone())
    with pytest.raises(ValueError, match="`sample_rate`.*Received: sample_rate=0"):
        load_audio(path, sample_rate=0)
    with pytest.raises(ValueError, match="`silence_threshold`"):
        load_audio(path, silence_threshold=-1.0)


# --- fit_length --------------------------------------------------------------


def test_fit_length_center():
    np.testing.assert_array_equal(fit_length(np.ones(3), 6), [0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(fit_length(np.arange(7), 4), [1, 2, 3, 4])
    np.testing.assert_array_equal(fit_length(np.arange(4), 4), [0, 1, 2, 3])


def test_fit_length_start():
    np.testing.assert_array_equal(fit_length(np.ones(3), 5, mode="start"), [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(fit_length(np.arange(7), 4, mode="start"), [0, 1, 2, 3])


def test_fit_length_random_is_reproducible_and_in_bounds():
    clip = np.arange(1, 11, dtype="float32")
    crops = {tuple(fit_length(clip, 4, mode="random", rng=s)) for s in range(50)}
    assert len(crops) > 1
    for crop in crops:
        start = int(crop[0]) - 1
        np.testing.assert_array_equal(crop, clip[start : start + 4])
    padded = [fit_length(clip, 16, mode="random", rng=s) for s in range(50)]
    offsets = {int(np.flatnonzero(p)[0]) for p in padded}
    assert len(offsets) > 1 and min(offsets) >= 0 and max(offsets) <= 6
    for p in padded:
        assert p.dtype == np.float32 and np.count_nonzero(p) == 10
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(
        fit_length(clip, 4, mode="random", rng=rng_a), fit_length(clip, 4, mode="random", rng=rng_b)
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [({"num_samples": 0}, "num_samples"), ({"num_samples": 4, "mode": "end"}, "mode")],
)
def test_fit_length_invalid(kwargs, message):
    with pytest.raises(ValueError, match=f"`{message}`"):
        fit_length(np.ones(3), **kwargs)
    with pytest.raises(ValueError, match="`waveform` must be 1D"):
        fit_length(np.ones((2, 3)), 4)


# --- frame_windows -----------------------------------------------------------


def test_frame_windows_cover_a_long_clip():
    clip = np.arange(1, 1001, dtype="float32")
    windows = frame_windows(clip, num_samples=300, hop=150)
    assert windows.shape[1] == 300
    starts = [int(w[0]) - 1 for w in windows]
    assert starts == [0, 150, 300, 450, 600, 700]
    for start, window in zip(starts, windows):
        np.testing.assert_array_equal(window, clip[start : start + 300])
    covered = np.zeros(1000, bool)
    for start in starts:
        covered[start : start + 300] = True
    assert covered.all()


def test_frame_windows_exact_fit_and_short_clip():
    assert frame_windows(np.ones(600), 300, 300).shape == (2, 300)
    assert frame_windows(np.ones(300), 300, 100).shape == (1, 300)
    short = frame_windows(np.ones(100), 300, 150)
    assert short.shape == (1, 300) and short.sum() == 100
    np.testing.assert_array_equal(short[0], fit_length(np.ones(100), 300))


def test_frame_windows_invalid():
    with pytest.raises(ValueError, match="`hop` must not exceed"):
        frame_windows(np.ones(10), 4, 5)
    with pytest.raises(ValueError, match="`hop`"):
        frame_windows(np.ones(10), 4, 0)


def test_docstring_examples_run():
    results = doctest.testmod(audio_loading)
    assert results.attempted > 0 and results.failed == 0


def test_a_header_with_an_implausible_sample_rate_is_refused(tmp_path):
    """A 4 kB WAV claiming 1 Hz would resample to tens of millions of samples."""
    path = tmp_path / "one_hertz.wav"
    soundfile.write(path, np.sin(np.arange(2000) / 3.0).astype("float32"), 1, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"implausible sample rate of 1 Hz.*one_hertz.wav"):
        load_audio(path)
