"""`tune`: a hyper-parameter search of a classifier on the user's own data, within a budget."""

import json
import logging
import os
import time

from mmcnn._config import ConfigError
from mmcnn._version import __version__
from mmcnn.data import DataError, LabeledData
from mmcnn.models import registry
from mmcnn.models.classifier import Classifier
from mmcnn.tune.budget import parse_budget
from mmcnn.tune.space import describe, resolve_space

logger = logging.getLogger("mmcnn.tune")

STATE_FILE = "tune.json"  # what the search is (modality, space, data, algorithm): a rerun must match it
ALGORITHM_NAMES = {"hyperband": "Hyperband", "bayesian": "Bayesian optimisation", "random": "random search"}


class TuneError(ConfigError):
    """A search that cannot start or go on: names the folder, the option or the failing trial."""


class TuneFailedError(TuneError):
    """A search that started and failed: every trial crashed, or none finished within the budget."""


def choose_algorithm(budget, searched):
    """KerasTuner's algorithm for a budget.

    - a time budget: Hyperband. Its brackets try many settings for a few
      epochs and give the remaining time to the best (successive halving), so
      a search that a deadline cuts short has still compared many settings.
    - a number of trials larger than 3 x the searched knobs: Bayesian
      optimisation (its first 3 x knobs trials are random, then a Gaussian
      process picks the next setting from the scores so far).
    - fewer trials (or nothing to search): random search; Bayesian
      optimisation would be random for all of them anyway.

    Example:
    >>> from mmcnn.tune.budget import parse_budget
    >>> space = {"preset": {"values": ["tiny", "small"]}, "dropout": {"min": 0.0, "max": 0.5}}
    >>> [choose_algorithm(parse_budget(b), space) for b in ("30m", 3, 20)]
    ['hyperband', 'random', 'bayesian']
    """
    if budget.seconds is not None:
        return "hyperband"
    if searched and budget.trials > 3 * len(searched):
        return "bayesian"
    return "random"


def parallel_trials():
    """`(trials at once, where)`: one trial at a time, and the devices it runs on, for the log.

    On CPUs, trials share the cores: two trials at once on 2 cores each run at
    half speed, so nothing is gained and each trial's time is harder to read.
    One trial per GPU would pay on a machine with several GPUs; KerasTuner
    does that with one process per GPU and a chief oracle, which mmcnn does
    not start (yet), so there, too, one trial runs at a time.
    """
    import tensorflow as tf

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpus = len(tf.config.list_physical_devices("GPU"))
    where = f"{cores} CPU cores" + (f" and {gpus} GPU{'s' if gpus > 1 else ''}" if gpus else "")
    return 1, where


def _classifier_class(classifier):
    if isinstance(classifier, str):
        try:
            return registry.get_classifier(classifier)
        except ValueError as error:
            raise ConfigError(str(error)) from None
    if isinstance(classifier, type) and getattr(classifier, "modality", None):
        return classifier
    raise TypeError(f"expected a modality name or a Classifier subclass; received {classifier!r}")


def _describe_data(data):
    if data is None:
        return None
    if isinstance(data, LabeledData):
        return f"LabeledData({len(data)} {data.kind}, classes {data.class_names})"
    return os.path.abspath(os.fspath(data))


def _read(classifier_cls, path, what, on_error, encoding, empty_classes, verbose):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ConfigError(f"--{what} {path}: no such file or directory")
    options = {"empty_classes": empty_classes}
    if encoding and path.lower().endswith(".csv"):
        options["encoding"] = encoding
    return classifier_cls.read_data(path, on_error=on_error, verbose=verbose, **options)


def load_search_data(classifier_cls, train, val, val_fraction, seed, on_error, encoding, verbose):
    """The training and validation data of a search, as `mmcnn train` makes them.

    Paths are read with the classifier's `read_data`; without `val`, a
    stratified `val_fraction` of `train` is held out with `seed`, the split
    `mmcnn train --config best.toml` makes again."""
    if not isinstance(train, LabeledData):
        train = _read(classifier_cls, train, "train", on_error, encoding, "error", verbose)
    if len(train.class_names) < 2:
        raise DataError(f"found {len(train.class_names)} class(es) {train.class_names}; a classifier needs 2")
    if val is None:
        return train.split(val_fraction, seed=seed)
    where = val if isinstance(val, LabeledData) else os.fspath(val)
    if not isinstance(val, LabeledData):
        val = _read(classifier_cls, val, "val", on_error, encoding, "drop", verbose)
    dropped = [name for name, _ in train.dropped_classes]
    return train, val.with_classes(train.class_names, leave_out=dropped, where=str(where))


