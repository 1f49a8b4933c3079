"""Run directories: the files of one training run, and how an interrupted run resumes."""

import contextlib
import fcntl
import json
import os
import shutil

import tensorflow as tf

from mmcnn._config import ConfigError
from mmcnn._version import __version__

LOCK_NAME = ".lock"


class RunLockedError(RuntimeError):
    """Another process is writing the run directory."""


class RunDir:
    """The files of one training run.

    `config.json` (resolved configuration), `labels.txt`, `model.keras` (best
    epoch), `history.csv`, `logs/` (TensorBoard), `metrics.json` (written last:
    its presence marks a completed run), `report/` (pictures and index.html),
    `backup/` (Keras BackupAndRestore state while training), `export/`.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        join = lambda name: os.path.join(self.path, name)  # noqa: E731
        self.config_path = join("config.json")
        self.labels_path = join("labels.txt")
        self.model_path = join("model.keras")
        self.history_csv = join("history.csv")
        self.tensorboard_dir = join("logs")
        self.metrics_path = join("metrics.json")
        self.report_dir = join("report")
        self.backup_dir = join("backup")
        self.export_dir = join("export")
        self.started = False

    def check(self, config, overwrite=False):
        """What a run with `config` would do here, without writing anything.

        Returns "new" or "resume" (an interrupted run with the same
        configuration); raises `ConfigError` (a `ValueError`) for a completed run (without
        `overwrite`), an interrupted run with another configuration, a folder
        that is not a run, or a path that is a file.
        """
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise ConfigError(f"{self.path}: is a file, not a run directory; choose another --out")
        if os.path.exists(self.metrics_path):
            if not overwrite:
                raise ConfigError(f"{self.path}: holds a completed run; pass --overwrite to replace it")
            return "new"
        if os.path.isfile(self.config_path):
            with open(self.config_path) as f:
                previous = json.load(f).get("command")
            if previous == _comparable(config):
                return "resume"
            if not overwrite:
                raise ConfigError(
                    f"{self.path}: holds an interrupted run with a different configuration; "
                    "use another --out, or --overwrite to start over"
                )
            return "new"
        if self._foreign_files() and not overwrite:
            raise ConfigError(f"{self.path}: exists and is not an mmcnn run; choose another --out")
        return "new"

    def _foreign_files(self):
        if not os.path.isdir(self.path):
            return []
        return [name for name in os.listdir(self.path) if name != LOCK_NAME]

    @contextlib.contextmanager
    def lock(self):
        """Holds the run directory for one writer; a second `mmcnn train` on it is refused.

        The lock is an advisory `flock` on `<run>/.lock`: it ends with the
        process, however the process ends, so a killed run never leaves it
        held. Yields whether this call created the run directory.
        """
        created = not os.path.isdir(self.path)
        os.makedirs(self.path, exist_ok=True)
        handle = open(os.path.join(self.path, LOCK_NAME), "a+")
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise RunLockedError(
                    f"{self.path}: another mmcnn train ({holder}) is writing this run directory; "
                    "wait for it to finish, or choose another --out"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}\n")
            handle.flush()
            yield created
        finally:
            handle.close()

    def writer(self):
        """Who holds this run directory's lock (`"pid N"`) while a live process trains it, else None."""
        try:
            handle = open(os.path.join(self.path, LOCK_NAME), encoding="utf-8")
        except OSError:
            return None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return handle.read().strip() or "another process"
            fcntl.flock(handle, fcntl.LOCK_UN)
        return None

    def start(self, state):
        """Makes the directory ready for training: a new run replaces what was there."""
        if state == "new":
            self.clear()
        self.started = True

    def clear(self):
        """Removes everything in the run directory but the lock."""
        for name in self._foreign_files():
            target = os.path.join(self.path, name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            else:
                os.remove(target)

    def has_progress(self):
        """True once an epoch was completed (a backup or a history row exists)."""
        if os.path.isdir(self.backup_dir) and os.listdir(self.backup_dir):
            return True
        if os.path.isfile(self.history_csv):
            with open(self.history_csv, encoding="utf-8") as f:
                return sum(1 for _ in f) > 1
        return False

    def remove(self):
        """Deletes the run directory (a run that failed before its first epoch)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def write_resolved_config(self, config, classifier):
        resolved = {
            "command": _comparable(config),
            "classifier": classifier.get_config(),
            "preset": classifier.preset_config,
            "mmcnn_version": __version__,
            "tensorflow_version": tf.__version__,
        }
        _write_json(self.config_path, resolved)
        with open(self.labels_path, "w", encoding="utf-8") as f:
            f.write("\n".join(classifier.class_names) + "\n")

    def finish(self, metrics):
        _write_json(self.metrics_path, metrics)
        shutil.rmtree(self.backup_dir, ignore_errors=True)


def _comparable(config):
    return json.loads(json.dumps(config, default=str))


def _write_json(path, data):
    from mmcnn.export.atomic import replaced_file

    with replaced_file(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=str)
