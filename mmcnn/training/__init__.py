"""Training-time safety: reproducible resumes, divergence stops, sound backups, safe model files.

The pieces used by `Classifier.fit` / `Classifier.load` and the `mmcnn` command,
one module each:

- `seeds.py`, `epoch_dataset`: the training pipeline as one dataset over the
  remaining epochs, where epoch `e` is shuffled (and randomly mapped) from
  `(seed, e)` alone. `tf.data`'s own `shuffle(seed=...,
  reshuffle_each_iteration=True)` draws each epoch's order from how many
  iterators the dataset has made *in this process*, so after a restart epoch 5
  would get epoch 1's order.
- `epoch_seeds.py`, `EpochSeeds`: sets the state of every
  `keras.random.SeedGenerator` in the model (augmentation layers, dropout) from
  `(seed, epoch, index)` at the start of each epoch. Keras's weight files do not
  hold these states (a `Layer.save_own_variables` stores only its
  (non-)trainable variables), so without this a resumed run would replay the
  first epoch's random numbers.
- `stop_on_divergence.py`, `StopOnDivergence`: stops with
  `TrainingDivergedError` (naming the epoch and batch) at the first non-finite
  loss or weight. Keras's `TerminateOnNaN` ends training *normally*, which runs
  `BackupAndRestore.on_train_end` and deletes the last good backup; an
  exception skips `on_train_end` and keeps it.
- `resumable_backup.py`, `ResumableBackup`: `keras.callbacks.BackupAndRestore`
  with atomic writes (a kill mid-save never leaves half a file in place), a
  checksum tying the weights to their epoch, the previous epoch kept as a
  fallback, and the state of `EarlyStopping` / `ModelCheckpoint` saved with it
  (their `on_train_begin` resets them, so a resumed run would otherwise forget
  the best epoch).
- `model_files.py`, `check_keras_file`: refuses a `.keras` archive whose config
  names code (a `Lambda` layer, a module outside Keras and mmcnn, a Keras
  utility that is not a layer) before Keras parses it; Keras's safe mode
  refuses them too, this is a second wall with a message that names the file.

`callbacks.py` puts the callbacks in the order `fit` needs (`training_callbacks`);
`errors.py` holds `TrainingDivergedError` and `BackupError`.

With all of these a run killed at any point and run again ends with the same
weights, bit for bit, as one that was never interrupted (on the same machine
and TensorFlow build; see `docs/troubleshooting.md`).
"""

from mmcnn.training.atomic_model_checkpoint import AtomicModelCheckpoint
from mmcnn.training.callbacks import training_callbacks
from mmcnn.training.epoch_seeds import EpochSeeds
from mmcnn.training.errors import BackupError, TrainingDivergedError
from mmcnn.training.model_files import (
    UnsafeModelError,
    check_keras_file,
    keras_file_metadata,
    save_model_atomic,
)
from mmcnn.training.resumable_backup import ResumableBackup, read_backup_epoch
from mmcnn.training.seeds import (
    apply_random_map,
    epoch_dataset,
    epoch_seed,
    seed_generators,
    steps_per_epoch,
)
from mmcnn.training.stop_on_divergence import StopOnDivergence

__all__ = [
    "AtomicModelCheckpoint",
    "BackupError",
    "apply_random_map",
    "EpochSeeds",
    "ResumableBackup",
    "StopOnDivergence",
    "TrainingDivergedError",
    "UnsafeModelError",
    "check_keras_file",
    "keras_file_metadata",
    "save_model_atomic",
    "epoch_dataset",
    "epoch_seed",
    "read_backup_epoch",
    "seed_generators",
    "steps_per_epoch",
    "training_callbacks",
]
