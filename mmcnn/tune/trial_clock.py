"""The `TrialClock` callback: a trial's training seconds, kept across a resume, and the search deadline."""

import json
import os
import time

import keras


class TrialClock(keras.callbacks.Callback):
    """Times each epoch of a trial and stops training at the search's deadline.

    The seconds of each finished epoch are written to `path` (JSON, epoch ->
    seconds), so a trial resumed from its backup after an interruption still
    reports the time of the epochs it ran before. After an epoch that ends
    past `deadline` (a `time.monotonic()` value), training stops: the trial
    is scored with what it reached, and the search starts no new trial.

    Args:
        path: the JSON file of epoch seconds.
        deadline: `time.monotonic()` value of the end of a time budget, or None.
    """

    def __init__(self, path, deadline=None):
        super().__init__()
        self.path = os.fspath(path)
        self.deadline = deadline
        self.stopped_by_deadline = False
        self._start = None

    def epoch_seconds(self):
        """`{epoch: seconds}` of the epochs finished so far (this call and earlier ones)."""
        if not os.path.isfile(self.path):
            return {}
        with open(self.path, encoding="utf-8") as f:
            return {int(k): float(v) for k, v in json.load(f).items()}

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        seconds = self.epoch_seconds()
        seconds[epoch] = time.monotonic() - self._start
        from mmcnn.export.atomic import replaced_file

        with replaced_file(self.path) as tmp, open(tmp, "w", encoding="utf-8") as f:
            json.dump({str(k): v for k, v in sorted(seconds.items())}, f)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.stopped_by_deadline = True
            self.model.stop_training = True
