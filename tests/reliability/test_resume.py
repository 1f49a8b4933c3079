"""Interrupted and failing training: exact resumes, divergence stops, damaged backups.

`test_killed_run_resumes_bit_for_bit`, `test_nan_loss_stops_and_keeps_the_last_good_backup` and
`test_damaged_backup_*` go through `Classifier.fit(backup_dir=...)` and need the lead's patch of
`mmcnn/models/classifier.py` (fit uses `mmcnn.training.training_callbacks` and `epoch_dataset`).
"""

import json
import logging
import os
import shutil
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf

import mmcnn.image
from mmcnn.training import (
    BackupError,
    EpochSeeds,
    ResumableBackup,
    TrainingDivergedError,
    epoch_dataset,
    epoch_seed,
    read_backup_epoch,
    seed_generators,
)

HERE = os.path.dirname(os.path.abspath(__file__))


def batches(ds):
    return [b[0].tolist() for b in ds.as_numpy_iterator()]


def numbered(n):
    return tf.data.Dataset.range(n).map(lambda i: (i, i % 2))


def test_epoch_order_comes_from_seed_and_epoch_only():
    full = batches(epoch_dataset(numbered(10), 10, 4, epochs=3, seed=5))
    # Each epoch: 4 + 4 + 2, a permutation of the data; no batch spans two epochs.
    assert [len(b) for b in full] == [4, 4, 2] * 3
    epochs = [sum(full[3 * e : 3 * e + 3], []) for e in range(3)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert len({tuple(e) for e in epochs}) == 3  # reshuffled every epoch
    # A run resumed at epoch 1 or 2 reads the same batches as the uninterrupted one.
    assert batches(epoch_dataset(numbered(10), 10, 4, epochs=3, seed=5, first_epoch=1)) == full[3:]
    assert batches(epoch_dataset(numbered(10), 10, 4, epochs=3, seed=5, first_epoch=2)) == full[6:]
    # ... also when the dataset is iterated again, or rebuilt in another process's order.
    again = epoch_dataset(numbered(10), 10, 4, epochs=3, seed=5)
    assert batches(again) == batches(again) == full
    assert batches(epoch_dataset(numbered(10), 10, 4, epochs=3, seed=6)) != full
    assert batches(epoch_dataset(numbered(10), 10, 4, epochs=3, seed=5, first_epoch=3)) == []


def test_random_map_gets_per_element_seeds_from_seed_and_epoch():
    def jitter(x, y, seed):
        return x * 1000 + tf.random.stateless_uniform([], seed, 0, 1000, dtype=tf.int64), y

    full = batches(epoch_dataset(numbered(6), 6, 6, epochs=3, seed=1, random_map=jitter))
    resumed = batches(epoch_dataset(numbered(6), 6, 6, epochs=3, seed=1, first_epoch=2, random_map=jitter))
    assert resumed == full[2:]
    noise = [sorted(v % 1000 for v in epoch) for epoch in full]
    assert noise[0] != noise[1] != noise[2]  # new random numbers every epoch


def test_epoch_seed_is_stable_and_spread():
    assert epoch_seed(3, 4, 1) == epoch_seed(3, 4, 1)
    values = {epoch_seed(s, e, k) for s in range(4) for e in range(20) for k in range(4)}
    assert len(values) == 4 * 20 * 4 and all(0 <= v < 2**63 for v in values)
    with pytest.raises(ValueError, match="first_epoch"):
        epoch_dataset(numbered(4), 4, 2, epochs=2, first_epoch=-1)
    with pytest.raises(ValueError, match="batch_size"):
        epoch_dataset(numbered(4), 4, 0, epochs=2)


def test_epoch_seeds_reset_every_random_layer():
    clf = mmcnn.image.ImageClassifier(
        num_classes=2, image_size=(12, 12), channels=1, preset="small", augmentation="standard", seed=2
    )
    generators = seed_generators(clf.model)
    # Five augmentation layers and the head's dropout.
    assert len(generators) >= 6
    callback = EpochSeeds(seed=2)
    callback.set_model(clf.model)
    callback.on_epoch_begin(3)
    first = [g.state.numpy().tolist() for g in generators]
    clf.model(np.zeros((2, 12, 12, 1), "float32"), training=True)  # advances the states
    assert [g.state.numpy().tolist() for g in generators] != first
    callback.on_epoch_begin(3)
    assert [g.state.numpy().tolist() for g in generators] == first
    callback.on_epoch_begin(4)
    assert all(a != b for a, b in zip(first, [g.state.numpy().tolist() for g in generators]))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["image", "table"])
