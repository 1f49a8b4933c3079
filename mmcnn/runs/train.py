"""What `mmcnn train` does: load the data, train, evaluate, report, with resume and clusters.

The command line, the demo, the benchmarks and a notebook all call `train_run`.
Messages go to the `mmcnn.runs` logger (the command line prints them as
`mmcnn: ...` lines).
"""

import logging
import os
import shutil

import numpy as np

from mmcnn.data import DataError
from mmcnn.models import registry
from mmcnn.models.fitting import validation_pass
from mmcnn.models.pipeline import split_scores
from mmcnn.runs.config import ConfigError
from mmcnn.runs.run_dir import RunDir

logger = logging.getLogger("mmcnn.runs")


def classifier_class(modality):
    """The classifier class of `modality` (`ConfigError` listing the known ones)."""
    try:
        return registry.get_classifier(modality)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def load_data(
    modality,
    path,
    class_names=None,
    on_error="skip",
    verbose=1,
    encoding=None,
    empty_classes="error",
    settings=None,
):
    """A class-per-folder directory or CSV manifest as the modality's `LabeledData`.

    `encoding` is the manifest's text encoding (CSV only; default UTF-8);
    `empty_classes="drop"` leaves out a class with no usable example instead
    of failing; `settings`: the classifier's constructor arguments, some of which
    its readers may take (`Classifier.reader_options`: a table's `columns`)."""
    options = {"empty_classes": empty_classes, **classifier_class(modality).reader_options(settings or {})}
    if encoding and os.fspath(path).lower().endswith(".csv"):
        options["encoding"] = encoding
    return classifier_class(modality).read_data(
        path, class_names=class_names, on_error=on_error, verbose=verbose, **options
    )


def load_eval_data(clf, path, leave_out=(), on_error="skip", verbose=1, encoding=None):
    """Labelled data to score `clf` on: any subset of its classes, labelled with its class ids.

    A class the model does not know is an error naming it, unless it is in
    `leave_out` (classes dropped from training), whose examples are left out."""
    data = load_data(
        clf.modality,
        path,
        on_error=on_error,
        verbose=verbose,
        encoding=encoding,
        empty_classes="drop",
        settings=clf.get_config(),
    )
    return data.with_classes(clf.class_names, leave_out=leave_out, where=os.fspath(path))


def load_run(run_dir):
    """The classifier of a completed (or interrupted, after its first epoch) run directory."""
    from mmcnn.models.classifier import load

    path = RunDir(run_dir).model_path
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{run_dir}: no trained model (expected {path})")
    return load(path)


def train_run(config, overwrite=False, verbose=1, distribute="none"):
    """Trains into a run directory; resumes an interrupted run. Returns the metrics dict.

    `config` is what `mmcnn.runs.resolve_train_config` returns. `distribute` is
    "none", "mirrored" or "multiworker" (`mmcnn.distribute`). In a cluster every
    worker runs this same function; only the chief writes the run directory
    (the others run the same steps into a private temporary folder, deleted at
    the end), and each worker keeps its own backup under <out>/backup/<task>-<i>/.
    """
    from mmcnn import distribute as dist

    # First: a MultiWorkerMirroredStrategy must exist before TensorFlow runs anything.
    strategy = dist.make_strategy(distribute)
    chief = dist.is_chief(strategy)

    modality = config["modality"]
    classifier_cls = classifier_class(modality)
    run = RunDir(config["out"] if chief else dist.output_path(config["out"], strategy))
    backup_dir = RunDir(config["out"]).backup_dir  # fit adds worker-<i>/ in a cluster
    # Checked before any data is read, and nothing is written until training starts.
    state = run.check(config, overwrite=overwrite or not chief)
    with run.lock() as created:
        try:
            metrics = _train_locked(config, run, state, backup_dir, classifier_cls, strategy, verbose)
        except BaseException:
            # A run that failed before its first epoch leaves nothing that would block the
            # corrected command; a later failure keeps what resumes it.
            if state == "new" and not run.has_progress():
                if created:
                    run.remove()
                elif run.started:
                    run.clear()
            raise
    if not chief:
        # The other workers ran the same steps (keeping the cluster in step) into a private folder.
        shutil.rmtree(dist.backup_path(backup_dir, strategy), ignore_errors=True)
        shutil.rmtree(os.path.dirname(run.path), ignore_errors=True)
    else:
        logger.info("%s", summary_line(metrics, run.path, modality))
    return metrics


