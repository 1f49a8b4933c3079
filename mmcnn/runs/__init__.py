"""Runs: what `mmcnn train` does, as a library (the command line only parses and prints).

`resolve_train_config` merges defaults, a TOML file and explicit options;
`train_run` loads the data, trains (resuming an interrupted run), evaluates,
writes the run directory (`RunDir`) and its report; `load_run` gives back a
run's classifier.
"""

from mmcnn.runs.config import TRAIN_KEYS, ConfigError, parse_value, read_toml, resolve_train_config
from mmcnn.runs.run_dir import RunDir
from mmcnn.runs.train import (
    classifier_class,
    first_example,
    load_data,
    load_eval_data,
    load_run,
    summary_line,
    train_run,
    write_run_report,
)

__all__ = [
    "TRAIN_KEYS",
    "ConfigError",
    "RunDir",
    "classifier_class",
    "first_example",
    "load_data",
    "load_eval_data",
    "load_run",
    "parse_value",
    "read_toml",
    "resolve_train_config",
    "summary_line",
    "train_run",
    "write_run_report",
]
