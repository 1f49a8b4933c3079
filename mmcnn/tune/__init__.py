"""`mmcnn tune`: a hyper-parameter search on the user's own data, within a time or trial budget.

`tune(modality_or_cls, train, val, out=TUNE_DIR, budget="30m"|N, space=None|dict|TOML)`
runs KerasTuner trials of `Classifier.fit`, each scored on the validation data
only, keeps the search's state in TUNE_DIR (a rerun resumes it), and writes
`TUNE_DIR/best.toml` (which `mmcnn train --config` takes unchanged) and
`TUNE_DIR/report/` (`trials.csv`, `trials.png`, `index.html`).

The core part knows no modality: each classifier declares its default space
with a `tune_space(settings)` classmethod (`mmcnn.tune.space`). KerasTuner is
imported only when a search runs. The space format is in docs/tune.md.
"""

from mmcnn.tune.budget import Budget, parse_budget
from mmcnn.tune.search import (
    TuneError,
    TuneFailedError,
    choose_algorithm,
    load_search_data,
    parallel_trials,
    tune,
)
from mmcnn.tune.space import SpaceError, default_space, knob_names, read_space, resolve_space

__all__ = [
    "Budget",
    "SpaceError",
    "TuneError",
    "TuneFailedError",
    "choose_algorithm",
    "default_space",
    "knob_names",
    "load_search_data",
    "parallel_trials",
    "parse_budget",
    "read_space",
    "resolve_space",
    "tune",
]
