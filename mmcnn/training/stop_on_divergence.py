"""The `StopOnDivergence` callback: stop at the first NaN or infinite loss or weight."""

import math
import os

import keras
import numpy as np

from mmcnn.training.errors import TrainingDivergedError


class StopOnDivergence(keras.callbacks.Callback):
    """Raises `TrainingDivergedError` at the first NaN or infinite loss or weight.

    Put it before `BackupAndRestore` in the callback list: the exception then
    comes before the backup of a broken epoch is written, and because `fit`
    ends with an exception, `BackupAndRestore.on_train_end` (which deletes the
    backup) does not run. The last good backup stays for inspection or a
    resume with other settings.

    Args:
        backup_dir: where the last good state is kept (named in the message), or `None`.
        check_weights: also check every weight at the end of each epoch.
    """

    def __init__(self, backup_dir=None, check_weights=True):
        super().__init__()
        self.backup_dir = None if backup_dir is None else os.fspath(backup_dir)
        self.check_weights = check_weights
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _fail(self, what, value, batch=None):
        where = f"epoch {self._epoch + 1}" + (f", batch {batch + 1}" if batch is not None else "")
        kept = (
            f"; the last good state (end of epoch {self._epoch}) is kept in {self.backup_dir}"
            if self.backup_dir and self._epoch > 0
            else ""
        )
        raise TrainingDivergedError(
            f"training diverged: {what} became {value} at {where}{kept}. Lower the learning rate, "
            "check the inputs for NaN or infinite values, or use a smaller batch size",
            epoch=self._epoch + 1,
            batch=None if batch is None else batch + 1,
            what=what,
        )

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._fail("the loss", float(loss), batch)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            if key.endswith("loss") and value is not None and not math.isfinite(float(value)):
                self._fail(key, float(value))
        if self.check_weights:
            for weight in self.model.weights:
                if not np.all(np.isfinite(keras.ops.convert_to_numpy(weight.value))):
                    self._fail(f"weight {weight.path!r}", "non-finite")
