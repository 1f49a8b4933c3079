"""`AtomicModelCheckpoint`: the best epoch's model, written all or nothing."""

import keras

from mmcnn.training.model_files import save_model_atomic


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """`keras.callbacks.ModelCheckpoint` (best only, whole model) whose writes are atomic.

    Keras writes the `.keras` file in place, so a write that fails part-way
    (a full disk) would destroy the previous best model. This one writes
    beside it and renames (`save_model_atomic`).

    Args:
        filepath: the `.keras` file.
        monitor: the quantity whose improvement triggers a save.
        start_from_epoch: epochs (0-based) before this one are never saved, as
            `keras.callbacks.EarlyStopping(start_from_epoch=...)` never restores
            them. None (the default): `Classifier.fit` sets its own early
            stopping's value, so the checkpoint holds the epoch it would restore.
        **kwargs: passed to `ModelCheckpoint` (`save_best_only` is always true).
    """

    def __init__(self, filepath, monitor="val_loss", start_from_epoch=None, **kwargs):
        kwargs["save_best_only"] = True
        kwargs["save_weights_only"] = False
        super().__init__(filepath, monitor=monitor, **kwargs)
        self.start_from_epoch = start_from_epoch

    def _save_model(self, epoch, batch, logs):
        if epoch < (self.start_from_epoch or 0):
            return
        filepath = self._get_file_path(epoch, batch, logs)
        if self._should_save_model(epoch, batch, logs, filepath):  # also updates `self.best`
            save_model_atomic(self.model, filepath)
