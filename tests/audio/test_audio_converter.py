"""LogMelSpectrogram against librosa, batch independence, shapes and serialisation."""

import doctest

import keras
import librosa
import numpy as np
import pytest
import scipy.signal

from mmcnn.audio import audio_converter
from mmcnn.audio.audio_converter import LogMelSpectrogram
from mmcnn.testing import run_layer_test

SR = 16000
# Measured: about 3e-5 dB between the float32 layer and float32 librosa.
DB_TOLERANCE = 1e-3
# The same float32 computation under another dtype policy.
FLOAT32_TOLERANCE = dict(rtol=1e-6, atol=1e-5)


def chirp_and_noise(seconds=0.25, seed=0, amplitude=0.5):
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    clip = amplitude * scipy.signal.chirp(t, 100, t[-1], 6000) + 0.05 * rng.normal(size=t.size)
    return clip.astype("float32")


def librosa_log_mel(
    y,
    sr=SR,
    n_fft=512,
    hop_length=160,
    n_mels=64,
    fmin=0.0,
    fmax=None,
    win_length=None,
    pad_mode="constant",
    ref=np.max,
    top_db=80.0,
):
    mel = librosa.feature.melspectrogram(
        y=y,
        sr=sr,
        n_fft=n_fft,
        hop_length=hop_length,
        win_length=win_length,
        n_mels=n_mels,
        fmin=fmin,
        fmax=fmax,
        power=2.0,
        center=True,
        pad_mode=pad_mode,
    )
    return librosa.power_to_db(mel, ref=ref, top_db=top_db).T


def test_librosa_default_pad_mode_is_what_the_layer_defaults_to():
    # librosa >= 0.10 pads the centred STFT with zeros; the layer follows it.
    assert librosa.stft.__kwdefaults__["pad_mode"] == "constant"
    assert LogMelSpectrogram().pad_mode == "constant"


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"pad_mode": "reflect"},
        {"win_length": 400, "n_mels": 40, "fmin": 20.0, "fmax": 7600.0},
        {"n_fft": 1024, "hop_length": 256, "n_mels": 128, "pad_mode": "reflect"},
    ],
)
def test_log_mel_matches_librosa(kwargs):
    y = chirp_and_noise()
    expected = librosa_log_mel(y, **kwargs)
    layer = LogMelSpectrogram(sample_rate=SR, ref="max", top_db=80.0, **kwargs)
    got = layer(y[None])[0].numpy()
    assert got.shape == expected.shape
    error = np.max(np.abs(got - expected))
    assert error < DB_TOLERANCE, f"max abs difference {error} dB"


def test_log_mel_matches_librosa_with_absolute_ref_and_active_top_db():
    # A quiet half makes the top_db floor bite; ref=1.0 is librosa's default.
    y = chirp_and_noise()
    y[: y.size // 2] *= 1e-6
    expected = librosa_log_mel(y, ref=1.0, top_db=60.0)
    got = LogMelSpectrogram(ref=1.0, top_db=60.0)(y[None])[0].numpy()
    assert np.isclose(expected.min(), expected.max() - 60.0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=DB_TOLERANCE)


def test_mfcc_matches_librosa():
    y = chirp_and_noise()
    expected = librosa.feature.mfcc(
        y=y, sr=SR, n_mfcc=13, dct_type=2, norm="ortho", n_fft=512, hop_length=160, n_mels=64
    ).T
    got = LogMelSpectrogram(features="mfcc", n_mfcc=13)(y[None])[0].numpy()
    assert got.shape == expected.shape == (26, 13)
    # Coefficients reach ~160 in magnitude; measured error about 3e-5.
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-3)


def test_deltas_match_librosa():
    y = chirp_and_noise()
    mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20, n_fft=512, hop_length=160, n_mels=64)
    expected = np.concatenate(
        [mfcc, librosa.feature.delta(mfcc, width=9, order=1), librosa.feature.delta(mfcc, width=9, order=2)]
    ).T
    got = LogMelSpectrogram(features="mfcc", n_mfcc=20, deltas=2)(y[None])[0].numpy()
    assert got.shape == (26, 60)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-3)


def test_per_example_normalisation():
    y = chirp_and_noise()
    plain = librosa_log_mel(y, ref=1.0)
    expected = (plain - plain.mean()) / plain.std()
    got = LogMelSpectrogram(normalize="per_example")(y[None])[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    assert abs(got.mean()) < 1e-5 and abs(got.std() - 1.0) < 1e-5


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"ref": "max"},
        {"normalize": "per_example"},
        {"features": "mfcc", "deltas": 2, "normalize": "per_example"},
    ],
)
def test_features_do_not_depend_on_the_batch(kwargs):
    clip = chirp_and_noise(seed=1)
    # A much louder clip: with a batch-wide max (keras.layers.MelSpectrogram) the
    # quiet clip's top_db floor would move.
    loud = chirp_and_noise(seed=2, amplitude=50.0) * 100.0
    layer = LogMelSpectrogram(**kwargs)
    alone = layer(clip[None]).numpy()[0]
    batched = layer(np.stack([loud, clip, loud])).numpy()[1]
    np.testing.assert_allclose(batched, alone, rtol=1e-6, atol=1e-6)


