"""The training schedule a preset gets on data of a given size.

A preset's `epochs`, `batch_size` and `patience` are sized for its benchmark
data (tens of thousands of examples). On a few hundred examples the same
numbers give a handful of optimizer steps per epoch and a few hundred in all:
the model stops far from converged. `fit_schedule` keeps the preset's values
where the data is large enough and otherwise

- halves the batch size (not below `MIN_BATCH`) until an epoch has at least
  `MIN_STEPS_PER_EPOCH` steps,
- raises the epochs until training takes at least `MIN_TOTAL_STEPS` steps
  (at most `MAX_EPOCHS`),
- stretches early stopping's patience by the same factor as the epochs it
  raised (at most `MAX_PATIENCE`), since an epoch now holds fewer steps.

Whatever the size, early stopping (and the best epoch it restores) only
watches the second half of the epochs (`start_from_epoch`, `EARLY_STOPPING_START`).
On a small validation split the loss is often lowest in the first few epochs,
before the model grows confident, while accuracy keeps rising for many more:
with 10 Fashion-MNIST images per class, the default restored epoch 4 of 200
and scored 0.60 on the test split; watching from epoch 100, 0.70
(bench/results/small_data.md). On large data the best epoch comes late in the
cosine schedule anyway.

Values the user gave (constructor or `fit` arguments) are never changed. The
schedule depends only on the number of training examples, so a resumed run
gets the same one.
"""

import math

MIN_BATCH = 16
MIN_STEPS_PER_EPOCH = 16
MIN_TOTAL_STEPS = 2000
MAX_EPOCHS = 200
MAX_PATIENCE = 30
# Early stopping watches the epochs from this fraction of the schedule on.
EARLY_STOPPING_START = 0.5


def fit_schedule(num_examples, preset, epochs=None, batch_size=None, patience=None):
    """`{"epochs", "batch_size", "patience", "start_from_epoch", "adapted"}` for `num_examples`
    training examples.

    Args:
        num_examples: training examples per epoch.
        preset: dict with the preset's `epochs`, `batch_size` and (optional)
            `patience` (default 5).
        epochs, batch_size, patience: the user's values; None adapts that one.

    Returns:
        The schedule; `start_from_epoch` is the first epoch (0-based) early stopping
        watches; `adapted` lists the names of the values changed from the preset's.

    Example:
    >>> preset = {"epochs": 20, "batch_size": 128, "patience": 5}
    >>> fit_schedule(55_000, preset)["adapted"]
    []
    >>> fit_schedule(500, preset)
    {'epochs': 63, 'batch_size': 16, 'patience': 16, 'start_from_epoch': 31,
     'adapted': ['batch_size', 'epochs', 'patience']}
    >>> fit_schedule(500, preset, batch_size=128)["epochs"]
    200
    """
    if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < 1:
        raise ValueError(
            f"`num_examples` must be a positive integer. Received: num_examples={num_examples!r}"
        )
    preset_epochs, preset_batch = int(preset["epochs"]), int(preset["batch_size"])
    preset_patience = int(preset.get("patience", 5))
    adapted = []
    if batch_size is None:
        batch_size = preset_batch
        while batch_size > MIN_BATCH and num_examples / batch_size < MIN_STEPS_PER_EPOCH:
            batch_size = max(MIN_BATCH, batch_size // 2)
        if batch_size != preset_batch:
            adapted.append("batch_size")
    steps = math.ceil(num_examples / batch_size)
    if epochs is None:
        epochs = preset_epochs
        if steps * epochs < MIN_TOTAL_STEPS:
            epochs = min(MAX_EPOCHS, max(preset_epochs, math.ceil(MIN_TOTAL_STEPS / steps)))
        if epochs != preset_epochs:
            adapted.append("epochs")
    if patience is None:
        patience = preset_patience
        if "epochs" in adapted and epochs > preset_epochs:
            stretched = math.ceil(preset_patience * epochs / preset_epochs)
            patience = min(MAX_PATIENCE, max(preset_patience, stretched))
        if patience != preset_patience:
            adapted.append("patience")
    return {
        "epochs": int(epochs),
        "batch_size": int(batch_size),
        "patience": int(patience),
        "start_from_epoch": int(epochs * EARLY_STOPPING_START),
        "adapted": adapted,
    }
