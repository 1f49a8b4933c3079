"""Trains a small classifier with a backup folder; optionally SIGKILLs itself mid-epoch.

Usage: python resume_script.py KIND BACKUP_DIR OUT.npz [KILL_EPOCH KILL_BATCH]
KIND: "image" (an image classifier) or "table" (a table of pictures, titles, numbers and
categories, its data written beside BACKUP_DIR).
(run by test_resume.py in a subprocess: a real kill, then a real restart).
"""

import os
import signal
import sys

import keras
import numpy as np
import pandas as pd
from PIL import Image

import mmcnn.image
import mmcnn.multimodal

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


def image_task(backup_dir):
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
    return clf, train_data, val_data


def table_task(backup_dir):
    """Pictures with random augmentation, titles, a number and a category, some cells missing:
    with column dropout and the shuffle, the randomness a table's resume must reproduce."""
    folder = os.path.join(os.path.dirname(os.path.abspath(backup_dir)), "table")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for i in range(32):
        label = ["dark", "bright"][i % 2]
        pixels = np.clip(rng.normal(80 + 90 * (i % 2), 40, (12, 12)), 0, 255).astype("uint8")
        Image.fromarray(pixels).save(os.path.join(folder, f"p{i}.png"))
        rows.append(
            dict(
                photo=f"p{i}.png" if i % 5 else "",
                title=["a night sky", "a sunny day"][i % 2] + f" number {i % 3}",
                hour=float(rng.integers(0, 24)) if i % 7 else None,
                place=["field", "town", "coast"][i % 3],
                label=label,
            )
        )
    frame = pd.DataFrame(rows)
    frame.iloc[:24].to_csv(os.path.join(folder, "train.csv"), index=False)
    frame.iloc[24:].to_csv(os.path.join(folder, "val.csv"), index=False)
    kinds = {"photo": "image", "title": "text", "hour": "number", "place": "category"}
    read = mmcnn.multimodal.from_dataframe
    train_data = read(os.path.join(folder, "train.csv"), columns=kinds, verbose=0)
    val_data = read(os.path.join(folder, "val.csv"), columns=kinds, verbose=0)
    clf = mmcnn.multimodal.TableClassifier(
        column_settings={
            "photo": dict(image_size=[12, 12], channels=1, preset="tiny", augmentation="standard"),
            "title": dict(max_tokens=8, embedding_dim=8, filters=4, min_frequency=1),
        },
        fusion_units=8,
        column_dropout=0.2,
        seed=7,
        batch_size=8,
    )
    return clf, train_data, val_data


TASKS = {"image": image_task, "table": table_task}


def train(kind, backup_dir, kill=None):
    """Returns (weights, epochs run in this call)."""
    clf, train_data, val_data = TASKS[kind](backup_dir)
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
    kind, backup, out = sys.argv[1], sys.argv[2], sys.argv[3]
    weights, epochs_run = train(
        kind, backup, tuple(int(v) for v in sys.argv[4:6]) if len(sys.argv) > 4 else None
    )
    np.savez(out, *weights, epochs_run=np.array(epochs_run))
