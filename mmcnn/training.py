"""Training-time safety: reproducible resumes, divergence stops, sound backups, safe model files.

Four pieces, used by `Classifier.fit` / `Classifier.load` and the `mmcnn` command:

- `epoch_dataset`: the training pipeline as one dataset over the remaining
  epochs, where epoch `e` is shuffled (and randomly mapped) from `(seed, e)`
  alone. `tf.data`'s own `shuffle(seed=..., reshuffle_each_iteration=True)`
  draws each epoch's order from how many iterators the dataset has made *in
  this process*, so after a restart epoch 5 would get epoch 1's order.
- `EpochSeeds`: sets the state of every `keras.random.SeedGenerator` in the
  model (augmentation layers, dropout) from `(seed, epoch, index)` at the start
  of each epoch. Keras's weight files do not hold these states (a
  `Layer.save_own_variables` stores only its (non-)trainable variables), so
  without this a resumed run would replay the first epoch's random numbers.
- `StopOnDivergence`: stops with `TrainingDivergedError` (naming the epoch and
  batch) at the first non-finite loss or weight. Keras's `TerminateOnNaN` ends
  training *normally*, which runs `BackupAndRestore.on_train_end` and deletes
  the last good backup; an exception skips `on_train_end` and keeps it.
- `ResumableBackup`: `keras.callbacks.BackupAndRestore` with atomic writes (a
  kill mid-save never leaves half a file in place), a checksum tying the weights
  to their epoch, the previous epoch kept as a fallback, and the state of
  `EarlyStopping` / `ModelCheckpoint` saved with it (their `on_train_begin`
  resets them, so a resumed run would otherwise forget the best epoch).
- `check_keras_file`: refuses a `.keras` archive whose config names code
  (a `Lambda` layer, a module outside Keras and mmcnn, a Keras utility that is
  not a layer) before Keras parses it; Keras's safe mode refuses them too, this
  is a second wall with a message that names the file.

With all of these a run killed at any point and run again ends with the same
weights, bit for bit, as one that was never interrupted (on the same machine
and TensorFlow build; see `docs/troubleshooting.md`).
"""

import hashlib
import json
import logging
import math
import os
import zipfile

import keras
import numpy as np
import tensorflow as tf

logger = logging.getLogger("mmcnn")

# Large odd multipliers (from splitmix64) keep (seed, epoch, stream) triples apart.
_MIX_A = 0x9E3779B97F4A7C15
_MIX_B = 0xBF58476D1CE4E5B9
_MASK63 = (1 << 63) - 1
_MASK64 = (1 << 64) - 1


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


class UnsafeModelError(ValueError):
    """A model file whose configuration names code; the message names the file and the entry."""


# ------------------------------------------------------------------ seeds
def epoch_seed(seed, epoch, stream=0):
    """A 63-bit integer seed derived from `(seed, epoch, stream)` only.

    Args:
        seed: the run's integer seed.
        epoch: 0-based epoch.
        stream: which random stream (0: shuffle, 1: data map, 2 + i: the model's
            i-th seed generator).

    Returns:
        Python int in `[0, 2**63)`.

    Example:
    >>> epoch_seed(0, 1) == epoch_seed(0, 1) != epoch_seed(0, 2)
    True
    """
    value = 0
    for part in (seed, epoch, stream):
        value = _mix64(value ^ (int(part) & _MASK64))
    return value & _MASK63


