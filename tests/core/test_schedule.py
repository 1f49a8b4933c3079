"""The training schedule adapted to the data's size (`mmcnn.models.schedule`) and its use in `fit`."""

import os

import keras
import numpy as np
import pytest

import mmcnn.image
from mmcnn.models import schedule
from mmcnn.models.schedule import fit_schedule
from mmcnn.training import AtomicModelCheckpoint

PRESET = {"epochs": 20, "batch_size": 128, "patience": 5}


def test_large_data_keeps_the_preset():
    assert fit_schedule(55_000, PRESET) == {
        "epochs": 20,
        "batch_size": 128,
        "patience": 5,
        "start_from_epoch": 10,
        "adapted": [],
    }


def test_early_stopping_watches_the_second_half_of_the_epochs():
    assert fit_schedule(500, PRESET)["start_from_epoch"] == 63 // 2
    assert fit_schedule(500, PRESET, epochs=7)["start_from_epoch"] == 3
    assert fit_schedule(500, PRESET, epochs=1)["start_from_epoch"] == 0


def test_small_data_gets_smaller_batches_more_epochs_and_patience():
    chosen = fit_schedule(500, PRESET)
    assert chosen["adapted"] == ["batch_size", "epochs", "patience"]
    steps = -(-500 // chosen["batch_size"])
    assert chosen["batch_size"] == 16 and steps >= schedule.MIN_STEPS_PER_EPOCH
    assert steps * chosen["epochs"] >= schedule.MIN_TOTAL_STEPS
    assert steps * (chosen["epochs"] - 1) < schedule.MIN_TOTAL_STEPS  # no more epochs than needed
    assert chosen["patience"] == 16  # 5 * 63 / 20, rounded up


def test_tiny_data_stops_at_the_caps():
    chosen = fit_schedule(20, PRESET)
    assert chosen["batch_size"] == schedule.MIN_BATCH
    assert chosen["epochs"] == schedule.MAX_EPOCHS and chosen["patience"] == schedule.MAX_PATIENCE


def test_the_users_values_are_kept():
    chosen = fit_schedule(500, PRESET, epochs=7, batch_size=100)
    assert (chosen["epochs"], chosen["batch_size"], chosen["patience"]) == (7, 100, 5)
    assert chosen["adapted"] == []
    # A given batch size still gets enough epochs; a given epoch count keeps its patience.
    assert fit_schedule(500, PRESET, batch_size=128)["epochs"] == schedule.MAX_EPOCHS
    assert fit_schedule(500, PRESET, epochs=100)["patience"] == 5
    assert fit_schedule(500, PRESET, patience=2)["patience"] == 2


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, None])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ValueError, match="num_examples"):
        fit_schedule(bad, PRESET)


def _tiny_data(n=48):
    rng = np.random.default_rng(0)
    labels = np.arange(n) % 2
    pixels = (rng.random((n, 8, 8)) * 60 + labels[:, None, None] * 150).astype("uint8")
    return mmcnn.image.from_arrays(pixels, labels, class_names=["dark", "bright"])


def _classifier(**kwargs):
    return mmcnn.image.ImageClassifier(
        image_size=(8, 8), channels=1, preset="tiny", augmentation="none", **kwargs
    )


def test_fit_adapts_the_default_schedule(monkeypatch):
    monkeypatch.delenv("MMCNN_SCHEDULE", raising=False)  # the suite pins the presets' schedules
    # A lower cap, still above the preset's epochs: the same rule in a twelfth of the steps.
    monkeypatch.setattr(schedule, "MAX_EPOCHS", 16)
    clf = _classifier()
    history = clf.fit(_tiny_data(), verbose=0, calibrate=False)
    preset = clf.preset_config
    assert clf.schedule_used["batch_size"] == 16 < preset["batch_size"]
    assert clf.schedule_used["epochs"] == schedule.MAX_EPOCHS > preset["epochs"]
    assert clf.schedule_used["num_examples"] == 48 and len(history.history["loss"]) == schedule.MAX_EPOCHS


def test_constructor_values_and_the_preset_switch_are_honoured(monkeypatch):
    monkeypatch.delenv("MMCNN_SCHEDULE", raising=False)
    clf = _classifier(epochs=2, batch_size=24)
    history = clf.fit(_tiny_data(), verbose=0, calibrate=False)
    assert len(history.history["loss"]) == 2 and clf.schedule_used["adapted"] == []
    assert clf.schedule_used["batch_size"] == 24

    monkeypatch.setenv("MMCNN_SCHEDULE", "preset")
    clf = _classifier()
    history = clf.fit(_tiny_data(), verbose=0, calibrate=False)
    assert len(history.history["loss"]) == clf.preset_config["epochs"]
    assert clf.schedule_used["batch_size"] == clf.preset_config["batch_size"]


class _EpochWeights(keras.callbacks.Callback):
    """The model's weights after every epoch, and whether `path` existed then."""

    def __init__(self, path):
        super().__init__()
        self.path, self.weights, self.saved = path, [], []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())
        self.saved.append(os.path.exists(self.path))


def test_fit_restores_and_checkpoints_only_epochs_early_stopping_watches(tmp_path):
    data = _tiny_data()
    train, val = data.split(0.25, seed=0)
    path = str(tmp_path / "best.keras")
    # The checkpoint runs before the recorder, so `saved` says whether epoch e was written.
    recorder = _EpochWeights(path)
    clf = _classifier(epochs=6, batch_size=16)
    clf.fit(
        train,
        validation_data=val,
        callbacks=[AtomicModelCheckpoint(path), recorder],
        verbose=0,
        calibrate=False,
    )
    start = clf.schedule_used["start_from_epoch"]
    assert start == 3
    assert recorder.saved[:start] == [False] * start and recorder.saved[start]
    final = clf.model.get_weights()
    restored = [
        e for e, w in enumerate(recorder.weights) if all(np.array_equal(a, b) for a, b in zip(w, final))
    ]
    assert restored and min(restored) >= start
