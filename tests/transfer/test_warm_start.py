"""Warm starts (`init_from`): what is copied, what is new, what is frozen, and what is refused."""

import os
import shutil

import keras
import numpy as np
import pytest

import mmcnn
from mmcnn.models.transfer import TransferError, warm_schedule

SETTINGS = dict(image_size=(12, 12), channels=1, preset="tiny", augmentation="none", batch_size=8)
COPIED = ("adapter", "backbone")


def arrays(n, seed=0, channels=1):
    """Dark and bright noise images, labels 0 and 1."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    pixels = rng.normal(80 + 100 * labels[:, None, None, None], 30, (n, 12, 12, channels))
    return np.clip(pixels, 0, 255).astype("float32"), labels


def weights_of(model, names):
    return {w.path: keras.ops.convert_to_numpy(w).copy() for n in names for w in model.get_layer(n).weights}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A trained grey 12x12 classifier of classes a, b, saved as a `.keras` file."""
    x, y = arrays(32)
    clf = mmcnn.image.ImageClassifier(**SETTINGS, epochs=2)
    clf.fit(mmcnn.image.from_arrays(x, y, class_names=["a", "b"]), verbose=0)
    path = tmp_path_factory.mktemp("source") / "source.keras"
    clf.save(path)
    return {"clf": clf, "path": str(path)}


def test_same_label_set_keeps_the_head(source):
    # The same classes in another order: the head is copied with its columns reordered.
    clf = mmcnn.image.ImageClassifier(**SETTINGS, class_names=["b", "a"], init_from=source["path"])
    x, _ = arrays(6, seed=1)
    expected = source["clf"].predict_proba(x)[:, ::-1]
    np.testing.assert_allclose(clf.predict_proba(x), expected, atol=1e-6)
    assert clf._head_kept and clf._warm_layers == list(COPIED)


def test_new_label_set_gets_a_new_head_and_the_source_body(source):
    clf = mmcnn.image.ImageClassifier(**SETTINGS, class_names=["cat", "dog", "owl"], init_from=source["path"])
    theirs, ours = weights_of(source["clf"].model, COPIED), weights_of(clf.model, COPIED)
    assert theirs.keys() == ours.keys()
    for path, value in theirs.items():
        np.testing.assert_array_equal(ours[path], value, err_msg=path)
    assert not clf._head_kept
    assert clf.model.get_layer("head").dense.kernel.shape == (32, 3)


