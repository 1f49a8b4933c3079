"""Audio augmentation layers: identity at inference, bounded randomness, serialisation."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

from mmcnn.audio import audio_augmentation
from mmcnn.audio.audio_augmentation import (
    BackgroundNoise,
    RandomGain,
    RandomTimeShift,
    SpecAugment,
)
from mmcnn.testing import run_layer_test


def waveforms(batch=4, samples=4000, seed=0):
    return (0.3 * np.random.default_rng(seed).normal(size=(batch, samples))).astype("float32")


def spectrograms(batch=4, frames=26, bins=40, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, frames, bins)).astype("float32")


CASES = [
    (SpecAugment, {"seed": 1}, spectrograms),
    (RandomTimeShift, {"seed": 1}, waveforms),
    (RandomTimeShift, {"mode": "zeros", "seed": 1}, waveforms),
    (RandomGain, {"seed": 1}, waveforms),
    (BackgroundNoise, {"seed": 1}, waveforms),
    (BackgroundNoise, {"noise_type": "pink", "seed": 1}, waveforms),
]
IDS = ["spec_augment", "shift_roll", "shift_zeros", "gain", "white_noise", "pink_noise"]


@pytest.mark.parametrize("layer_cls, kwargs, make", CASES, ids=IDS)
def test_identity_at_inference_and_changes_in_training(layer_cls, kwargs, make):
    x = make()
    layer = layer_cls(**kwargs)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    model = keras.Sequential([keras.Input(x.shape[1:]), layer])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    augmented = layer(x, training=True).numpy()
    assert augmented.shape == x.shape and augmented.dtype == np.float32
    assert not np.array_equal(augmented, x)
    # Each example gets its own draw.
    assert not np.allclose(augmented[0] - x[0], augmented[1] - x[1])


@pytest.mark.parametrize("layer_cls, kwargs, make", CASES, ids=IDS)
def test_same_seed_same_augmentation(layer_cls, kwargs, make):
    x = make()
    first, second = layer_cls(**kwargs), layer_cls(**kwargs)
    a1, a2 = first(x, training=True).numpy(), first(x, training=True).numpy()
    np.testing.assert_array_equal(a1, second(x, training=True).numpy())
    np.testing.assert_array_equal(a2, second(x, training=True).numpy())
    assert not np.array_equal(a1, a2)  # the generator advances between calls


@pytest.mark.parametrize("layer_cls, kwargs, make", CASES, ids=IDS)
def test_runs_in_a_tf_function_and_in_tf_data(layer_cls, kwargs, make):
    x = make()
    layer = layer_cls(**kwargs)
    graph_call = tf.function(lambda batch: layer(batch, training=True))
    assert not np.array_equal(graph_call(x).numpy(), x)
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(2).map(lambda batch: layer(batch, training=True))
    out = np.concatenate([b.numpy() for b in dataset])
    assert out.shape == x.shape and not np.array_equal(out, x)


def test_fixed_snr_is_hit_exactly():
    x = waveforms(batch=8)
    for noise_type in ("white", "pink"):
        layer = BackgroundNoise(min_snr_db=10.0, max_snr_db=10.0, noise_type=noise_type, seed=0)
        np.testing.assert_allclose(snr_db(x, layer(x, training=True).numpy()), 10.0, atol=1e-4)


def test_whole_front_end_trains_under_xla():
    from mmcnn.audio.audio_converter import LogMelSpectrogram

    x, y = waveforms(batch=4), np.array([0, 1, 0, 1])
    inputs = keras.Input((4000,))
    h = RandomTimeShift(seed=0)(inputs)
    h = RandomGain(seed=0)(h)
    h = BackgroundNoise(noise_type="pink", seed=0)(h)
    h = LogMelSpectrogram(n_mels=16, normalize="per_example", deltas=1)(h)
    h = SpecAugment(seed=0)(h)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling1D()(h))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "sparse_categorical_crossentropy", jit_compile=True)
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    # Inference is deterministic because every augmentation is then the identity.
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


# --- SpecAugment -------------------------------------------------------------


def masked(out, value=0.0):
    return out == value


def test_spec_augment_time_masks_within_bounds():
    x = np.ones((64, 50, 30), "float32")
    layer = SpecAugment(time_masks=1, max_time_width=7, freq_masks=0, mask_value=0.0, seed=3)
    out = layer(x, training=True).numpy()
    widths = []
    for example in masked(out):
        frames = np.flatnonzero(example.all(axis=1))
        # Whole frames only, one contiguous band.
        assert example[~example.all(axis=1)].sum() == 0
        if frames.size:
            assert frames[-1] - frames[0] + 1 == frames.size
        widths.append(frames.size)
    assert max(widths) <= 7 and len(set(widths)) > 3


def test_spec_augment_freq_masks_within_bounds():
    x = np.ones((64, 50, 30), "float32")
    layer = SpecAugment(time_masks=0, freq_masks=2, max_freq_width=4, mask_value=0.0, seed=3)
    out = layer(x, training=True).numpy()
    counts = []
    for example in masked(out):
        bins = example.all(axis=0)
        assert np.array_equal(example, np.broadcast_to(bins, example.shape))
        counts.append(bins.sum())
    assert max(counts) <= 2 * 4 and min(counts) >= 0 and len(set(counts)) > 3


def test_spec_augment_width_is_clipped_to_the_input():
    x = np.ones((8, 5, 3), "float32")
    out = SpecAugment(time_masks=1, max_time_width=100, freq_masks=0, mask_value=0.0, seed=0)(
        x, training=True
    ).numpy()
    assert np.all(out.shape == x.shape)
    assert (masked(out).all(axis=2).sum(axis=1) <= 5).all()


def test_spec_augment_mean_fill():
    x = spectrograms(batch=2) + np.array([[[0.0]], [[100.0]]], "float32")
    out = SpecAugment(time_masks=2, max_time_width=5, freq_masks=2, max_freq_width=5, seed=0)(
        x, training=True
    ).numpy()
    for example, source in zip(out, x):
        changed = example != source
        assert changed.any()
        np.testing.assert_allclose(example[changed], source.mean(), rtol=1e-6)


# --- RandomTimeShift ---------------------------------------------------------


@pytest.mark.parametrize("mode", ["roll", "zeros"])
def test_time_shift_within_bounds(mode):
    samples = 1000
    x = np.tile(np.arange(1, samples + 1, dtype="float32"), (32, 1))
    out = RandomTimeShift(max_fraction=0.05, mode=mode, seed=2)(x, training=True).numpy()
    shifts = []
    for row in out:
        # Recover the shift from where the first input sample landed (or left).
        shift = int(np.argmax(row == 1.0)) if (row == 1.0).any() else -(int(row[0]) - 1)
        expected = np.roll(x[0], shift)
        if mode == "zeros":
            if shift > 0:
                expected[:shift] = 0.0
            elif shift < 0:
                expected[shift:] = 0.0
        np.testing.assert_array_equal(row, expected)
        if shift > samples // 2:
            shift -= samples
        shifts.append(shift)
    assert max(abs(s) for s in shifts) <= 50
    assert min(shifts) < 0 < max(shifts)


# --- RandomGain --------------------------------------------------------------


def test_gain_within_range():
    x = waveforms(batch=64)
    out = RandomGain(min_gain_db=-3.0, max_gain_db=9.0, seed=0)(x, training=True).numpy()
    ratio = out / x
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones_like(ratio), rtol=1e-5)
    gain_db = 20 * np.log10(ratio[:, 0])
    assert gain_db.min() >= -3.0 - 1e-4 and gain_db.max() <= 9.0 + 1e-4
    assert gain_db.max() - gain_db.min() > 6.0


# --- BackgroundNoise ---------------------------------------------------------


def snr_db(clean, noisy):
    noise = noisy.astype("float64") - clean
    return 10 * np.log10(np.mean(clean.astype("float64") ** 2, axis=1) / np.mean(noise**2, axis=1))


@pytest.mark.parametrize("noise_type", ["white", "pink"])
def test_noise_snr_in_range(noise_type):
    x = waveforms(batch=64)
    x *= np.geomspace(0.01, 10.0, 64, dtype="float32")[:, None]  # SNR must not depend on level
    layer = BackgroundNoise(min_snr_db=5.0, max_snr_db=15.0, noise_type=noise_type, seed=0)
    measured = snr_db(x, layer(x, training=True).numpy())
    # The SNR is exact up to float32 rounding (measured ~1e-6 dB off a fixed target).
    assert measured.min() >= 5.0 - 1e-3 and measured.max() <= 15.0 + 1e-3
    assert measured.max() - measured.min() > 5.0


def test_pink_noise_has_a_falling_spectrum():
    x = np.zeros((16, 8000), "float32")
    x[:, ::100] = 1.0  # a click train gives a non-zero signal power
    white = BackgroundNoise(10.0, 10.0, noise_type="white", seed=0)(x, training=True).numpy() - x
    pink = BackgroundNoise(10.0, 10.0, noise_type="pink", seed=0)(x, training=True).numpy() - x

    def low_to_high(noise):
        power = np.mean(np.abs(np.fft.rfft(noise, axis=1)) ** 2, axis=0)
        return power[1:400].mean() / power[-400:].mean()

    assert 0.5 < low_to_high(white) < 2.0
    assert low_to_high(pink) > 20.0


def test_silent_clip_stays_silent():
    x = np.zeros((2, 1000), "float32")
    np.testing.assert_array_equal(BackgroundNoise(seed=0)(x, training=True).numpy(), x)


# --- validation, docs, serialisation -------------------------------------------


@pytest.mark.parametrize(
    "layer_cls, kwargs, message",
    [
        (SpecAugment, {"time_masks": -1}, "time_masks"),
        (SpecAugment, {"max_freq_width": 2.5}, "max_freq_width"),
        (SpecAugment, {"mask_value": "min"}, "mask_value"),
        (RandomTimeShift, {"max_fraction": 1.5}, "max_fraction"),
        (RandomTimeShift, {"mode": "wrap"}, "mode"),
        (RandomGain, {"min_gain_db": 6.0, "max_gain_db": 0.0}, "min_gain_db"),
        (BackgroundNoise, {"min_snr_db": "5"}, "min_snr_db"),
        (BackgroundNoise, {"noise_type": "brown"}, "noise_type"),
        (RandomGain, {"seed": 1.5}, "seed"),
    ],
)
def test_invalid_arguments_are_named(layer_cls, kwargs, message):
    with pytest.raises(ValueError, match=f"`{message}`.*Received"):
        layer_cls(**kwargs)


def test_wrong_rank_is_rejected():
    with pytest.raises(ValueError, match=r"\(batch, frames, bins\)"):
        SpecAugment()(keras.Input((4000,)))
    with pytest.raises(ValueError, match=r"\(batch, samples\)"):
        RandomTimeShift()(keras.Input((26, 40)))


def test_docstring_examples_run():
    results = doctest.testmod(audio_augmentation)
    assert results.attempted > 0 and results.failed == 0


WAVEFORM_CASES = [case for case in CASES if case[2] is waveforms]
WAVEFORM_IDS = [i for i, case in zip(IDS, CASES) if case[2] is waveforms]


@pytest.mark.parametrize("layer_cls, kwargs, make", WAVEFORM_CASES, ids=WAVEFORM_IDS)
def test_waveform_layers_stay_float32_under_a_global_mixed_policy(layer_cls, kwargs, make):
    x = make(batch=2)
    expected = layer_cls(**kwargs)(x, training=True).numpy()
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        layer = layer_cls(**kwargs)
        assert layer.compute_dtype == "bfloat16"
        augmented = layer(x, training=True)
        identity = layer(x)
        symbolic = layer(keras.Input(x.shape[1:]))
    finally:
        keras.config.set_dtype_policy(previous)
    assert augmented.dtype == identity.dtype == symbolic.dtype == "float32"
    np.testing.assert_allclose(augmented.numpy(), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(identity.numpy(), x)  # not rounded to bfloat16


@pytest.mark.parametrize("layer_cls, kwargs, make", CASES, ids=IDS)
def test_run_layer_test(layer_cls, kwargs, make):
    x = make(batch=2)
    run_layer_test(
        layer_cls,
        kwargs,
        x,
        expected_output_shape=x.shape,
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        run_training_step=False,
    )
