"""`fit` computes a model's fixed front end once per example (`cached_feature_layer`).

The audio log-mel (without waveform augmentation) and the text tokenizer run in
the data pipeline before the cache, and `ClassifierModel.inputs_at` trains the
layers after them. Training must be the same as running the whole model at
every step, and what callbacks, checkpoints and the saved model see is the
whole model.
"""

import keras
import numpy as np
import pytest

from mmcnn.audio import AudioClassifier
from mmcnn.audio import from_arrays as audio_arrays
from mmcnn.text import TextClassifier
from mmcnn.text import from_arrays as text_arrays
from mmcnn.training import AtomicModelCheckpoint

SR = 16000
CLIP = 0.25
N = int(SR * CLIP)


def tones(count, seed, seconds=CLIP):
    """`count` noisy clips per class of 300 Hz ("low") and 2000 Hz ("high")."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x, y = [], []
    for _ in range(count):
        for name, hz in (("low", 300), ("high", 2000)):
            wave = rng.uniform(0.1, 0.8) * np.sin(2 * np.pi * hz * rng.uniform(0.95, 1.05) * t)
            x.append((wave + 0.05 * rng.normal(size=t.size)).astype("float32"))
            y.append(name)
    return np.stack(x), y


def texts(n=64):
    rng = np.random.default_rng(0)
    filler = "the a film movie plot actor scene story one it was very".split()
    out = []
    for i in range(n):
        words = list(rng.choice(filler, rng.integers(3, 9)))
        words.insert(int(rng.integers(0, len(words) + 1)), "good" if i % 2 else "bad")
        out.append(" ".join(words))
    return out, ["good" if i % 2 else "bad" for i in range(n)]


class InputShapes(keras.callbacks.Callback):
    """The input shape of the model callbacks are given, at every epoch."""

    def __init__(self):
        super().__init__()
        self.shapes = []

    def on_epoch_end(self, epoch, logs=None):
        self.shapes.append(tuple(self.model.input_shape))


def audio_fit(cache_features, augmentation="spec", callbacks=(), data=None):
    train = data or audio_arrays(*tones(16, seed=0), sample_rate=SR)
    val = audio_arrays(*tones(4, seed=1), sample_rate=SR)
    clf = AudioClassifier(clip_seconds=CLIP, preset="tiny", augmentation=augmentation, epochs=3, batch_size=8)
    history = clf.fit(
        train, validation_data=val, callbacks=list(callbacks), verbose=0, cache_features=cache_features
    )
    return clf, history


def assert_same_training(cached, whole):
    (clf_a, hist_a), (clf_b, hist_b) = cached, whole
    np.testing.assert_allclose(hist_a.history["loss"], hist_b.history["loss"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(hist_a.history["val_loss"], hist_b.history["val_loss"], rtol=1e-4, atol=1e-6)
    for a, b in zip(clf_a.model.get_weights(), clf_b.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_audio_chooses_the_log_mel_only_when_the_waveform_reaches_it_untouched():
    data = audio_arrays(*tones(2, seed=0), sample_rate=SR)
    for policy in ("none", "spec"):
        clf = AudioClassifier(clip_seconds=CLIP, preset="tiny", augmentation=policy, num_classes=2)
        assert clf.cached_feature_layer(data) == "log_mel"
    for policy in ("light", "standard"):  # waveform augmentation before the log-mel
        clf = AudioClassifier(clip_seconds=CLIP, preset="tiny", augmentation=policy, num_classes=2)
        assert clf.cached_feature_layer(data) is None
    # A clip longer than the model's is randomly cropped every epoch: not cacheable.
    longer = audio_arrays(*tones(2, seed=0, seconds=2 * CLIP), sample_rate=SR)
    assert (
        AudioClassifier(
            clip_seconds=CLIP, preset="tiny", augmentation="none", num_classes=2
        ).cached_feature_layer(longer)
        is None
    )


def test_audio_training_on_cached_log_mels_equals_training_the_whole_model():
    shapes = InputShapes()
    cached = audio_fit(True, callbacks=[shapes])
    whole = audio_fit(False)
    assert_same_training(cached, whole)
    # Callbacks saw the whole model (waveform in), every epoch.
    assert shapes.shapes == [(None, N)] * 3
    # The dataset that fit trained on held log-mels.
    clf = cached[0]
    data = audio_arrays(*tones(2, seed=0), sample_rate=SR)
    spec = clf.make_dataset(data, training=True, batch_size=4, features="log_mel").element_spec[0]
    assert tuple(spec.shape[1:]) == tuple(clf.model.get_layer("log_mel").output.shape[1:])
    # After fit the model takes waveforms again.
    x, _ = tones(1, seed=2)
    np.testing.assert_allclose(clf.model(x).numpy().sum(-1), 1.0, rtol=1e-5)


def test_cached_features_checkpoint_saves_the_whole_model(tmp_path):
    path = tmp_path / "best.keras"
    clf, _ = audio_fit(True, callbacks=[AtomicModelCheckpoint(str(path), monitor="val_loss")])
    saved = keras.saving.load_model(path)
    assert saved.input_shape == (None, N)
    x, _ = tones(2, seed=3)
    assert saved.predict(x, verbose=0).shape == (4, 2)


def test_text_training_on_cached_tokens_equals_training_the_whole_model():
    def fit(cache_features):
        clf = TextClassifier(
            max_tokens=16, embedding_dim=8, filters=4, min_frequency=1, batch_size=16, epochs=2
        )
        train, val = text_arrays(*texts(64)), text_arrays(*texts(16))
        assert clf.prepare(train) is not None and clf.cached_feature_layer(train) == "tokenizer"
        history = clf.fit(train, validation_data=val, verbose=0, cache_features=cache_features)
        return clf, history

    assert_same_training(fit(True), fit(False))


def test_inputs_at_routes_calls_to_the_layers_after_it():
    clf = AudioClassifier(clip_seconds=CLIP, preset="tiny", augmentation="none", num_classes=2)
    x, _ = tones(2, seed=4)
    log_mels = clf.model.features_model("log_mel")(x)
    expected = clf.model(x).numpy()
    with clf.model.inputs_at("log_mel"):
        np.testing.assert_allclose(clf.model(log_mels).numpy(), expected, rtol=1e-5, atol=1e-6)
        with pytest.raises(ValueError):
            clf.model(x)  # a waveform is not what the layers after the log-mel take
    np.testing.assert_allclose(clf.model(x).numpy(), expected, rtol=1e-6)


class StopAfterEpoch(keras.callbacks.Callback):
    """Raises at the end of epoch `epoch` (0-based), after the backup of that epoch was written."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("interrupted on purpose")