def _max_epochs(classifier_cls, searched, fixed):
    """Hyperband's most epochs per trial: the fixed `epochs`, else the longest preset schedule searched."""
    if "epochs" in searched:
        raise TuneError(
            "a time budget searches with Hyperband, which gives each trial its epochs: give `epochs` "
            "a single value (the most a trial may train), or give the budget as a number of trials"
        )
    if fixed.get("epochs"):
        return int(fixed["epochs"])
    presets = searched.get("preset", {}).get("values") or [
        fixed.get("preset") or classifier_cls.default_preset
    ]
    return max(int(classifier_cls.presets[p].get("epochs", 10)) for p in presets)


def tune(
    classifier,
    train,
    val=None,
    out="tune",
    budget="30m",
    space=None,
    seed=0,
    settings=None,
    val_fraction=0.1,
    on_error="skip",
    encoding=None,
    verbose=0,
):
    """Searches a classifier's settings on `train`, scoring each trial on `val` only.

    Each trial builds the classifier with one setting of the knobs and trains
    it with `Classifier.fit` (early stopping on the validation loss, best
    epoch kept); its score is the validation accuracy of the kept weights.
    There is no test-data argument: the test split cannot take part.

    The algorithm follows the budget (`choose_algorithm`): Hyperband for a
    time budget, random search for a few trials, Bayesian optimisation for
    more. One trial runs at a time (`parallel_trials` says why), and the log
    says so.

    The search lives in `out` (KerasTuner's state in `out/search/`, mmcnn's in
    `out/tune.json`): calling `tune` again with the same arguments resumes it.
    Finished trials are kept; a trial that was running when the search was
    killed runs again first, from its last completed epoch (its training
    backup); a new time budget counts from the new call, a trial budget
    counts the trials of the whole search (budget 3 after 2 finished trials
    runs one more). The search stops at the budget: no trial starts after
    the deadline, and the running trial stops at the end of its epoch (it is
    scored with the epochs it finished, and marked `stopped_by_budget`).

    Args:
        classifier: a modality name (`"image"`) or a `Classifier` subclass.
        train: training data: a class-per-folder directory, a CSV manifest,
            or a `LabeledData`.
        val: validation data (same kinds); default: a stratified
            `val_fraction` of `train`, split with `seed`.
        out: the search folder (TUNE_DIR).
        budget: wall-clock time of this call (`"30m"`, `"2h"`, `"1h30m"`,
            `"90s"`, a `timedelta`) or a number of trials in the search (`20`).
        space: `None` (the classifier's `tune_space`), a dict, or a TOML file
            (`mmcnn.tune.space`, docs/tune.md).
        seed: seed of the search and of every trial's classifier.
        settings: classifier arguments every trial uses (e.g.
            `{"image_size": [64, 64]}`); they are not searched.
        val_fraction, on_error, encoding: as for `mmcnn train`.
        verbose: Keras verbosity of each trial's training.

    Returns:
        dict with `best` (the classifier settings of `best.toml`: the best
        trial's, with Hyperband's short-run epochs left to the preset), `trial`
        (its number), `trial_id`,
        `val_accuracy`, `val_macro_f1`, `train_seconds`, `warnings` (why the
        best settings may not be worth training: at or below chance, or the only
        finished trial; also in `best.toml`), `trials` (trials in the search),
        `finished`, `algorithm`, `stopped` (`"budget"`, `"trials"`,
        `"space"`: why the search ended), and the paths `best_toml` and `report`.

    Raises:
        SpaceError: the space names an unknown knob or an impossible range.
        TuneError: `out` holds a different search; `TuneFailedError` (a `TuneError`):
            every trial failed, or none finished within the budget.
        ConfigError, DataError: the budget, a path or the data is unusable.

    Example (a sketch; see tests/tune):
        result = mmcnn.tune.tune("image", "data/train", val="data/val", out="tune-run", budget="30m")
        # then: mmcnn train image --config tune-run/best.toml --train data/train --out run
    """
    classifier_cls = _classifier_class(classifier)
    budget = parse_budget(budget)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"--seed must be an integer >= 0; received {seed!r}")
    if not isinstance(val_fraction, (int, float)) or not 0 < val_fraction < 1:
        raise ConfigError(f"val_fraction must be a number between 0 and 1; received {val_fraction!r}")
    out = os.fspath(out)
    if os.path.lexists(out) and not os.path.isdir(out):
        raise ConfigError(f"--out {out}: is a file; give a directory for the search")
    searched, fixed = resolve_space(classifier_cls, space, settings)
    search = {
        "modality": classifier_cls.modality,
        "classifier": f"{classifier_cls.__module__}.{classifier_cls.__qualname__}",
        "space": searched,
        "fixed": fixed,
        "seed": seed,
        "data": {"train": _describe_data(train), "val": _describe_data(val) or "a split of --train"},
        "val_fraction": None if val is not None else val_fraction,
        "on_error": on_error,
        "encoding": encoding,
    }
    previous = _read_state(out)
    if previous is not None:
        _check_same_search(out, previous, search)
        algorithm = previous["algorithm"]
    else:
        algorithm = choose_algorithm(budget, searched)
    max_epochs = _max_epochs(classifier_cls, searched, fixed) if algorithm == "hyperband" else None
    search.update(algorithm=algorithm, algorithm_name=ALGORITHM_NAMES[algorithm], max_epochs=max_epochs)

    start = time.monotonic()
    deadline = start + budget.seconds if budget.seconds is not None else None
    train_data, val_data = load_search_data(
        classifier_cls, train, val, val_fraction, seed, on_error, encoding, verbose=1 if verbose else 0
    )
    search["num_classes"] = len(train_data.class_names)  # what chance is, for best.toml's warnings
    os.makedirs(out, exist_ok=True)
    _write_state(out, dict(search, mmcnn_version=__version__))

    from mmcnn.tune import tuner as tuner_module
    from mmcnn.tune.report import write_outputs

    project_dir = os.path.join(out, tuner_module.PROJECT)

    def on_trial_done(tuner, trial):
        best = write_outputs(out, project_dir, search)
        _log_trial(tuner, trial, best)

    oracle = tuner_module.make_oracle(algorithm, searched, budget, seed, max_epochs=max_epochs)
    tuner = tuner_module.ClassifierTuner(
        oracle, out, classifier_cls, fixed, seed, deadline, verbose, on_trial_done
    )
    at_once, where = parallel_trials()
    done_before = len(tuner.oracle.trials)
    _log_start(classifier_cls, search, budget, searched, fixed, train_data, val_data, at_once, where)
    if previous is not None:
        logger.info(
            "resuming the search in %s: %d trial(s) so far%s",
            out,
            done_before,
            "; interrupted trial "
            + ", ".join(str(tuner.trial_number(t)) for t in tuner.interrupted_trials)
            + " runs again first"
            if tuner.interrupted_trials
            else "",
        )
    stopped = "space"
    tf_logger = logging.getLogger("tensorflow")
    tf_level = tf_logger.level
    tf_logger.setLevel(logging.ERROR)  # every trial builds a new model: its retracing is expected
    try:
        tuner.search(train_data, val_data)
        if budget.trials is not None and len(tuner.oracle.trials) >= budget.trials:
            stopped = "trials"
    except tuner_module.BudgetSpent:
        stopped = "budget"
    except RuntimeError as error:
        # KerasTuner's stop after consecutive failed trials: its message holds the last traceback.
        lines = [line for line in str(error).strip().splitlines() if line.strip()]
        raise TuneFailedError(
            f"the search in {out} stopped: {lines[0]} (last error: {lines[-1] if lines else 'unknown'})"
        ) from None
    except KeyboardInterrupt:
        logger.warning("search interrupted: rerun the same command to resume it from %s", out)
        raise
    finally:
        tf_logger.setLevel(tf_level)
    if tuner.stopped_by_deadline:
        stopped = "budget"
    best = write_outputs(out, project_dir, search)
    from mmcnn.tune.report import best_settings, finished, read_trials, weak_result_warnings

    trials = read_trials(project_dir)
    reason = {
        "budget": f"the time budget ({budget}) is spent",
        "trials": f"the search holds {len(trials)} trials",
        "space": "the space has no untried setting left",
    }[stopped]
    result = {
        "trials": len(trials),
        "finished": len(finished(trials)),
        "new_trials": len(trials) - done_before,
        "algorithm": algorithm,
        "stopped": stopped,
        "seconds": time.monotonic() - start,
        "best_toml": os.path.join(out, "best.toml") if best else None,
        "report": os.path.join(out, "report", "index.html"),
        "best": None,
    }
    if best is None:
        raise TuneFailedError(f"the search in {out} ended ({reason}) before any trial finished")
    result.update(
        best=best_settings(best, search),
        trial=best["number"],
        trial_id=best["trial_id"],
        val_accuracy=best["val_accuracy"],
        val_macro_f1=best["val_macro_f1"],
        train_seconds=best["train_seconds"],
        warnings=weak_result_warnings(best, dict(search, finished=result["finished"])),
    )
    for warning in result["warnings"]:
        logger.warning("%s (also written at the top of %s)", warning, result["best_toml"])
    logger.info(
        "search done (%s): best of %d finished trials is trial %d, validation accuracy %.4f -> %s",
        reason,
        result["finished"],
        best["number"],
        best["val_accuracy"],
        result["best_toml"],
    )
    return result