def _mix64(value):
    # splitmix64's finaliser: a bijection of 64-bit integers that spreads every input bit.
    value = (value + _MIX_A) & _MASK64
    value = ((value ^ (value >> 30)) * _MIX_B) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def epoch_dataset(
    dataset, size, batch_size, epochs, seed=0, first_epoch=0, random_map=None, shuffle_buffer=20000
):
    """Batches for epochs `first_epoch .. epochs - 1`, each shuffled from `(seed, epoch)`.

    Meant for `model.fit(..., steps_per_epoch=steps_per_epoch(size, batch_size))`:
    Keras then reads one iterator across epochs, and epoch `e` holds the same
    batches whether the run started at epoch 0 or resumed at `e`. Each epoch
    ends with its own partial batch (no batch mixes two epochs).

    Args:
        dataset: unbatched `(input, label)` dataset in a fixed order (cache it
            before: it is read once per epoch).
        size: number of elements in `dataset`.
        batch_size: batch size.
        epochs: total number of epochs of the run.
        seed: the run's integer seed.
        first_epoch: 0-based epoch to start from (a resumed run's).
        random_map: optional `fn(x, y, seed) -> (x, y)` applied after the
            shuffle, where `seed` is a per-element int64 `(2,)` tensor for
            stateless ops (`tf.random.stateless_uniform(..., seed=seed)`),
            derived from `(seed, epoch, position)`. A function of two arguments
            is applied as `fn(x, y)` (its randomness is then not reproducible
            across a resume).
        shuffle_buffer: the most elements the shuffle buffer holds.

    Returns:
        A batched, prefetched `tf.data.Dataset`.

    Example:
    >>> ds = epoch_dataset(tf.data.Dataset.range(4).map(lambda i: (i, i)), 4, 4, epochs=3, seed=1)
    >>> resumed = epoch_dataset(tf.data.Dataset.range(4).map(lambda i: (i, i)), 4, 4, epochs=3,
    ...                         seed=1, first_epoch=1)
    >>> [b[0].tolist() for b in ds.as_numpy_iterator()][1:] == \\
    ...     [b[0].tolist() for b in resumed.as_numpy_iterator()]
    True
    """
    for name, value in (("size", size), ("batch_size", batch_size), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    if isinstance(first_epoch, bool) or not isinstance(first_epoch, (int, np.integer)) or first_epoch < 0:
        raise ValueError(
            f"`first_epoch` must be a non-negative integer. Received: first_epoch={first_epoch!r}"
        )
    buffer = int(min(size, shuffle_buffer))
    legacy_map = random_map is not None and _positional_arity(random_map) == 2
    if legacy_map:
        logger.warning(
            "epoch_dataset: %s takes (x, y) and draws its own random numbers; they "
            "are not reproducible across a resume. Take (x, y, seed) and use "
            "stateless ops.",
            getattr(random_map, "__name__", random_map),
        )

    def one_epoch(epoch):
        # Python-int seeds: TensorFlow's seed handling cannot take a tensor once a global
        # seed is set (keras.utils.set_random_seed), so each epoch is its own dataset.
        shuffled = dataset.shuffle(buffer, seed=epoch_seed(seed, epoch, 0), reshuffle_each_iteration=False)
        if legacy_map:
            shuffled = shuffled.map(random_map, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        elif random_map is not None:
            map_seed = tf.constant(epoch_seed(seed, epoch, 1), tf.int64)
            shuffled = shuffled.enumerate().map(
                lambda i, xy: random_map(xy[0], xy[1], tf.stack([map_seed, i])),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
        return shuffled.batch(batch_size)

    epoch_numbers = list(range(first_epoch, epochs))
    if not epoch_numbers:
        return dataset.batch(batch_size).take(0)
    steps = steps_per_epoch(size, batch_size)
    # One flat dataset that reads `steps` batches from epoch 0's dataset, then from epoch 1's...
    choice = tf.data.Dataset.range(len(epoch_numbers)).flat_map(
        lambda k: tf.data.Dataset.from_tensors(k).repeat(steps)
    )
    ds = tf.data.Dataset.choose_from_datasets(
        [one_epoch(e) for e in epoch_numbers], choice, stop_on_empty_dataset=True
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def apply_random_map(dataset, random_map, seed=0):
    """Applies a `fn(x, y, seed)` (or legacy `fn(x, y)`) random map outside `epoch_dataset`.

    For pipelines that Keras re-iterates every epoch (no `steps_per_epoch`): the
    per-element seeds come from `tf.data.Dataset.random(seed)`, which draws new
    numbers on each iteration, so the map differs from epoch to epoch.
    """
    if _positional_arity(random_map) == 2:
        return dataset.map(random_map, num_parallel_calls=tf.data.AUTOTUNE)
    seeds = tf.data.Dataset.random(seed=int(seed), rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(dataset, seeds).map(
        lambda xy, element_seed: random_map(xy[0], xy[1], element_seed), num_parallel_calls=tf.data.AUTOTUNE
    )


def steps_per_epoch(size, batch_size):
    """Batches in one epoch of `size` elements (the last one partial)."""
    return int(math.ceil(size / batch_size))


def _positional_arity(fn):
    import inspect

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 3
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def seed_generators(model):
    """Every `keras.random.SeedGenerator` of `model` and its sub-layers, in a fixed order."""
    found, seen = [], set()
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for generator in getattr(layer, "_seed_generators", ()):
            if id(generator) not in seen:
                seen.add(id(generator))
                found.append(generator)
    return found


class EpochSeeds(keras.callbacks.Callback):
    """Re-seeds the model's random layers from `(seed, epoch)` at the start of each epoch.

    Augmentation layers and dropout draw from `keras.random.SeedGenerator`s
    whose state advances with every batch and is not saved by
    `save_weights`; setting it per epoch makes epoch `e`'s random numbers the
    same in an uninterrupted and in a resumed run.

    Args:
        seed: the run's integer seed.
    """

    def __init__(self, seed=0):
        super().__init__()
        self.seed = int(seed)

    def on_epoch_begin(self, epoch, logs=None):
        for i, generator in enumerate(seed_generators(self.model)):
            state = generator.state
            value = np.array([epoch_seed(self.seed, epoch, 2 + i), 0])
            state.assign(value.astype(keras.backend.standardize_dtype(state.dtype)))


# --------------------------------------------------------------- divergence
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


# ------------------------------------------------------------------ backups
_STATEFUL_ATTRIBUTES = {
    keras.callbacks.EarlyStopping: ("wait", "stopped_epoch", "best", "best_epoch"),
    keras.callbacks.ModelCheckpoint: ("best",),
}


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path):
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _json_number(value):
    value = float(value)
    return value if math.isfinite(value) else repr(value)


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` that survives a kill at any moment and checks what it restores.

    At the end of each epoch it writes, to temporary names first:
    `latest.weights.h5` (model and optimizer), `best.weights.npz` (the
    `EarlyStopping` best weights, when there are any) and
    `training_metadata.json` (the epoch, the SHA-256 of both files and the
    state of `EarlyStopping` / `ModelCheckpoint` callbacks). The previous
    epoch's files are kept with a `.bkp` suffix; the new ones are renamed into
    place, metadata last. A set whose checksums disagree (a kill between two
    renames, a truncated or edited file) is not used: the previous set is, with
    a warning, and when neither is whole `BackupError` says which file is bad
    and how to start over.

    The backup is checked when the callback is made, so `initial_epoch` is
    known before the training dataset is built (see `epoch_dataset`).

    Args:
        backup_dir: the folder (created on the first save).
        callbacks: the other callbacks of the run; the state of the
            `EarlyStopping` and `ModelCheckpoint` among them is saved and
            restored.

    Raises:
        BackupError: the backup exists but no complete set of it can be read.
    """

    def __init__(self, backup_dir, callbacks=()):
        super().__init__(
            os.fspath(backup_dir), save_freq="epoch", double_checkpoint=True, delete_checkpoint=True
        )
        self.stateful_callbacks = [c for c in callbacks if isinstance(c, tuple(_STATEFUL_ATTRIBUTES))]
        self._best_path = os.path.join(self.backup_dir, "best.weights.npz")
        self._pending_state = None
        self.initial_epoch, self.restored_from = self._choose()

    # Paths of the current set ("") and of the previous one (".bkp").
    def _paths(self, suffix):
        return {
            "weights": self._weights_path + suffix,
            "metadata": self._training_metadata_path + suffix,
            "best": self._best_path + suffix,
        }

    def _check_set(self, suffix):
        """`(metadata, None)` for a whole set, `(None, reason)` otherwise."""
        paths = self._paths(suffix)
        if not os.path.exists(paths["metadata"]):
            return None, f"{paths['metadata']} is missing"
        try:
            with open(paths["metadata"], encoding="utf-8") as f:
                metadata = json.load(f)
            epoch = metadata["epoch"]
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
                raise ValueError(f"bad epoch {epoch!r}")
        except (OSError, ValueError, KeyError, TypeError) as error:
            return None, f"{paths['metadata']} is unreadable ({type(error).__name__}: {error})"
        if not os.path.exists(paths["weights"]):
            return None, f"{paths['weights']} is missing"
        expected = metadata.get("weights_sha256")
        if expected is not None and _sha256(paths["weights"]) != expected:
            return None, f"{paths['weights']} does not match its checksum (truncated or changed)"
        if expected is None:
            # Written by plain Keras BackupAndRestore: at least check that HDF5 reads it whole.
            reason = _check_h5(paths["weights"])
            if reason:
                return None, f"{paths['weights']} is damaged ({reason})"
        best = metadata.get("best_sha256")
        if best is not None and (not os.path.exists(paths["best"]) or _sha256(paths["best"]) != best):
            return None, f"{paths['best']} is missing or does not match its checksum"
        return metadata, None

    def _choose(self):
        paths, previous = self._paths(""), self._paths(".bkp")
        if not any(os.path.exists(p) for p in (*paths.values(), *previous.values())):
            return 0, None
        metadata, reason = self._check_set("")
        if metadata is not None:
            return metadata["epoch"], ""
        old, old_reason = self._check_set(".bkp")
        if old is not None:
            logger.warning(
                "backup %s: %s; resuming from the previous backup (end of epoch %d)",
                self.backup_dir,
                reason,
                old["epoch"],
            )
            return old["epoch"], ".bkp"
        if not os.path.exists(previous["metadata"]) and not os.path.exists(previous["weights"]):
            old_reason = "there is no previous backup to fall back to"
        raise BackupError(
            f"cannot resume from the backup in {self.backup_dir}: {reason}; and {old_reason}. "
            f"Delete {self.backup_dir} to train again from the first epoch "
            "(with the mmcnn command: re-run with --overwrite)"
        )

    def on_train_begin(self, logs=None):
        if self.restored_from is None:
            return
        if self.restored_from == ".bkp":
            # Put the whole previous set in place, so that the next save rotates good files.
            for key, path in self._paths("").items():
                older = self._paths(".bkp")[key]
                if os.path.exists(older):
                    os.replace(older, path)
                elif os.path.exists(path):
                    os.remove(path)
            self.restored_from = ""
        if not self.model.built:
            raise ValueError("ResumableBackup needs a built model before fit()")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(self._weights_path)
        except (ValueError, OSError, KeyError) as error:
            raise BackupError(
                f"the backup {self._weights_path} does not fit this model ({error}); "
                f"delete {self.backup_dir} to train again from the first epoch"
            ) from None
        with open(self._training_metadata_path, encoding="utf-8") as f:
            metadata = json.load(f)
        self.model._initial_epoch = metadata["epoch"]
        self._current_epoch = metadata["epoch"]
        self._pending_state = metadata
        logger.info("resuming from the backup in %s after epoch %d", self.backup_dir, metadata["epoch"])

    def on_epoch_begin(self, epoch, logs=None):
        # Callback states are restored here, after every callback's on_train_begin reset them.
        if self._pending_state is None:
            return
        metadata, self._pending_state = self._pending_state, None
        states = metadata.get("callbacks", [])
        for callback, state in zip(self.stateful_callbacks, states):
            for name, value in state.items():
                setattr(callback, name, float(value) if isinstance(value, str) else value)
        if metadata.get("best_sha256"):
            with np.load(self._best_path, allow_pickle=False) as stored:
                best = [stored[f"w{i}"] for i in range(len(stored.files))]
            for callback in self.stateful_callbacks:
                if isinstance(callback, keras.callbacks.EarlyStopping):
                    callback.best_weights = best

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        final, previous = self._paths(""), self._paths(".bkp")
        tmp_weights = os.path.join(self.backup_dir, "saving.weights.h5")
        tmp_best = os.path.join(self.backup_dir, "saving.best.npz")
        tmp_metadata = os.path.join(self.backup_dir, "saving.metadata.json")
        self.model.save_weights(tmp_weights, overwrite=True)
        _fsync(tmp_weights)
        metadata = {
            "epoch": self._current_epoch,
            "batch": self._last_batch_seen,
            "weights_sha256": _sha256(tmp_weights),
            "best_sha256": None,
            "callbacks": [],
        }
        best = None
        for callback in self.stateful_callbacks:
            state = {}
            for name in _STATEFUL_ATTRIBUTES[
                next(t for t in _STATEFUL_ATTRIBUTES if isinstance(callback, t))
            ]:
                value = getattr(callback, name, None)
                if isinstance(value, (np.floating, float)):
                    value = _json_number(value)
                elif isinstance(value, np.integer):
                    value = int(value)
                state[name] = value
            metadata["callbacks"].append(state)
            if isinstance(callback, keras.callbacks.EarlyStopping) and callback.best_weights is not None:
                best = callback.best_weights
        if best is not None:
            with open(tmp_best, "wb") as f:
                np.savez(f, **{f"w{i}": np.asarray(w) for i, w in enumerate(best)})
                f.flush()
                os.fsync(f.fileno())
            metadata["best_sha256"] = _sha256(tmp_best)
        with open(tmp_metadata, "w", encoding="utf-8") as f:
            json.dump(metadata, f)
            f.flush()
            os.fsync(f.fileno())
        # Keep the last whole set, then move the new one in, metadata last.
        for key in ("metadata", "weights", "best"):
            if os.path.exists(final[key]):
                os.replace(final[key], previous[key])
            elif os.path.exists(previous[key]):
                os.remove(previous[key])
        os.replace(tmp_weights, final["weights"])
        if best is not None:
            os.replace(tmp_best, final["best"])
        os.replace(tmp_metadata, final["metadata"])


def _check_h5(path):
    import h5py

    try:
        with h5py.File(path, "r") as f:

            def read(_, item):
                if isinstance(item, h5py.Dataset):
                    item[()]

            f.visititems(read)
    except Exception as error:  # noqa: BLE001 - any HDF5 failure means a damaged file
        return f"{type(error).__name__}: {error}"
    return None


def read_backup_epoch(backup_dir):
    """The number of completed epochs a resume from `backup_dir` starts after (0: none).

    Raises:
        BackupError: as `ResumableBackup`.
    """
    return ResumableBackup(backup_dir).initial_epoch


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


# --------------------------------------------------------------- model files
# Modules a saved mmcnn model may name; anything else would be code from the file.
_ALLOWED_MODULE_PREFIXES = (
    "keras.layers",
    "keras.src.layers",
    "keras.models",
    "keras.src.models",
    "keras.optimizers",
    "keras.src.optimizers",
    "keras.losses",
    "keras.src.losses",
    "keras.metrics",
    "keras.src.metrics",
    "keras.initializers",
    "keras.src.initializers",
    "keras.regularizers",
    "keras.src.regularizers",
    "keras.constraints",
    "keras.src.constraints",
    "keras.activations",
    "keras.src.activations",
    "keras.src.dtype_policies",
    "keras.dtype_policies",
    "keras.src.ops",
    "keras.ops",
    "keras.src.backend",
    "keras.random",
    "keras.src.random",
    "keras.src.saving.serialization_lib",
    "mmcnn.",
)
_ALLOWED_MODULES = ("keras", "builtins", "numpy")
_CODE_CLASS_NAMES = ("Lambda", "TFOpLambda", "__lambda__", "__function__")


def check_keras_file(path):
    """Refuses a `.keras` archive whose configuration would run code from the file.

    Reads `config.json` from the zip without deserializing anything and
    rejects a `Lambda` layer or function, and any object whose `module` is
    outside Keras's modelling modules and mmcnn (e.g. `os`, `subprocess`,
    `keras.config`, `keras.utils`). Keras's safe mode (on by default, never
    turned off by mmcnn) refuses these as well; this check runs first and
    names the file and the entry.

    Args:
        path: the `.keras` file.

    Raises:
        UnsafeModelError: naming the file and the offending entry.
        ValueError: when the file is not a readable `.keras` archive.
    """
    path = os.fspath(path)
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable .keras file ({type(error).__name__}: {error})") from None
    problems = []

    def visit(node, where):
        if isinstance(node, dict):
            name, module = node.get("class_name"), node.get("module")
            if isinstance(name, str) and name in _CODE_CLASS_NAMES:
                problems.append(f"{where}: {name} (Python code in the file)")
            if isinstance(module, str) and not (
                module in _ALLOWED_MODULES or module.startswith(_ALLOWED_MODULE_PREFIXES)
            ):
                problems.append(f"{where}: {module}.{name}")
            for key, value in node.items():
                visit(value, f"{where}/{key}" if where else key)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                visit(value, f"{where}[{i}]")

    visit(config, "")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; ... {len(problems) - 5} more" if len(problems) > 5 else "")
        raise UnsafeModelError(
            f"{path}: refusing to load: its config names code, not layers: {shown}. "
            "mmcnn models have no Lambda layers; load only model files you trust"
        )


__all__ = [
    "BackupError",
    "apply_random_map",
    "EpochSeeds",
    "ResumableBackup",
    "StopOnDivergence",
    "TrainingDivergedError",
    "UnsafeModelError",
    "check_keras_file",
    "epoch_dataset",
    "epoch_seed",
    "read_backup_epoch",
    "seed_generators",
    "steps_per_epoch",
    "training_callbacks",
]
