"""The `ResumableBackup` callback: atomic, checksummed backups that a resume can trust."""

import hashlib
import json
import logging
import math
import os

import keras
import numpy as np

from mmcnn._keras_compat import set_initial_epoch
from mmcnn.layers import validation as v
from mmcnn.training.errors import BackupError

logger = logging.getLogger("mmcnn")

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
            v.check_positive_int("epoch", metadata["epoch"], allow_zero=True)
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
        set_initial_epoch(self.model, metadata["epoch"])
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