def test_frozen_epochs_leave_the_copied_weights_unchanged(source):
    """Weights (and batch-norm statistics) after the frozen epochs equal the source's; then they train."""
    snapshots = {}

    class Snapshot(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots[epoch] = (weights_of(self.model, COPIED), weights_of(self.model, ["head"]))

    x, y = arrays(32, seed=2)
    clf = mmcnn.image.ImageClassifier(
        **SETTINGS, class_names=["c", "d"], init_from=source["path"], epochs=3, freeze_epochs=2
    )
    head_before = weights_of(clf.model, ["head"])
    history = clf.fit(
        mmcnn.image.from_arrays(x, y, class_names=["c", "d"]),
        callbacks=[Snapshot()],
        verbose=0,
    )
    assert history.epoch == [0, 1, 2] and len(history.history["loss"]) == 3
    source_weights = weights_of(source["clf"].model, COPIED)
    assert any("moving_mean" in path for path in source_weights)
    for epoch in (0, 1):
        copied, head = snapshots[epoch]
        for path, value in source_weights.items():
            np.testing.assert_array_equal(copied[path], value, err_msg=f"epoch {epoch}: {path}")
        assert any(not np.array_equal(head[p], head_before[p]) for p in head), "the head did not learn"
    copied, _ = snapshots[2]
    assert any(not np.array_equal(copied[p], v) for p, v in source_weights.items()), (
        "fine-tuning changed nothing"
    )
    # Everything trains after the schedule, and the next fit is a plain one.
    assert all(clf.model.get_layer(name).trainable for name in COPIED) and not clf._warm_pending


def test_default_schedule():
    assert warm_schedule(10, None, False, 1e-3, None) == [(0, 3, True, 1e-3), (3, 10, False, 1e-3)]
    assert warm_schedule(4, None, False, 1e-3, None)[0] == (0, 2, True, 1e-3)
    assert warm_schedule(5, None, True, 2e-3, None) == [(0, 5, False, 2e-4)]  # continue training
    assert warm_schedule(3, 5, False, 1e-3, 1e-5) == [(0, 3, True, 1e-3)]  # a linear probe


def test_grey_source_serves_an_rgb_classifier(source):
    """The stem is adapted with the luma weights: RGB in gives what the source gives on the grey image."""
    clf = mmcnn.image.ImageClassifier(
        **{**SETTINGS, "channels": 3}, class_names=["a", "b"], init_from=source["path"]
    )
    rgb, _ = arrays(4, seed=3, channels=3)
    grey = (rgb @ np.array([0.299, 0.587, 0.114], "float32"))[..., None]
    np.testing.assert_allclose(clf.predict_proba(rgb), source["clf"].predict_proba(grey), atol=1e-5)
    # And back: an RGB source serves a grey classifier (the kernel summed over colours).
    back = mmcnn.image.ImageClassifier(**SETTINGS, class_names=["a", "b"], init_from=_saved(clf))
    np.testing.assert_allclose(
        back.predict_proba(grey), clf.predict_proba(np.repeat(grey, 3, axis=-1)), atol=1e-5
    )


def _saved(clf):
    path = os.path.join(os.path.dirname(clf.init_from), "rgb.keras")
    clf.save(path)
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        ({"image_size": (16, 16)}, "init_from has image_size (12, 12), this classifier (16, 16)"),
        ({"preset": "small"}, "init_from has preset 'tiny', this classifier 'small'"),
        ({"spatial_transformer": True}, "init_from has layers with weights ['adapter', 'backbone'], this"),
    ],
)
def test_mismatches_name_both_values(source, change, message):
    clf = mmcnn.image.ImageClassifier(
        **{**SETTINGS, **change}, class_names=["a", "b"], init_from=source["path"]
    )
    with pytest.raises(TransferError) as error:
        clf.build()
    assert message in str(error.value)


def test_another_modality_is_refused(source):
    clf = mmcnn.audio.AudioClassifier(
        class_names=["a", "b"], clip_seconds=0.25, preset="tiny", init_from=source["path"]
    )
    with pytest.raises(TransferError, match="init_from is an image classifier, this is an audio classifier"):
        clf.build()


def test_audio_settings_must_match(tmp_path):
    settings = dict(class_names=["yes", "no"], clip_seconds=0.25, preset="tiny", n_mels=16)
    source = mmcnn.audio.AudioClassifier(**settings)
    source.save(tmp_path / "audio.keras")
    with pytest.raises(TransferError, match="init_from has sample_rate 16000, this classifier 8000"):
        mmcnn.audio.AudioClassifier(
            **settings, sample_rate=8000, init_from=str(tmp_path / "audio.keras")
        ).build()
    warm = mmcnn.audio.AudioClassifier(**{**settings, "class_names": ["up", "down"]}, init_from=str(tmp_path))
    with pytest.raises(TransferError, match="holds no trained model"):
        warm.build()  # a folder without model.keras
    os.makedirs(tmp_path / "run")
    shutil.copy(tmp_path / "audio.keras", tmp_path / "run" / "model.keras")
    warm = mmcnn.audio.AudioClassifier(
        **{**settings, "class_names": ["up", "down"]}, init_from=str(tmp_path / "run")
    )
    theirs, ours = weights_of(source.model, COPIED), weights_of(warm.model, COPIED)
    assert all(np.array_equal(ours[p], v) for p, v in theirs.items())