def _train_locked(config, run, state, backup_dir, classifier_cls, strategy, verbose):
    import keras

    from mmcnn.models.classifier import load
    from mmcnn.training import AtomicModelCheckpoint

    modality = config["modality"]
    if state == "resume":
        from mmcnn.training import read_backup_epoch

        # Checks the backup now: a damaged one is named before any data is decoded.
        done = read_backup_epoch(backup_dir) if os.path.isdir(backup_dir) else 0
        logger.warning("resuming the interrupted run in %s after epoch %d", run.path, done)
    reading = {
        "on_error": config["on_error"],
        "verbose": verbose,
        "encoding": config.get("encoding"),
        "settings": config["classifier"],
    }
    train = load_data(
        modality, config["train"], empty_classes=config.get("empty_classes", "error"), **reading
    )
    if len(train.class_names) < 2:
        found = ", ".join(train.class_names) or "none"
        raise DataError(
            f"found {len(train.class_names)} class ({found}) in {config['train']}; "
            "a classifier needs at least 2"
        )
    if isinstance(getattr(train, "summary", None), str):
        logger.info("%s", train.summary)  # a table: its columns' kinds and missing cells
    dropped = [name for name, _ in train.dropped_classes]
    # Every given split is read and checked against the training classes before the first epoch.
    test = None
    if config.get("val"):
        val = load_data(modality, config["val"], empty_classes="drop", **reading)
        val = split_with_classes("val", config["val"], val, train, config["train"], dropped)
    else:
        train, val = train.split(config["val_fraction"], seed=config["seed"])
    if config.get("test"):
        test = load_data(modality, config["test"], empty_classes="drop", **reading)
        test = split_with_classes("test", config["test"], test, train, config["train"], dropped)
    class_weight = class_weight_ids(config.get("class_weight"), train.class_names)
    preset, arguments = classifier_arguments(config)
    if train.multi_label:
        # Known before `fit`, so that the best-epoch checkpoint below follows what early stopping does.
        arguments.setdefault("multi_label", True)
    try:
        clf = classifier_cls(
            class_names=train.class_names,
            preset=preset,
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            seed=config["seed"],
            **arguments,
        )
    except (TypeError, ValueError) as error:  # an unknown argument, or a value __init__ refuses
        raise ConfigError(f"bad classifier option: {error}") from None
    run.start(state)
    run.write_resolved_config(config, clf)
    callbacks = [
        keras.callbacks.CSVLogger(run.history_csv, append=True),
        keras.callbacks.TensorBoard(run.tensorboard_dir, write_graph=False),
        AtomicModelCheckpoint(run.model_path, monitor=clf.monitor[0], mode=clf.monitor[1]),
    ]
    history = clf.fit(
        train,
        validation_data=val,
        class_weight=class_weight,
        callbacks=callbacks,
        backup_dir=backup_dir,
        verbose=verbose,
        strategy=strategy,
    )
    augmentation = clf.augmentation_policy()  # what "auto" chose for this data (before any reload)
    # What the modality decided about its input from the data (`image_size="auto"`, ...), and why.
    input_used = getattr(clf, "input_used", None)
    if input_used:
        logger.info("input: %s", ", ".join(f"{k}={v}" for k, v in input_used.items()))
    clf.save(run.model_path)  # the best epoch's weights (early stopping restored them)
    if strategy is not None:
        # Evaluate and report with a plain one-device copy: no collectives needed.
        clf = load(run.model_path)
        if len(val):
            # fit does not calibrate (or choose multi-label thresholds) under a strategy
            validation_pass(clf, val)
            clf.save(run.model_path)
    # One pass over each split: the outputs fit calibrated on (or chose thresholds with) are
    # reused for the metrics, the calibration metrics and the report.
    kept = clf.validation_scores
    val_scores = kept.scores if kept is not None and kept.data is val else split_scores(clf, val)
    metrics = {
        "validation": clf.evaluate(val, scores=val_scores),
        "skipped": {"train": train.skipped, "val": val.skipped},
        # What loading left out or changed: dropped classes, stripped labels, repaired texts, ...
        "data": {"train": train.data_report(), "val": val.data_report()},
        # The dtype policy `precision` resolved to on this machine, and why.
        "precision": clf.model.metadata.get("precision") or clf.precision_used,
        # Epochs, batch size and patience, and which of them were adapted to the data's size.
        "schedule": clf.schedule_used,
        # The augmentation policy the model trained with (`augmentation="auto"` follows the data's size).
        "augmentation": augmentation,
        "input": input_used,
    }
    test_scores = None
    if test is not None:
        test_scores = split_scores(clf, test)
        metrics["test"] = clf.evaluate(test, scores=test_scores)
        metrics["skipped"]["test"] = test.skipped
        metrics["data"]["test"] = test.data_report()
    split, probabilities = add_calibration_metrics(clf, metrics, val, test, val_scores, test_scores)
    run.finish(metrics)
    shown = test if split == "test" else val
    write_run_report(clf, run, history, metrics, val, split_data=shown, probabilities=probabilities)
    return metrics


