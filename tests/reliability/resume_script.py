"""Trains a small image classifier with a backup folder; optionally SIGKILLs itself mid-epoch.

Usage: python resume_script.py BACKUP_DIR OUT.npz [KILL_EPOCH KILL_BATCH]
(run by test_resume.py in a subprocess: a real kill, then a real restart).
"""

import os
import signal
import sys

import keras
import numpy as np

import mmcnn.image

EPOCHS = 3


class KillMidEpoch(keras.callbacks.Callback):
    """SIGKILLs this process after batch `batch` (0-based) of epoch `epoch` (0-based)."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # With several steps per execution Keras reports only the last batch of each call.
        if self.epoch == self.at[0] and batch >= self.at[1]:
            os.kill(os.getpid(), signal.SIGKILL)


def train(backup_dir, kill=None):
    """Returns (weights, epochs run in this call)."""
    rng = np.random.default_rng(0)
    labels = np.arange(32) % 2
    pixels = np.clip(rng.normal(80 + 90 * labels[:, None, None], 40, (32, 12, 12)), 0, 255).astype("uint8")
    train_data = mmcnn.image.from_arrays(pixels[:24], labels[:24], class_names=["dark", "bright"])
    val_data = mmcnn.image.from_arrays(pixels[24:], labels[24:], class_names=["dark", "bright"])
    # "small" has head dropout and "standard" augmentation five random layers: with the
    # shuffle, every source of randomness that a resume must reproduce.
    clf = mmcnn.image.ImageClassifier(
        image_size=(12, 12), channels=1, preset="small", augmentation="standard", seed=7, batch_size=8
    )
    history = clf.fit(
        train_data,
        validation_data=val_data,
        epochs=EPOCHS,
        backup_dir=backup_dir,
        verbose=0,
        callbacks=[KillMidEpoch(*kill)] if kill else [],
    )
    return clf.model.get_weights(), len(history.history["loss"])


if __name__ == "__main__":
    backup, out = sys.argv[1], sys.argv[2]
    weights, epochs_run = train(backup, tuple(int(v) for v in sys.argv[3:5]) if len(sys.argv) > 3 else None)
    np.savez(out, *weights, epochs_run=np.array(epochs_run))