def _log_start(classifier_cls, search, budget, searched, fixed, train, val, at_once, where):
    logger.info(
        "tuning %s (%s) with %s, budget %s; running %d trial at a time on %s",
        search["modality"],
        classifier_cls.__name__,
        search["algorithm_name"]
        + (f" (at most {search['max_epochs']} epochs a trial)" if search["max_epochs"] else ""),
        budget,
        at_once,
        where,
    )
    logger.info(
        "training on %d examples, scoring every trial on %d validation examples only", len(train), len(val)
    )
    for line in describe(searched) or ["(nothing to search: every knob is fixed)"]:
        logger.info("  search %s", line)
    if fixed:
        logger.info("  fixed  %s", ", ".join(f"{k}={v}" for k, v in fixed.items()))


def _short(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _log_trial(tuner, trial, best):
    number = tuner.trial_number(trial.trial_id)
    values = {k: v for k, v in trial.hyperparameters.values.items() if not k.startswith("tuner/")}
    if "tuner/epochs" in trial.hyperparameters.values:
        values["epochs"] = trial.hyperparameters.values["tuner/epochs"]
    knobs = ", ".join(f"{k}={_short(v)}" for k, v in values.items()) or "fixed settings"
    if trial.status != "COMPLETED":
        logger.info("trial %s: %s -> %s", number, knobs, trial.status.lower())
        return
    record_path = os.path.join(tuner.get_trial_dir(trial.trial_id), "mmcnn_trial.json")
    with open(record_path, encoding="utf-8") as f:
        record = json.load(f)
    logger.info(
        "trial %s: %s -> validation accuracy %.4f (%.1f s, %d epochs%s)%s",
        number,
        knobs,
        record["val_accuracy"],
        record["train_seconds"],
        record["epochs_run"],
        ", stopped by the budget" if record["stopped_by_budget"] else "",
        " best so far" if best and best["trial_id"] == trial.trial_id else "",
    )


def _read_state(out):
    path = os.path.join(out, STATE_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        raise TuneError(f"{path}: unreadable ({error}); remove {out} to start a new search") from None


def _write_state(out, state):
    from mmcnn.export.atomic import replaced_file

    with replaced_file(os.path.join(out, STATE_FILE)) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, default=list)


def _check_same_search(out, previous, search):
    """A rerun resumes the search in `out` only when it is the same search."""
    # Through JSON both ways, so tuples and lists compare equal.
    now = json.loads(json.dumps(search, default=list))
    for key, what in (
        ("modality", "modality"),
        ("space", "space (--space)"),
        ("fixed", "fixed settings (--set and the space's values)"),
        ("seed", "seed (--seed)"),
        ("data", "data (--train/--val)"),
        ("val_fraction", "validation split"),
    ):
        if previous.get(key) != now.get(key):
            raise TuneError(
                f"--out {out} holds another search (its {what} was {previous.get(key)!r}, now "
                f"{now.get(key)!r}); rerun with the same arguments to resume it, or give a new --out"
            )


# `Classifier.tune(train, val)` is this search with the classifier's own class: the models know no
# search (this package imports them), so the search plugs itself in.
Classifier._search = staticmethod(tune)
