"""The KerasTuner side of `mmcnn tune`: the oracles, and a tuner whose trials are `Classifier.fit` runs.

Imported only when a search runs (KerasTuner is not needed to read a space or a budget).
"""

import contextlib
import io
import json
import logging
import os
import time

import keras
import keras_tuner

from mmcnn._keras_compat import interrupted_trials
from mmcnn.training import read_backup_epoch
from mmcnn.tune.space import hyperparameters
from mmcnn.tune.trial_clock import TrialClock

logger = logging.getLogger("mmcnn.tune")

OBJECTIVE = "val_accuracy"
PROJECT = "search"  # KerasTuner's project folder inside TUNE_DIR
TRIAL_RECORD = "mmcnn_trial.json"  # what mmcnn keeps of a finished trial, beside KerasTuner's trial.json
HYPERBAND_FACTOR = 3


class BudgetSpent(Exception):
    """Raised before a trial would start after the deadline: the search ends there."""


def make_oracle(algorithm, searched, budget, seed, max_epochs=None):
    """The KerasTuner oracle of `algorithm` (`"hyperband"`, `"bayesian"` or `"random"`) over `searched`."""
    common = dict(
        objective=keras_tuner.Objective(OBJECTIVE, direction="max"),
        hyperparameters=hyperparameters(searched),
        # KerasTuner draws a random seed for seed=0 ("no seed"): shift by one.
        seed=seed + 1,
        max_consecutive_failed_trials=3,
    )
    if algorithm == "hyperband":
        oracle = keras_tuner.oracles.HyperbandOracle(
            max_epochs=max_epochs, factor=HYPERBAND_FACTOR, hyperband_iterations=None, **common
        )
        # The base oracle stops at `max_trials` (a trial budget given when resuming a timed search).
        oracle.max_trials = budget.trials
        return oracle
    if algorithm == "bayesian":
        return keras_tuner.oracles.BayesianOptimizationOracle(max_trials=budget.trials, **common)
    return keras_tuner.oracles.RandomSearchOracle(max_trials=budget.trials, **common)


def trial_settings(values, fixed):
    """A trial's classifier arguments: the fixed ones, its knob values, and Hyperband's epochs."""
    settings = dict(fixed)
    settings.update({k: v for k, v in values.items() if not k.startswith("tuner/")})
    if "tuner/epochs" in values:
        settings["epochs"] = int(values["tuner/epochs"])
    return settings


class ClassifierTuner(keras_tuner.engine.base_tuner.BaseTuner):
    """Runs each trial as `Classifier.fit` on the training data, scored on the validation data only.

    The tuner sees only `train` and `val` (`search(train, val)`): there is no
    way for a trial to reach test data. Each trial keeps a training backup
    in its folder, so a trial interrupted by a kill runs again (KerasTuner
    sends it back as its next trial) from its last completed epoch.

    Args:
        oracle: from `make_oracle`.
        directory: the search folder (TUNE_DIR); state in `directory/search/`.
        classifier_cls: the `Classifier` subclass of every trial.
        fixed: classifier arguments every trial uses.
        seed: seed of every trial's classifier (initialisation, order, augmentation).
        deadline: `time.monotonic()` value of a time budget's end, or None.
        verbose: Keras verbosity of each trial's `fit`.
        on_trial_done: called with the tuner after each trial (writes the report).
    """

    def __init__(self, oracle, directory, classifier_cls, fixed, seed, deadline, verbose, on_trial_done):
        self.classifier_cls = classifier_cls
        self.fixed = dict(fixed)
        self.seed = seed
        self.deadline = deadline
        self.verbose = verbose
        self.on_trial_done = on_trial_done
        self.stopped_by_deadline = False
        self.interrupted_trials = []
        # KerasTuner prints "Reloading Tuner from ..."; mmcnn logs what it resumes instead.
        with contextlib.redirect_stdout(io.StringIO()):
            super().__init__(oracle, directory=directory, project_name=PROJECT, overwrite=False)
        self.oracle.verbose = 0  # no KerasTuner tables on stdout: one log line per trial
        # Trials that were running when an earlier call was killed: KerasTuner runs them again first.
        self.interrupted_trials = interrupted_trials(self.oracle)

    def trial_number(self, trial_id):
        """The trial's number in the search (1, 2, ...: the order KerasTuner created them)."""
        order = self.oracle.start_order
        return order.index(trial_id) + 1 if trial_id in order else trial_id

    # -------------------------------------------------------------- the loop
    def on_search_begin(self):
        # Saved now (KerasTuner first saves after a trial) so a kill in the first trial resumes too.
        self.save()

    def pre_create_trial(self):
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise BudgetSpent()

    def run_trial(self, trial, train, val):
        settings = trial_settings(trial.hyperparameters.values, self.fixed)
        trial_dir = self.get_trial_dir(trial.trial_id)
        backup_dir = os.path.join(trial_dir, "backup")
        resumed_after = read_backup_epoch(backup_dir) if os.path.isdir(backup_dir) else 0
        if resumed_after:
            logger.info(
                "trial %s resumes after epoch %d (its backup)",
                self.trial_number(trial.trial_id),
                resumed_after,
            )
        keras.backend.clear_session()  # one trial's graphs do not pile up behind the next
        clf = self.classifier_cls(class_names=train.class_names, seed=self.seed, **settings)
        clock = TrialClock(os.path.join(trial_dir, "epoch_seconds.json"), self.deadline)
        clf.fit(
            train,
            validation_data=val,
            callbacks=[clock],
            backup_dir=backup_dir,
            verbose=self.verbose,
            calibrate=False,  # the temperature changes no predicted class, so no accuracy
        )
        metrics = clf.evaluate(val)  # the kept (best-epoch) weights, as `mmcnn train` would keep them
        seconds = clock.epoch_seconds()
        self.stopped_by_deadline = clock.stopped_by_deadline
        record = {
            "trial_id": trial.trial_id,
            "settings": {k: v for k, v in settings.items()},
            "val_accuracy": float(metrics["accuracy"]),
            "val_macro_f1": float(metrics["macro_f1"]),
            "train_seconds": float(sum(seconds.values())),
            "epochs_run": len(seconds),
            "stopped_by_budget": clock.stopped_by_deadline,
            "resumed_after_epoch": resumed_after,
        }
        with open(os.path.join(trial_dir, TRIAL_RECORD), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1, default=list)
        return {OBJECTIVE: record["val_accuracy"]}

    def on_trial_end(self, trial):
        if trial.status in ("FAILED", "INVALID") and trial.message:
            lines = [line for line in trial.message.strip().splitlines() if line.strip()]
            logger.warning("trial %s failed: %s", trial.trial_id, lines[-1] if lines else "unknown error")
        try:
            super().on_trial_end(trial)
        finally:
            self.on_trial_done(self, trial)
