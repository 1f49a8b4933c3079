"""Audio data paths on real files in tmp_path: folders, manifests, arrays, bad files, the cache."""

import doctest
import os

import numpy as np
import pandas as pd
import pytest
import soundfile

from mmcnn.audio import audio_data
from mmcnn.audio.audio_data import cache_path, from_arrays, from_dataframe, from_directory
from mmcnn.data import DataError

SR = 16000


def tone(hz, seconds=0.25, sr=SR, phase=0.0):
    t = np.arange(int(round(seconds * sr))) / sr
    return (0.5 * np.sin(2 * np.pi * hz * t + phase)).astype("float32")


def chirp(seconds=0.25, sr=SR):
    t = np.arange(int(round(seconds * sr))) / sr
    return (0.4 * np.sin(2 * np.pi * (200 + 3000 * t) * t)).astype("float32")


@pytest.fixture
def tree(tmp_path):
    """low/ and high/ classes: a 16 kHz WAV, a 44.1 kHz stereo FLAC and a chirp or noise each."""
    root = tmp_path / "clips"
    for name, hz in (("low", 300), ("high", 2000)):
        folder = root / name
        folder.mkdir(parents=True)
        soundfile.write(folder / "a.wav", tone(hz), SR)
        stereo = np.stack([tone(hz, sr=44100), 0.5 * tone(hz, sr=44100)], axis=1)
        soundfile.write(folder / "b.flac", stereo, 44100)
    soundfile.write(root / "low" / "c.wav", chirp(), SR)
    noise = 0.1 * np.random.default_rng(0).normal(size=SR // 4)
    soundfile.write(root / "high" / "c.ogg", noise, SR)
    return root


def add_bad_files(folder):
    """An empty, a truncated and an undecodable file (returned), and a silent one (not bad)."""
    empty = folder / "empty.wav"
    empty.write_bytes(b"")
    truncated = folder / "truncated.wav"
    soundfile.write(truncated, tone(440), SR, subtype="PCM_16")
    truncated.write_bytes(truncated.read_bytes()[:3000])
    silent = folder / "silent.wav"
    soundfile.write(silent, np.zeros(SR // 4, "float32"), SR)
    garbage = folder / "garbage.wav"
    garbage.write_bytes(b"this is not audio at all" * 20)
    return [empty, truncated, garbage]


def test_from_directory_decodes_resamples_and_mixes_down(tree):
    data = from_directory(tree, verbose=0)
    assert data.class_names == ["high", "low"]
    assert len(data) == 6 and data.kind == "arrays" and data.sample_rate == SR
    assert np.bincount(data.labels).tolist() == [3, 3]
    for wave, source in zip(data.inputs, data.sources):
        assert wave.dtype == np.float32 and wave.ndim == 1
        assert wave.shape == (4000,), source  # 44.1 kHz FLAC resampled to 0.25 s at 16 kHz
    stereo = data.inputs[data.sources.index(str(tree / "low" / "b.flac"))]
    # Down-mix of (1, 0.5) x tone = 0.75 x tone; still a 300 Hz tone after resampling.
    assert abs(np.max(np.abs(stereo)) - 0.375) < 0.02
    assert abs(np.argmax(np.abs(np.fft.rfft(stereo))) * SR / stereo.size - 300) <= 4


def test_other_sample_rate_and_class_order(tree):
    data = from_directory(tree, sample_rate=8000, class_names=["low", "high"], verbose=0)
    assert data.class_names == ["low", "high"] and data.sample_rate == 8000
    assert all(w.shape == (2000,) for w in data.inputs)
    with pytest.raises(DataError, match="not in class_names"):
        from_directory(tree, class_names=["low"], verbose=0)


def test_bad_files_are_skipped_and_counted_with_their_paths(tree):
    bad = add_bad_files(tree / "low")
    data = from_directory(tree, verbose=0)
    # Silence is data where it is labelled (a keyword-spotting "silence" class), not a bad file.
    assert len(data) == 7 and str(tree / "low" / "silent.wav") in data.sources
    assert sorted(source for source, _ in data.skipped) == sorted(str(p) for p in bad)
    reasons = {os.path.basename(s): r for s, r in data.skipped}
    assert "empty" in reasons["empty.wav"]
    assert "truncated" in reasons["truncated.wav"]
    assert "decode" in reasons["garbage.wav"].lower()


@pytest.mark.parametrize("name", ["empty.wav", "truncated.wav", "garbage.wav"])
def test_bad_file_raises_naming_it(tree, name):
    add_bad_files(tree / "low")
    for other in {"empty.wav", "truncated.wav", "silent.wav", "garbage.wav"} - {name}:
        os.remove(tree / "low" / other)
    with pytest.raises(DataError, match=name):
        from_directory(tree, on_error="raise", verbose=0)


def test_csv_manifest_with_relative_paths(tree, tmp_path, monkeypatch):
    rows = [
        ("clips/low/a.wav", "low"),
        ("clips/high/a.wav", "high"),
        (str(tree / "low" / "b.flac"), "low"),
    ]  # an absolute path among relative ones
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows, columns=["path", "label"]).to_csv(manifest, index=False)
    # Relative to the manifest's folder, not the working directory.
    monkeypatch.chdir(tree / "low")
    data = from_dataframe(str(manifest), verbose=0)
    assert data.class_names == ["high", "low"] and data.labels.tolist() == [1, 0, 1]
    assert data.sources[0] == str(tmp_path / "clips/low/a.wav")
    np.testing.assert_allclose(data.inputs[0], tone(300), atol=1e-4)


def test_manifest_problems_are_named_by_row(tree, tmp_path):
    manifest = tmp_path / "bad.csv"
    pd.DataFrame(
        [("clips/low/a.wav", "low"), ("clips/low/missing.wav", "low")], columns=["path", "label"]
    ).to_csv(manifest, index=False)
    with pytest.raises(DataError, match="row 2: file not found"):
        from_dataframe(manifest, verbose=0)


def test_dataframe_with_custom_columns_and_bad_file(tree):
    bad = add_bad_files(tree / "high")[2]  # the undecodable one
    frame = pd.DataFrame(
        {
            "file": [str(tree / "low" / "a.wav"), str(tree / "high" / "a.wav"), str(bad)],
            "word": ["low", "high", "high"],
        }
    )
    data = from_dataframe(frame, path_column="file", label_column="word", verbose=0)
    assert len(data) == 2 and [s for s, _ in data.skipped] == [str(bad)]


def test_from_arrays_two_d_list_and_resampling():
    x = np.stack([tone(300), tone(2000)])
    data = from_arrays(x, ["low", "high"])
    assert data.class_names == ["high", "low"] and data.labels.tolist() == [1, 0]
    assert all(w.shape == (4000,) for w in data.inputs)
    ragged = from_arrays([tone(300, 0.5), tone(2000, 0.1)], [0, 1], class_names=["low", "high"])
    assert [w.shape for w in ragged.inputs] == [(8000,), (1600,)]
    resampled = from_arrays([tone(300, sr=8000)], [0], source_sample_rate=8000)
    assert resampled.inputs[0].shape == (4000,) and resampled.sample_rate == SR


def test_from_arrays_names_the_bad_clip():
    with pytest.raises(DataError, match=r"x\[1\]"):
        from_arrays([tone(300), np.zeros(0, "float32")], [0, 1])
    with pytest.raises(DataError, match=r"x\[0\].*NaN"):
        from_arrays([np.full(10, np.nan, "float32")], [0])
    with pytest.raises(DataError, match="2 clips but `y` has 3"):
        from_arrays([tone(300), tone(300)], [0, 1, 1])
    with pytest.raises(ValueError, match="sample_rate"):
        from_arrays([tone(300)], [0], sample_rate=0)


def test_cache_dir_is_read_instead_of_decoding(tree, tmp_path):
    cache = tmp_path / "cache"
    first = from_directory(tree, cache_dir=cache, verbose=0)
    files = sorted(os.listdir(cache))
    assert len(files) == len(first) and all(f.endswith(".npy") for f in files)
    source = first.sources[0]
    cached = cache_path(source, SR, cache)
    np.testing.assert_array_equal(np.load(cached), first.inputs[0])

    # Put a marker in one cache file: the second load returns it, which only
    # reading the cache (not librosa) can do.
    marker = np.arange(7, dtype="float32")
    np.save(cached, marker)
    second = from_directory(tree, cache_dir=cache, verbose=0)
    np.testing.assert_array_equal(second.inputs[0], marker)
    for a, b in zip(first.inputs[1:], second.inputs[1:]):
        np.testing.assert_array_equal(a, b)

    # A changed file (new size and mtime) has a new key and is decoded again.
    soundfile.write(source, tone(2000, seconds=0.5), SR)
    third = from_directory(tree, cache_dir=cache, verbose=0)
    assert third.inputs[0].shape == (8000,)
    assert len(os.listdir(cache)) == len(first) + 1
    # Another sample rate is another key.
    assert cache_path(source, 8000, cache) != cache_path(source, SR, cache)


def test_unreadable_cache_file_is_decoded_again(tree, tmp_path):
    cache = tmp_path / "cache"
    first = from_directory(tree, cache_dir=cache, verbose=0)
    cached = cache_path(first.sources[0], SR, cache)
    with open(cached, "wb") as file:
        file.write(b"not an npy file")
    again = from_directory(tree, cache_dir=cache, verbose=0)
    np.testing.assert_array_equal(again.inputs[0], first.inputs[0])


def test_docstring_examples_run():
    results = doctest.testmod(audio_data)
    assert results.failed == 0 and results.attempted > 0
