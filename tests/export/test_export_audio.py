"""Audio export: waveforms of any length and WAV bytes in, checked by plain TensorFlow."""

import json
import os

import numpy as np
import pytest
import soundfile
import tensorflow as tf
from export_checks import (
    FORBIDDEN,
    assert_matches_predict,
    graph_op_types,
    run_saved_model_cli,
    serve_in_fresh_process,
)

import mmcnn.audio

RATE = 16000
CLASS_NAMES = ["yes", "no", "up"]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    # 0.25 s clips: 4000-sample windows every 2000 samples.
    clf = mmcnn.audio.AudioClassifier(class_names=CLASS_NAMES, clip_seconds=0.25, preset="tiny", n_mels=16)
    path = clf.export(tmp_path_factory.mktemp("audio") / "model")
    return clf, path


def waveforms(n, length, seed):
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal((n, length))).astype("float32")


def write_wavs(folder):
    """Seven 16-bit WAV files: different lengths (short, exact, long), mono and stereo."""
    rng = np.random.default_rng(5)
    paths = []
    for i, (length, channels) in enumerate(
        [(9000, 1), (1001, 1), (4000, 2), (12345, 2), (2500, 1), (4001, 1), (16000, 1)]
    ):
        audio = 0.3 * rng.standard_normal((length, channels))
        path = os.path.join(folder, f"clip{i}.wav")
        soundfile.write(path, audio, RATE, subtype="PCM_16")
        paths.append(path)
    return paths


@pytest.mark.slow
def test_serving_matches_predict_in_fresh_process(exported, tmp_path):
    clf, path = exported
    wavs = write_wavs(tmp_path)
    wav_bytes = [open(p, "rb").read() for p in wavs]
    calls, expected = [], []
    # Lengths: shorter than a window (odd padding), exactly one, windows plus an
    # end-aligned one (9000), regular windows only (10000).
    for n, length in [(1, 1001), (7, 1001), (1, 4000), (7, 9000), (1, 10000), (7, 10000)]:
        batch = waveforms(n, length, seed=length + n)
        calls.append(("serving_default", {"waveform": batch}))
        expected.append(clf.predict(batch))
    for n in (1, 7):
        calls.append(("wav", {"wav_bytes": np.array(wav_bytes[:n], dtype=object)}))
        expected.append(clf.predict(wavs[:n]))
        clips = waveforms(n, clf.num_samples, seed=n)
        calls.append(("features", {"waveform": clips}))
        expected.append(clf.predict(clips))
    results = serve_in_fresh_process(path, calls, tmp_path, "audio")
    for (signature, inputs), outputs, want in zip(calls, results, expected):
        assert outputs["probabilities"].shape == (len(next(iter(inputs.values()))), 3), signature
        assert_matches_predict(outputs, want)


def test_wav_at_another_rate_fails_with_a_clear_message(exported, tmp_path):
    path = tmp_path / "8k.wav"
    soundfile.write(path, np.zeros(800) + 0.1, 8000, subtype="PCM_16")
    model = tf.saved_model.load(exported[1])
    with pytest.raises(tf.errors.InvalidArgumentError, match="resample the file to 16000 Hz"):
        model.signatures["wav"](wav_bytes=tf.constant([path.read_bytes()]))


def test_graph_has_no_file_or_python_ops(exported):
    ops = graph_op_types(exported[1])
    assert {"DecodeWav", "RFFT"} <= ops  # the walk does reach the function bodies
    assert not ops & FORBIDDEN


def test_metadata_asset(exported):
    clf, path = exported
    with open(os.path.join(path, "assets.extra", "mmcnn.json")) as f:
        meta = json.load(f)
    assert meta["modality"] == "audio"
    assert meta["class_names"] == CLASS_NAMES
    pre = meta["preprocessing"]
    assert (pre["sample_rate"], pre["window_samples"], pre["hop_samples"]) == (16000, 4000, 2000)
    assert set(meta["signatures"]) == {"serving_default", "wav", "features", "embedding"}
    assert meta["signatures"]["serving_default"]["inputs"] == {
        "waveform": {"dtype": "float32", "shape": [None, None]}
    }


@pytest.mark.slow
def test_saved_model_cli_show_and_run(exported, tmp_path):
    path = exported[1]
    shown = run_saved_model_cli("show", "--dir", path, "--all")
    for signature in ("serving_default", "wav", "features"):
        assert f"signature_def['{signature}']" in shown
    assert "inputs['waveform'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, -1)" in shown
    assert "inputs['wav_bytes'] tensor_info:\n        dtype: DT_STRING" in shown
    np.save(tmp_path / "waveform.npy", waveforms(1, 5000, seed=0))
    ran = run_saved_model_cli(
        "run",
        "--dir",
        path,
        "--tag_set",
        "serve",
        "--signature_def",
        "serving_default",
        "--inputs",
        f"waveform={tmp_path / 'waveform.npy'}",
        cwd=tmp_path,
    )
    assert "class_name" in ran and "probabilities" in ran