def test_output_shape():
    layer = LogMelSpectrogram(n_mels=40, hop_length=160, deltas=1)
    for samples in (4000, 4001, 16000):
        assert layer.compute_output_shape((3, samples)) == (3, 1 + samples // 160, 80)
        assert tuple(layer(np.zeros((3, samples), "float32")).shape) == (3, 1 + samples // 160, 80)
    symbolic = layer(keras.Input(shape=(4000,)))
    assert tuple(symbolic.shape) == (None, 26, 80)
    assert layer.compute_output_shape((None, None)) == (None, None, 80)
    assert LogMelSpectrogram(features="mfcc", n_mfcc=13).compute_output_shape((1, 800)) == (1, 6, 13)


def test_silent_clip_gives_finite_features():
    out = LogMelSpectrogram(normalize="per_example", deltas=1)(np.zeros((2, 4000), "float32"))
    assert np.all(np.isfinite(out.numpy())) and np.all(out.numpy() == 0.0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_fft": 0}, "n_fft"),
        ({"win_length": 1024}, "win_length"),
        ({"hop_length": 0}, "hop_length"),
        ({"n_mels": -1}, "n_mels"),
        ({"fmin": -5.0}, "fmin"),
        ({"fmax": 9000.0}, "fmax"),
        ({"power": 0}, "power"),
        ({"top_db": -1.0}, "top_db"),
        ({"normalize": "global"}, "normalize"),
        ({"features": "cqt"}, "features"),
        ({"n_mfcc": 65, "features": "mfcc"}, "n_mfcc"),
        ({"n_mfcc": 0}, "n_mfcc"),
        ({"deltas": 3}, "deltas"),
        ({"pad_mode": "edge"}, "pad_mode"),
        ({"ref": "min"}, "ref"),
        ({"amin": 0.0}, "amin"),
    ],
)
def test_invalid_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=f"`{message}`.*Received"):
        LogMelSpectrogram(**kwargs)


def test_n_mfcc_is_ignored_for_log_mel():
    assert LogMelSpectrogram(n_mels=16).n_mfcc == 20


def test_too_short_clips_are_rejected_at_build():
    with pytest.raises(ValueError, match="deltas=1 needs at least 9 frames"):
        LogMelSpectrogram(deltas=1)(keras.Input(shape=(800,)))
    with pytest.raises(ValueError, match="reflect"):
        LogMelSpectrogram(pad_mode="reflect")(keras.Input(shape=(100,)))


def test_docstring_examples_run():
    results = doctest.testmod(audio_converter, extraglobs={"np": np})
    assert results.attempted > 0 and results.failed == 0


@pytest.mark.parametrize(
    "kwargs",
    [{"n_mels": 40}, {"features": "mfcc", "n_mfcc": 13, "deltas": 1, "normalize": "per_example"}],
    ids=["log_mel", "mfcc_deltas"],
)
def test_float32_front_end_under_a_global_mixed_policy(kwargs):
    clips = np.stack([chirp_and_noise(seed=s) for s in range(2)])
    expected = LogMelSpectrogram(**kwargs)(clips).numpy()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        layer = LogMelSpectrogram(**kwargs)
        assert layer.compute_dtype == "bfloat16"
        features = layer(clips)
        symbolic = layer(keras.Input((clips.shape[1],)))
    finally:
        keras.config.set_dtype_policy(previous)
    assert features.dtype == "float32" and symbolic.dtype == "float32"
    np.testing.assert_allclose(features.numpy(), expected, **FLOAT32_TOLERANCE)
    # What the float32 input protects against: a waveform rounded to bfloat16 fails the same check.
    rounded = keras.ops.cast(keras.ops.cast(clips, "bfloat16"), "float32")
    changed = LogMelSpectrogram(**kwargs)(rounded).numpy()
    assert not np.allclose(changed, expected, **FLOAT32_TOLERANCE)


def test_run_layer_test_log_mel():
    run_layer_test(
        LogMelSpectrogram,
        {"n_mels": 40},
        np.stack([chirp_and_noise(seed=s) for s in range(2)]),
        expected_output_shape=(2, 26, 40),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        run_training_step=False,
    )


def test_run_layer_test_mfcc_with_deltas():
    run_layer_test(
        LogMelSpectrogram,
        {
            "features": "mfcc",
            "n_mfcc": 13,
            "deltas": 2,
            "normalize": "per_example",
            "ref": "max",
            "pad_mode": "reflect",
        },
        np.stack([chirp_and_noise(seed=s) for s in range(2)]),
        expected_output_shape=(2, 26, 39),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        run_training_step=False,
    )
