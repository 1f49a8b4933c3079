"""The callbacks `Classifier.fit` adds to a run."""

from mmcnn.training.epoch_seeds import EpochSeeds
from mmcnn.training.resumable_backup import ResumableBackup
from mmcnn.training.stop_on_divergence import StopOnDivergence


def training_callbacks(seed, callbacks=(), backup_dir=None):
    """The callbacks `Classifier.fit` adds, in order: divergence stop, backup, epoch seeds, the rest.

    Returns:
        `(callbacks, first_epoch)`: the list to pass to `fit`, and the epoch
        the run starts from (from the backup).
    """
    callbacks = list(callbacks)
    backup = ResumableBackup(backup_dir, callbacks) if backup_dir is not None else None
    front = [StopOnDivergence(backup_dir), *([backup] if backup else []), EpochSeeds(seed)]
    return front + callbacks, (backup.initial_epoch if backup else 0)