def test_resume_on_cached_features_is_exact(tmp_path):
    train = audio_arrays(*tones(16, seed=0), sample_rate=SR)
    val = audio_arrays(*tones(4, seed=1), sample_rate=SR)

    def classifier():
        return AudioClassifier(
            clip_seconds=CLIP, preset="tiny", augmentation="spec", epochs=3, batch_size=8, seed=3
        )

    backup = tmp_path / "backup"
    with pytest.raises(KeyboardInterrupt):
        classifier().fit(
            train, validation_data=val, backup_dir=str(backup), callbacks=[StopAfterEpoch(0)], verbose=0
        )
    resumed = classifier()
    history = resumed.fit(train, validation_data=val, backup_dir=str(backup), verbose=0)
    assert len(history.history["loss"]) == 2  # epochs 2 and 3
    whole = classifier()
    whole.fit(train, validation_data=val, verbose=0)
    for a, b in zip(resumed.model.get_weights(), whole.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_warm_start_trains_its_phases_on_cached_features(tmp_path):
    source, _ = audio_fit(False, augmentation="none")
    source.save(tmp_path / "source.keras")
    train = audio_arrays(*tones(16, seed=5), sample_rate=SR)

    def warm(cache_features):
        clf = AudioClassifier(
            clip_seconds=CLIP,
            preset="tiny",
            augmentation="none",
            epochs=3,
            batch_size=8,
            init_from=str(tmp_path / "source.keras"),
            freeze_epochs=1,
        )
        history = clf.fit(train, verbose=0, cache_features=cache_features)
        return clf, history

    (cached, cached_history), (whole, whole_history) = warm(True), warm(False)
    assert len(cached_history.history["loss"]) == 3  # one frozen epoch, then two
    np.testing.assert_allclose(cached_history.history["loss"], whole_history.history["loss"], rtol=1e-4)
    for a, b in zip(cached.model.get_weights(), whole.model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