def split_with_classes(split, path, data, train, train_path, dropped=()):
    """A `--val`/`--test` split labelled with the training classes; a class the training data
    lacks is a `DataError` naming the split's file and the classes (checked before training)."""
    known = set(train.class_names) | set(dropped)
    unknown = sorted(name for name in data.class_names if name not in known)
    if unknown:
        raise DataError(
            f"--{split} {path} has classes {unknown} that the training data ({train_path}) lacks; "
            f"a model trained on it knows only {train.class_names}: remove those examples from "
            f"--{split}, or add the classes to --train"
        )
    return data.with_classes(train.class_names, leave_out=dropped, where=os.fspath(path))


def add_calibration_metrics(clf, metrics, val, test=None, val_scores=None, test_scores=None):
    """Adds `metrics["calibration"]` (the model's temperature; validation ECE and NLL before and
    after it; test ECE before and after) and each split's `ece`.

    `val_scores`, `test_scores`: the model's outputs on the splits (`split_scores`) when already
    computed; None predicts them.

    Returns `(split, probabilities)`: the test split's name and probabilities when there is
    one, else the validation split's (for the report).
    """
    from mmcnn.explain import calibration_summary, expected_calibration_error, scale_probabilities

    if val_scores is None:
        val_scores = split_scores(clf, val)
    if test is not None and test_scores is None:
        test_scores = split_scores(clf, test)
    if clf.multi_label:
        # No temperature: per-class sigmoid scores, decided by the thresholds in the metrics.
        return ("test", test_scores) if test is not None else ("validation", val_scores)
    temperature = clf.temperature
    before = scale_probabilities(val_scores, 1.0 / temperature)
    fitted = getattr(clf, "calibration", None) or {}
    calibration = calibration_summary(
        before, val.labels, temperature, fitted_on=fitted.get("fitted_on", 0), note=fitted.get("note")
    )
    metrics["validation"]["ece"] = calibration["ece_after"]
    split, probabilities = "validation", val_scores
    if test is not None:
        probabilities, split = test_scores, "test"
        before = scale_probabilities(probabilities, 1.0 / temperature)
        calibration["test_ece_before"] = expected_calibration_error(before, test.labels)
        calibration["test_ece_after"] = expected_calibration_error(probabilities, test.labels)
        metrics["test"]["ece"] = calibration["test_ece_after"]
    metrics["calibration"] = calibration
    return split, probabilities


def classifier_arguments(config):
    """`(preset, constructor arguments)` of a run's classifier, label set and training settings apart.

    With `init_from`, the source classifier's settings (preset, input size,
    spectrogram, tokenizer, adapter, ...) come first, so that `--init-from RUN`
    alone makes a classifier the source's weights fit; the run's own
    `--preset` and `[classifier]` settings override them."""
    arguments = dict(config["classifier"])
    preset = config["preset"]
    init_from = config.get("init_from")
    if isinstance(init_from, dict):
        # A table's columns each start from their own run: the classifier takes their settings.
        arguments["init_from"] = init_from
    elif init_from:
        from mmcnn.models.transfer import TransferError, inherited_settings

        try:
            modality, inherited = inherited_settings(init_from, exclude=("relearn_vocabulary",))
        except TransferError as error:
            raise ConfigError(f"--init-from: {error}") from None
        if modality != config["modality"]:
            raise ConfigError(
                f"--init-from {init_from}: holds {_article(modality)} {modality} classifier; "
                f"this run trains {_article(config['modality'])} {config['modality']} classifier"
            )
        source_preset = inherited.pop("preset", None)
        if preset and source_preset and preset != source_preset:
            raise ConfigError(
                f"--init-from {init_from}: the source was trained with preset {source_preset!r}, this "
                f"run asks for --preset {preset!r}; its weights fit only their own preset: leave "
                "--preset out"
            )
        preset = preset or source_preset
        _check_fixed_settings(config, inherited, arguments)
        taken = {k: v for k, v in inherited.items() if k not in arguments and v is not None}
        logger.info(
            "--init-from %s: the new data is prepared as the source's was; settings taken from it "
            "(--set overrides those that the weights allow): %s",
            init_from,
            ", ".join(f"{k}={_json(v)}" for k, v in {"preset": preset, **taken}.items()),
        )
        arguments = {**inherited, **arguments, "init_from": init_from}
    for key in ("freeze_epochs", "fine_tune_learning_rate"):
        if config.get(key) is not None:
            arguments[key] = config[key]
    return preset, arguments


