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

backup_dir, out = sys.argv[1], sys.argv[2]
kill = tuple(int(v) for v in sys.argv[3:5]) if len(sys.argv) > 3 else None


class KillMidEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == kill:
            os.kill(os.getpid(), signal.SIGKILL)


rng = np.random.default_rng(0)
labels = np.arange(48) % 2
pixels = np.clip(rng.normal(80 + 90 * labels[:, None, None], 40, (48, 12, 12)), 0, 255).astype("uint8")
train = mmcnn.image.from_arrays(pixels[:40], labels[:40], class_names=["dark", "bright"])
val = mmcnn.image.from_arrays(pixels[40:], labels[40:], class_names=["dark", "bright"])
# "small" has head dropout and "standard" augmentation has five random layers: every source
# of randomness a resume must reproduce (shuffle, augmentation, dropout).
clf = mmcnn.image.ImageClassifier(image_size=(12, 12), channels=1, preset="small",
                                  augmentation="standard", seed=7, batch_size=8)
history = clf.fit(train, validation_data=val, epochs=4, backup_dir=backup_dir, verbose=0,
                  callbacks=[KillMidEpoch()] if kill else [])
np.savez(out, *clf.model.get_weights(), epochs_run=np.array(len(history.history["loss"])))
