"""Run directories: the files of one training run, and how an interrupted run resumes."""

import json
import os
import shutil

import tensorflow as tf

from mmcnn._version import __version__


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

    def prepare(self, config, overwrite=False):
        """Returns "new", "resume" (interrupted run with the same config) or raises."""
        if os.path.exists(self.metrics_path):
            if not overwrite:
                raise ValueError(f"{self.path}: holds a completed run; pass --overwrite to replace it")
            shutil.rmtree(self.path)
        if os.path.isfile(self.config_path):
            with open(self.config_path) as f:
                previous = json.load(f).get("command")
            if previous != _comparable(config):
                raise ValueError(
                    f"{self.path}: holds an interrupted run with a different configuration; "
                    "use another --out, or --overwrite to start over"
                )
            return "resume"
        if os.path.isdir(self.path) and os.listdir(self.path) and not overwrite:
            raise ValueError(f"{self.path}: exists and is not an mmcnn run; choose another --out")
        if overwrite and os.path.isdir(self.path):
            shutil.rmtree(self.path)
        os.makedirs(self.path, exist_ok=True)
        # A fresh run starts a fresh history.
        if os.path.exists(self.history_csv):
            os.remove(self.history_csv)
        return "new"

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
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, default=str)
    os.replace(tmp, path)