def _json(value):
    import json

    return json.dumps(value, default=str)


def _check_fixed_settings(config, inherited, arguments):
    """Refuses a `--set` of a setting the source's weights fix (the modality's `transfer_settings`,
    e.g. `image_size`) to another value than the source's, before any data is read."""
    for name in classifier_class(config["modality"]).transfer_settings:
        if name in arguments and name in inherited and _json(arguments[name]) != _json(inherited[name]):
            raise ConfigError(
                f"--init-from {config['init_from']}: the source was trained with {name}="
                f"{_json(inherited[name])}, this run sets {name}={_json(arguments[name])}; the copied "
                f"weights fit only the source's {name}: leave {name} out (the new data is then "
                "prepared as the source's was)"
            )


def _article(word):
    return "an" if str(word)[:1].lower() in "aeiou" else "a"


def class_weight_ids(class_weight, class_names):
    """A run's `class_weight` for `fit`: None, "balanced", or class name -> weight as class id -> weight."""
    if not isinstance(class_weight, dict):
        return class_weight
    unknown = sorted(set(class_weight) - set(class_names))
    if unknown:
        raise ConfigError(
            f"class_weight names classes the training data lacks: {unknown}; it has {class_names}"
        )
    return {class_names.index(name): float(class_weight.get(name, 1.0)) for name in class_names}


def summary_line(metrics, run_dir, modality):
    """One line that says how a finished run did."""
    split = "test" if "test" in metrics else "validation"
    final = metrics[split]
    skipped = sum(len(v) for v in metrics["skipped"].values())
    # Rows that repeat an earlier manifest row are data, kept; the line says how many.
    repeats = sum(report.get("duplicate_rows", 0) for report in metrics.get("data", {}).values())
    skipped = f"{skipped} bad files skipped" + (f", {repeats} duplicate rows kept" if repeats else "")
    precision = metrics.get("precision")
    if final.get("multi_label"):
        return (
            f"trained multi-label {modality} classifier in {run_dir}: {split} micro-F1 "
            f"{final['micro_f1']:.4f}, macro-F1 {final['macro_f1']:.4f}, mAP "
            f"{final['mean_average_precision']:.4f}, {skipped}"
        )
    return (
        f"trained {modality} classifier in {run_dir}: {split} accuracy {final['accuracy']:.4f}, "
        f"macro-F1 {final['macro_f1']:.4f}, {skipped}"
        + (f"; {precision['policy']} ({precision['reason']})" if precision else "")
    )


def write_run_report(clf, run, history, metrics, data, split_data=None, probabilities=None):
    """Writes `report/index.html` of a run (learning curves, confusion matrix, pictures).

    `data` gives the example of the feature-map pictures; `split_data` (the test split, else the
    validation split) and the classifier's `probabilities` on it give the calibration and
    mistakes pictures."""
    import pandas as pd

    from mmcnn import report

    history_frame = pd.read_csv(run.history_csv) if os.path.exists(run.history_csv) else history.history
    report.write_report(
        clf,
        run.report_dir,
        history=history_frame,
        metrics=metrics.get("test", metrics["validation"]),
        example=first_example(clf, data),
        data=split_data,
        probabilities=probabilities,
        calibration=metrics.get("calibration"),
        split="test" if "test" in metrics else "validation",
    )


def first_example(clf, data):
    """The first input of `data` as one model input (for the report's pictures)."""
    if not len(data):
        return None
    item = data.inputs[0]
    if data.kind == "rows":
        return None  # a table's row has no one input to draw feature maps of
    if data.kind == "texts":
        return item  # the report shows the text's own tokens
    batch = np.asarray(item)[None] if data.kind == "arrays" else [item]
    return clf.preprocess(batch)[0]