def test_the_saved_model_loads_without_its_source(source, tmp_path):
    path = tmp_path / "source.keras"
    shutil.copy(source["path"], path)
    clf = mmcnn.image.ImageClassifier(
        **SETTINGS, class_names=["c", "d"], init_from=str(path), freeze_epochs=1
    )
    assert clf.get_config()["init_from"] == str(path)
    assert clf.get_config()["freeze_epochs"] == 1
    x, _ = arrays(4, seed=4)
    expected = clf.predict_proba(x)
    clf.save(tmp_path / "warm.keras")
    os.remove(path)
    loaded = mmcnn.load(tmp_path / "warm.keras")
    assert loaded.init_from == str(path)
    np.testing.assert_allclose(loaded.predict_proba(x), expected, atol=1e-6)
    # Building it again needs the source, and says so.
    with pytest.raises(TransferError, match="no such run directory or .keras file"):
        mmcnn.image.ImageClassifier.from_config(loaded.get_config()).build()


def test_arguments_are_checked():
    with pytest.raises(ValueError, match="`init_from` must be None, a run directory"):
        mmcnn.image.ImageClassifier(init_from=3)
    with pytest.raises(ValueError, match="`freeze_epochs` must be None or an integer >= 0"):
        mmcnn.image.ImageClassifier(freeze_epochs=-1)
    with pytest.raises(ValueError, match="`fine_tune_learning_rate` must be None or a positive number"):
        mmcnn.image.ImageClassifier(fine_tune_learning_rate=0)


def test_text_keeps_or_relearns_the_vocabulary(tmp_path):
    settings = dict(max_tokens=16, min_frequency=1, embedding_dim=8, filters=4, epochs=1, batch_size=4)
    source = mmcnn.text.TextClassifier(class_names=["neg", "pos"], **settings)
    source.adapt(["a good film", "a bad film", "good", "bad"])
    source.save(tmp_path / "text.keras")
    texts = ["great plot", "dull plot", "great acting", "dull film"]
    data = mmcnn.text.from_arrays(texts, [1, 0, 1, 0], class_names=["no", "yes"])

    kept = mmcnn.text.TextClassifier(**settings, init_from=str(tmp_path / "text.keras"))
    kept.fit(data, verbose=0)
    assert kept.tokenizer.get_vocabulary() == source.tokenizer.get_vocabulary()

    relearned = mmcnn.text.TextClassifier(
        **settings, init_from=str(tmp_path / "text.keras"), relearn_vocabulary=True
    )
    relearned.prepare(data)
    vocabulary = relearned.tokenizer.get_vocabulary()
    assert "great" in vocabulary and "good" not in vocabulary
    old_rows = keras.ops.convert_to_numpy(source.model.get_layer("adapter").embedding.embeddings)
    new_rows = keras.ops.convert_to_numpy(relearned.model.get_layer("adapter").embedding.embeddings)
    old_vocabulary = source.tokenizer.get_vocabulary()
    for token in ("[PAD]", "[UNK]", "film"):  # tokens both hold keep their learned rows
        np.testing.assert_array_equal(
            new_rows[vocabulary.index(token)], old_rows[old_vocabulary.index(token)]
        )
    with pytest.raises(TransferError, match="init_from has mode 'unicode_script', this classifier 'word'"):
        mmcnn.text.TextClassifier(**settings, mode="word", init_from=str(tmp_path / "text.keras")).prepare(
            data
        )


@pytest.mark.slow
@pytest.mark.parametrize("interrupted_after", [0, 3])  # in the frozen phase, in the fine-tuning phase
def test_an_interrupted_warm_start_resumes_in_its_phase(source, tmp_path, interrupted_after):
    data = mmcnn.image.from_arrays(*arrays(32, seed=5), class_names=["c", "d"])

    def warm():
        return mmcnn.image.ImageClassifier(
            **SETTINGS, class_names=["c", "d"], init_from=source["path"], epochs=5, freeze_epochs=2
        )

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == interrupted_after:
                raise KeyboardInterrupt

    whole = warm()
    whole.fit(data, verbose=0, backup_dir=str(tmp_path / "whole"), early_stopping=False)
    with pytest.raises(KeyboardInterrupt):
        warm().fit(
            data, verbose=0, backup_dir=str(tmp_path / "b"), callbacks=[Interrupt()], early_stopping=False
        )
    resumed = warm()
    history = resumed.fit(data, verbose=0, backup_dir=str(tmp_path / "b"), early_stopping=False)
    assert history.epoch == list(range(interrupted_after + 1, 5))
    for ours, theirs in zip(resumed.model.get_weights(), whole.model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
