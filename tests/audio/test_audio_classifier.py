"""AudioAdapter and AudioClassifier on generated tones: training, any-length inference, saving."""

import doctest

import keras
import numpy as np
import pytest
import soundfile

import mmcnn
from mmcnn.audio import audio_adapter, audio_classifier
from mmcnn.audio.audio_adapter import AddChannelAxis, AudioAdapter
from mmcnn.audio.audio_classifier import AudioClassifier
from mmcnn.audio.audio_data import from_arrays, from_directory
from mmcnn.data import DataError
from mmcnn.testing import run_layer_test

SR = 16000
CLIP = 0.25
N = int(SR * CLIP)


def tone(hz, seconds=CLIP, phase=0.0, level=0.5, noise=0.02, seed=0):
    t = np.arange(int(round(seconds * SR))) / SR
    rng = np.random.default_rng(seed)
    return (level * np.sin(2 * np.pi * hz * t + phase) + noise * rng.normal(size=t.size)).astype("float32")


def tone_set(count, seed):
    """`count` clips per class: 300 Hz ("low") and 2000 Hz ("high"), random phase and level."""
    rng = np.random.default_rng(seed)
    x, y = [], []
    for i in range(count):
        for name, hz in (("low", 300), ("high", 2000)):
            x.append(
                tone(
                    hz * rng.uniform(0.95, 1.05),
                    phase=rng.uniform(0, 6.28),
                    level=rng.uniform(0.1, 0.8),
                    seed=seed * 1000 + i,
                )
            )
            y.append(name)
    return np.stack(x), y


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Trained from a class-per-folder tree of WAV files, the way a user would."""
    root = tmp_path_factory.mktemp("tones")
    x, y = tone_set(48, seed=0)
    for i, (clip, name) in enumerate(zip(x, y)):
        (root / name).mkdir(exist_ok=True)
        soundfile.write(root / name / f"{i}.wav", clip, SR)
    clf = AudioClassifier(clip_seconds=CLIP, preset="tiny", epochs=6, batch_size=32)
    clf.fit(from_directory(root, verbose=0), verbose=0)
    return clf


# --- the adapter ------------------------------------------------------------------


def test_adapter_time_convolution_layer_test():
    run_layer_test(
        AudioAdapter,
        {"filters": 8, "kernel_size": 5},
        np.random.default_rng(0).normal(size=(2, 26, 16)).astype("float32"),
        expected_output_shape=(2, 26, 8),
        expected_num_trainable_weights=3,
        expected_num_non_trainable_weights=2,
    )


def test_adapter_spectrogram_as_image_layer_test():
    run_layer_test(
        AudioAdapter,
        {"filters": 4, "kernel_size": 3, "rank": 2, "strides": 2},
        np.random.default_rng(0).normal(size=(2, 26, 16)).astype("float32"),
        expected_output_shape=(2, 13, 8, 4),
    )


def test_add_channel_axis_layer_test():
    run_layer_test(
        AddChannelAxis,
        {},
        np.ones((2, 5, 3), "float32"),
        expected_output_shape=(2, 5, 3, 1),
        expected_num_trainable_weights=0,
    )


def test_adapter_slides_over_time_with_mel_bins_as_channels():
    adapter = AudioAdapter(4, kernel_size=3)
    adapter.build((None, 10, 6))
    conv = adapter.inspect_path()[0].inspect_path()[0]
    assert tuple(conv.kernel.shape) == (3, 6, 4)  # (frames, mel bins, filters)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"filters": 0}, "filters"),
        ({"kernel_size": 2.5}, "kernel_size"),
        ({"rank": 3}, "rank"),
        ({"pad_mode": "wrap"}, "pad_mode"),
    ],
)
def test_adapter_validates_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AudioAdapter(**kwargs)


def test_adapter_rejects_a_waveform():
    with pytest.raises(ValueError, match="frames, mel_bins"):
        AudioAdapter(4)(np.zeros((2, 4000), "float32"))


# --- the classifier -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"clip_seconds": 0}, "clip_seconds"),
        ({"sample_rate": 16000.0}, "sample_rate"),
        ({"augmentation": "heavy"}, "augmentation"),
        ({"features": "cqt"}, "features"),
        ({"window_hop_seconds": 2.0}, "window_hop_seconds"),
        ({"n_mels": 0}, "n_mels"),
        ({"preset": "huge"}, "preset"),
    ],
)
def test_classifier_validates_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AudioClassifier(num_classes=2, **kwargs)


def test_spec_policy_masks_the_spectrogram_only():
    wave, spec = audio_classifier.augmentation_layers("spec", seed=0)
    assert wave == [] and [type(layer).__name__ for layer in spec] == ["SpecAugment"]
    clf = AudioClassifier(num_classes=2, clip_seconds=CLIP, augmentation="spec")
    names = [layer.name for layer in clf.model.layers]
    assert names[1] == "log_mel" and names[2] == "spec_augment"


def test_model_graph_order_and_layout():
    clf = AudioClassifier(num_classes=3, clip_seconds=CLIP)
    names = [layer.name for layer in clf.model.layers]
    assert names == [
        "waveform",
        "time_shift",
        "gain",
        "noise",
        "log_mel",
        "spec_augment",
        "adapter",
        "backbone",
        "head",
        "temperature",
    ]
    assert clf.model.get_layer("log_mel").output.shape == (None, 26, 128)  # (batch, frames, mels)
    assert clf.model.get_layer("adapter").output.shape == (None, 26, 64)  # (batch, frames, filters)
    assert clf.model.get_layer("log_mel").normalize == "per_example"
    bare = AudioClassifier(num_classes=3, clip_seconds=CLIP, augmentation="none")
    assert [layer.name for layer in bare.model.layers] == [
        "waveform",
        "log_mel",
        "adapter",
        "backbone",
        "head",
        "temperature",
    ]


def test_default_front_end_reads_64_ms_windows_in_128_mel_bands(tmp_path):
    # 64 ms: 1024 samples at 16 kHz, 512 at 8 kHz; a number is taken as given.
    default = AudioClassifier(num_classes=2, clip_seconds=CLIP, preset="tiny")
    log_mel = default.model.get_layer("log_mel")
    assert (log_mel.n_fft, log_mel.n_mels, default.setting("n_fft")) == (1024, 128, 1024)
    assert AudioClassifier(num_classes=2, sample_rate=8000, n_mels=40).fft_size == 512
    assert AudioClassifier(num_classes=2, n_fft=2048).fft_size == 2048
    for bad in ("long", [1024]):
        with pytest.raises(ValueError, match=r"`n_fft` must be an integer >= 2"):
            AudioClassifier(num_classes=2, n_fft=bad)
    # A file saved before stores `n_fft=None, n_mels=64`: it keeps its 32 ms (512 samples) when
    # loaded, and a warm start from it with today's default names the FFT that differs.
    old = AudioClassifier(class_names=["a", "b"], clip_seconds=CLIP, preset="tiny", n_fft=None, n_mels=64)
    old.save(tmp_path / "old.keras")
    loaded = mmcnn.load(tmp_path / "old.keras")
    assert (loaded.model.get_layer("log_mel").n_fft, loaded.fft_size, loaded.n_mels) == (512, 512, 64)
    np.testing.assert_array_equal(loaded.predict_proba([tone(300)]), old.predict_proba([tone(300)]))
    settings = dict(class_names=["a", "b"], clip_seconds=CLIP, preset="tiny", n_mels=64)
    warm = AudioClassifier(**settings, init_from=str(tmp_path / "old.keras"))
    with pytest.raises(mmcnn.models.transfer.TransferError, match="n_fft 512, this classifier 1024"):
        warm.build()


def test_mfcc_deltas_and_2d_preset_build():
    mfcc = AudioClassifier(
        num_classes=2, clip_seconds=CLIP, features="mfcc", n_mfcc=13, deltas=2, preset="tiny"
    )
    assert mfcc.model.get_layer("log_mel").output.shape == (None, 26, 39)
    image = AudioClassifier(num_classes=2, clip_seconds=CLIP, preset="spectrogram_2d")
    assert image.model.get_layer("adapter").output.shape == (None, 26, 128, 16)
    assert image.model.get_layer("backbone").rank == 2
    assert image.model.predict(np.zeros((1, N), "float32"), verbose=0).shape == (1, 2)


def test_mixed_bfloat16_classifier_gives_float32_probabilities():
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        clf = AudioClassifier(num_classes=2, clip_seconds=CLIP, preset="tiny")
        # The front end stays float32; the adapter on computes in bfloat16.
        assert clf.model.get_layer("log_mel").output.dtype == "float32"
        assert clf.model.get_layer("adapter").output.dtype == "bfloat16"
        assert clf.model.output.dtype == "float32"
        probabilities = clf.predict_proba(np.stack([tone(300), tone(2000)]))
    finally:
        keras.config.set_dtype_policy(previous)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-6)


def test_fit_on_two_tones_reaches_high_accuracy(trained):
    x, y = tone_set(16, seed=1)  # unseen clips
    report = trained.evaluate(from_arrays(x, y, class_names=trained.class_names))
    assert report["accuracy"] >= 0.95
    assert trained.predict(tone(300, seed=5))["labels"] == ["low"]
    assert trained.predict(tone(2000, seed=5))["labels"] == ["high"]


def test_predict_accepts_paths_waveforms_lists_and_batches(trained, tmp_path):
    path = tmp_path / "high.flac"
    t = np.arange(int(0.3 * 22050)) / 22050
    soundfile.write(path, 0.5 * np.sin(2 * np.pi * 2000 * t), 22050)  # resampled on the way in
    soundfile.write(tmp_path / "low.wav", tone(300), SR)
    assert trained.predict(str(tmp_path / "low.wav"))["labels"] == ["low"]
    assert trained.predict(path)["labels"] == ["high"]
    batch = np.stack([tone(300, seed=2), tone(2000, seed=3)])
    assert trained.predict(batch)["labels"] == ["low", "high"]
    mixed = trained.predict([tmp_path / "low.wav", tone(2000, seconds=0.5), tone(300)])
    assert mixed["probabilities"].shape == (3, 2) and mixed["labels"][1:] == ["high", "low"]
    np.testing.assert_allclose(mixed["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    encoded = path.read_bytes()  # a 22.05 kHz FLAC as bytes: decoded and resampled
    assert trained.predict(encoded)["labels"] == ["high"]
    with pytest.raises(ValueError, match=r"inputs\[0\]: cannot decode"):
        trained.predict(b"not audio")
    with pytest.raises(ValueError, match=r"inputs\[0\]"):
        trained.predict([np.zeros((2, 2), "float32")])
    with pytest.raises(ValueError, match="not found"):
        trained.predict(str(tmp_path / "missing.wav"))


def test_long_clip_gets_one_answer_and_window_scores(trained):
    long_clip = np.concatenate([tone(300, seconds=1.5), tone(2000, seconds=1.5)])  # 3 s
    result = trained.predict([long_clip, tone(2000, seconds=0.1)], return_windows=True)
    assert len(result["labels"]) == 2 and result["probabilities"].shape == (2, 2)
    windows, starts = result["windows"][0], result["window_starts"][0]
    # 0.25 s windows every 0.125 s over 3 s: starts 0, 0.125, ..., 2.75.
    assert windows.shape == (23, 2)
    np.testing.assert_allclose(starts, np.arange(23) * 0.125)
    np.testing.assert_allclose(result["probabilities"][0], windows.mean(axis=0), rtol=1e-5)
    low, high = trained.class_names.index("low"), trained.class_names.index("high")
    assert np.argmax(windows[0]) == low and np.argmax(windows[-1]) == high
    # The 0.1 s clip is padded into a single window.
    assert result["windows"][1].shape == (1, 2)
    padded = np.zeros(N, "float32")
    padded[(N - 1600) // 2 : (N - 1600) // 2 + 1600] = tone(2000, seconds=0.1)
    np.testing.assert_allclose(
        result["probabilities"][1], trained.model.predict(padded[None], verbose=0)[0], atol=1e-6
    )
    assert trained.predict_windows(long_clip)["probabilities"][0].shape == (23, 2)


def test_variable_length_training_and_evaluation():
    rng = np.random.default_rng(3)
    x, y = [], []
    for i in range(8):
        for name, hz in (("low", 300), ("high", 2000)):
            x.append(tone(hz, seconds=float(rng.choice([0.1, 0.25, 0.6])), seed=i))
            y.append(name)
    data = from_arrays(x, y)
    clf = AudioClassifier(clip_seconds=CLIP, preset="tiny", epochs=1, batch_size=16)
    clf.fit(data, validation_data=data, verbose=0)  # random crops; centre crops to validate
    crops = list(clf.make_dataset(data, training=True, batch_size=16).take(1))[0][0]
    assert crops.shape == (16, N)
    report = clf.evaluate(data)  # long clips scored by their mean window probabilities
    assert report["num_examples"] == 16


def test_augmentation_is_inactive_at_inference(trained):
    clips = np.stack([tone(300, seed=9), tone(2000, seed=9)])
    first = trained.model.predict(clips, verbose=0)
    second = trained.model.predict(clips, verbose=0)
    np.testing.assert_array_equal(first, second)
    # Same weights without augmentation layers: the same outputs.
    bare = AudioClassifier(
        clip_seconds=CLIP, preset="tiny", augmentation="none", class_names=trained.class_names
    )
    for name in ("adapter", "backbone", "head"):
        bare.model.get_layer(name).set_weights(trained.model.get_layer(name).get_weights())
    np.testing.assert_allclose(bare.model.predict(clips, verbose=0), first, atol=1e-6)
    # ... whereas in training mode the augmentation changes them.
    assert not np.allclose(trained.model(clips, training=True), trained.model(clips, training=False))


def test_save_and_load_give_identical_predictions(trained, tmp_path):
    path = tmp_path / "tones.keras"
    trained.save(path)
    loaded = mmcnn.load(path)
    assert isinstance(loaded, AudioClassifier)
    assert loaded.class_names == trained.class_names and loaded.clip_seconds == CLIP
    clips = [tone(300, seconds=1.0, seed=4), tone(2000, seconds=0.1, seed=4)]
    a = trained.predict(clips, return_windows=True)
    b = loaded.predict(clips, return_windows=True)
    np.testing.assert_array_equal(a["probabilities"], b["probabilities"])
    for wa, wb in zip(a["windows"], b["windows"]):
        np.testing.assert_array_equal(wa, wb)
    # Plain Keras loads it too, in safe mode.
    keras.saving.load_model(path)


def test_data_at_another_sample_rate_is_refused(trained):
    x, y = tone_set(2, seed=2)
    with pytest.raises(DataError, match="8000 Hz"):
        trained.fit(from_arrays(x[:, ::2], y, sample_rate=8000), verbose=0)


def test_docstring_examples_run():
    for module in (audio_adapter, audio_classifier):
        results = doctest.testmod(module)
        assert results.failed == 0 and results.attempted > 0, module.__name__