def test_killed_run_resumes_bit_for_bit(tmp_path, kind):
    """SIGKILL in the middle of epoch 2, run again: the same weights as an uninterrupted run.

    The uninterrupted run is a process of its own too, so that all three train with the same
    TensorFlow settings (this test's worker may run TensorFlow with other thread counts, which
    change the last bits of float sums)."""
    sys.path.insert(0, HERE)
    try:
        from resume_script import EPOCHS
    finally:
        sys.path.remove(HERE)
    script = os.path.join(HERE, "resume_script.py")

    def run(*args):
        return subprocess.run(
            [sys.executable, script, kind, *args], capture_output=True, text=True, timeout=300
        )

    backup = tmp_path / "backup"
    killed = run(str(backup), str(tmp_path / "k.npz"), "1", "1")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert read_backup_epoch(backup) == 1  # one whole epoch was backed up before the kill
    resumed = run(str(backup), str(tmp_path / "r.npz"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    stored = np.load(tmp_path / "r.npz")
    assert int(stored["epochs_run"]) == EPOCHS - 1
    assert not backup.exists()  # a finished run removes its backup
    whole = run(str(tmp_path / "uninterrupted"), str(tmp_path / "u.npz"))
    assert whole.returncode == 0, whole.stderr[-2000:]
    uninterrupted = np.load(tmp_path / "u.npz")
    assert int(uninterrupted["epochs_run"]) == EPOCHS
    count = len([key for key in uninterrupted.files if key.startswith("arr_")])
    assert count == len([key for key in stored.files if key.startswith("arr_")]) > 0
    for i in range(count):
        np.testing.assert_array_equal(stored[f"arr_{i}"], uninterrupted[f"arr_{i}"])  # bit for bit


def small_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    pixels = np.clip(rng.normal(80 + 90 * labels[:, None, None], 40, (n, 12, 12)), 0, 255)
    return mmcnn.image.from_arrays(pixels.astype("uint8"), labels, class_names=["dark", "bright"])


def tiny_classifier(seed=0):
    return mmcnn.image.ImageClassifier(
        image_size=(12, 12),
        channels=1,
        preset="tiny",
        augmentation="none",
        seed=seed,
        batch_size=8,
        class_names=["dark", "bright"],
    )


def test_nan_loss_stops_and_keeps_the_last_good_backup(tmp_path):
    clf = tiny_classifier()
    # A learning rate that is sane for epoch 1 (5 steps) and explodes after it.
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([5], [0.01, 1e30])
    clf.model.compile(optimizer=keras.optimizers.SGD(schedule), loss="sparse_categorical_crossentropy")
    backup = tmp_path / "backup"
    with pytest.raises(TrainingDivergedError, match=r"epoch 2, batch \d") as info:
        clf.fit(small_data(), epochs=3, backup_dir=backup, early_stopping=False, verbose=0)
    error = info.value
    assert error.epoch == 2 and "loss" in error.what
    assert str(backup) in str(error) and "learning rate" in str(error)
    # Keras's TerminateOnNaN would have ended fit normally and deleted this backup.
    assert read_backup_epoch(backup) == 1
    with h5py.File(backup / "latest.weights.h5", "r") as f:
        saved = []
        f.visititems(lambda _, item: saved.append(item[()]) if isinstance(item, h5py.Dataset) else None)
    assert len(saved) > 10 and all(np.isfinite(w).all() for w in saved)
    assert not all(np.isfinite(w).all() for w in clf.model.get_weights())


class StopAt(keras.callbacks.Callback):
    """Interrupts fit at the start of an epoch, as Ctrl-C would."""

    def __init__(self, epoch):
        super().__init__()
        self.stop_epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.stop_epoch:
            raise KeyboardInterrupt


@pytest.fixture(scope="module")
def made_backup(tmp_path_factory):
    """A backup after 2 of 4 epochs, interrupted as by Ctrl-C (made once, copied per test)."""
    backup = tmp_path_factory.mktemp("made") / "backup"
    with pytest.raises(KeyboardInterrupt):
        tiny_classifier().fit(
            small_data(), epochs=4, backup_dir=backup, early_stopping=False, verbose=0, callbacks=[StopAt(2)]
        )
    return backup


def interrupted_backup(made_backup, tmp_path):
    backup = tmp_path / "backup"
    shutil.copytree(made_backup, backup)
    return backup


def truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def test_damaged_backup_falls_back_to_the_previous_epoch(made_backup, tmp_path, caplog):
    backup = interrupted_backup(made_backup, tmp_path)
    names = sorted(os.listdir(backup))
    assert "latest.weights.h5.bkp" in names and "training_metadata.json.bkp" in names
    assert json.loads((backup / "training_metadata.json").read_text())["epoch"] == 2
    truncate(backup / "latest.weights.h5")
    with caplog.at_level(logging.WARNING, logger="mmcnn"):
        assert read_backup_epoch(backup) == 1
    assert "latest.weights.h5" in caplog.text and "previous backup" in caplog.text
    history = tiny_classifier().fit(
        small_data(), epochs=4, backup_dir=backup, early_stopping=False, verbose=0
    )
    assert len(history.history["loss"]) == 3  # epochs 2, 3, 4


def test_damaged_backup_without_a_good_previous_one_fails_clearly(made_backup, tmp_path):
    backup = interrupted_backup(made_backup, tmp_path)
    truncate(backup / "latest.weights.h5")
    truncate(backup / "latest.weights.h5.bkp", keep=0.9)
    with pytest.raises(BackupError) as info:
        tiny_classifier().fit(small_data(), epochs=4, backup_dir=backup, early_stopping=False, verbose=0)
    message = str(info.value)
    assert "latest.weights.h5" in message and f"Delete {backup}" in message
    # Damaged metadata is named too.
    backup = interrupted_backup(made_backup, tmp_path / "again")
    (backup / "training_metadata.json").write_text('{"epoch": ')
    os.remove(backup / "training_metadata.json.bkp")
    with pytest.raises(BackupError, match="training_metadata.json is unreadable"):
        read_backup_epoch(backup)


def test_truncated_plain_keras_backup_is_detected(tmp_path):
    # A backup written by keras.callbacks.BackupAndRestore (no checksums): HDF5 is read whole.
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    with pytest.raises(KeyboardInterrupt):
        model.fit(
            np.ones((4, 3)),
            np.ones((4, 2)),
            epochs=3,
            verbose=0,
            callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path)), StopAt(1)],
        )
    assert ResumableBackup(tmp_path).initial_epoch == 1
    truncate(tmp_path / "latest.weights.h5")
    with pytest.raises(BackupError, match="damaged"):
        ResumableBackup(tmp_path)
