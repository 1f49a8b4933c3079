"""The errors training raises: a diverged run, an unusable backup."""


class TrainingDivergedError(RuntimeError):
    """The loss (or a weight) became NaN or infinite; the last good backup is kept.

    Attributes:
        epoch: 1-based epoch in which it happened.
        batch: 1-based batch within that epoch, or `None` when found at the epoch's end.
        what: what was found non-finite (`"loss"`, `"val_loss"`, `"weights of layer ..."`).
    """

    def __init__(self, message, epoch=None, batch=None, what=None):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch
        self.what = what


class BackupError(RuntimeError):
    """A training backup that cannot be used; the message names the file and the way out."""
