"""Training a classifier: the plain fit, the warm start's phases and the distributed fit.

`Classifier.fit` delegates to `fit` with its arguments as one `FitSettings`
record, which `fit` passes on to the path that trains. The three paths share the
schedule (`fit_schedule`), the callbacks (`fit_callbacks`) and the class weights,
and the two on one device one `model.fit` call (`fit_epochs`); each function
takes the classifier and calls its public methods and hooks
(`make_dataset`, `compile`, `calibrate`, `choose_thresholds`), so a modality's
overrides stay in force.
"""

import contextlib
import dataclasses
import logging
import os

import keras

from mmcnn._keras_compat import set_initial_epoch
from mmcnn.models import pipeline, transfer
from mmcnn.models.metrics import DEFAULT_THRESHOLD
from mmcnn.models.schedule import fit_schedule as schedule_for
from mmcnn.training import AtomicModelCheckpoint, steps_per_epoch, training_callbacks

logger = logging.getLogger("mmcnn")


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """The settings of one `Classifier.fit` call (see there), passed as one record to whichever
    path trains: the plain fit, the warm start's phases or the distributed fit. `fit` replaces
    `epochs`, `batch_size` and `class_weight` by the values it resolved before it passes them on."""

    epochs: int | None = None
    batch_size: int | None = None
    callbacks: tuple = ()
    class_weight: object = None
    early_stopping: bool = True
    backup_dir: object = None
    verbose: object = "auto"
    strategy: object = None
    calibrate: bool = True
    cache_features: bool = True


def fit(clf, data, validation_data=None, validation_split=None, settings=FitSettings()):
    """`Classifier.fit` of `clf` with its `settings` (`FitSettings`): see there."""
    clf._check_classes(data, "training data")
    clf.validation_scores = None
    if validation_data is None and validation_split:
        data, validation_data = data.split(validation_split, seed=clf.seed)
    if validation_data is not None:
        clf._check_classes(validation_data, "validation data")
    if settings.strategy is not None:
        if settings.calibrate:
            logger.warning("fit: no temperature calibration under a tf.distribute strategy")
        return fit_distributed(clf, data, validation_data, settings)
    if clf._model is None:
        clf._build_for(data)
    epochs, batch_size = fit_schedule(clf, len(data), settings.epochs, settings.batch_size)
    settings = dataclasses.replace(
        settings,
        epochs=epochs,
        batch_size=batch_size,
        class_weight=class_weight_of(clf, data, settings.class_weight),
    )
    features = fit_features(clf, data, settings.cache_features)
    val_ds = (
        clf.make_dataset(validation_data, batch_size=batch_size, features=features)
        if validation_data is not None
        else None
    )
    steps = steps_per_epoch(len(data), batch_size)
    calibrate = settings.calibrate
    if calibrate and clf.multi_label:
        # Temperature scaling is for softmax probabilities: a multi-label model gets per-class
        # thresholds instead (after training, on the validation data).
        calibrate = False
    if calibrate and not clf._has_temperature():
        logger.info("fit: %s has no Temperature layer, so it is not calibrated", clf.model.name)
        calibrate = False
    if calibrate:
        clf._set_temperature(1.0)  # train the uncalibrated model; the new T comes after
    route = clf.model.inputs_at(features) if features else contextlib.nullcontext()
    if clf._warm_pending:
        # A warm start trains in phases: the copied layers frozen, then all of them.
        with route:
            history = fit_warm_start(clf, data, val_ds, settings, steps, features)
    else:
        if not clf.model.compiled:
            clf.compile(steps_per_epoch=steps, epochs=epochs)
        # The backup is checked before the dataset is made: it says which epoch to start from.
        callbacks, first_epoch = fit_callbacks(
            clf, settings.callbacks, settings.early_stopping and val_ds is not None, settings.backup_dir, True
        )
        with route:
            history = fit_epochs(clf, data, val_ds, settings, steps, features, callbacks, first_epoch, epochs)
    if validation_data is not None and len(validation_data):
        validation_pass(clf, validation_data, batch_size, calibrate)
    elif clf.multi_label:
        logger.info("fit: no validation data: every class keeps threshold %s", DEFAULT_THRESHOLD)
    elif calibrate:
        logger.info("fit: no validation data, so the temperature stays %.4g", clf.temperature)
    return history


def fit_epochs(clf, data, val_ds, settings, steps, features, callbacks, first_epoch, stop, initial_epoch=0):
    """One `model.fit` on one device, from epoch `first_epoch` (a backup's) to `stop`, on
    `make_dataset`'s training batches (`features`: from the cached-feature layer on)."""
    train_ds = clf.make_dataset(
        data,
        training=True,
        batch_size=settings.batch_size,
        epochs=stop,
        first_epoch=first_epoch,
        features=features,
    )
    # shuffle=False: make_dataset already shuffles (Keras would only warn that it ignores it).
    return clf.model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=stop,
        initial_epoch=initial_epoch,
        steps_per_epoch=steps,
        callbacks=callbacks,
        class_weight=settings.class_weight,
        verbose=settings.verbose,
        shuffle=False,
    )


def validation_pass(clf, data, batch_size=None, calibrate=True):
    """The end of a fit, in one pass over the validation split `data`: the model's outputs choose a
    multi-label classifier's thresholds, or (`calibrate`) fit a single-label one's temperature.

    Returns the final model's outputs on `data` as `pipeline.SplitScores`, also kept as
    `clf.validation_scores` (for `evaluate(data, scores=...)` and the run's calibration
    metrics), or None when there was nothing to choose or fit. The calibrated probabilities
    are derived from those at `T = 1`: `scale_probabilities(p, T)` is what the `Temperature`
    layer computes, in float64 (then float32, the model's output dtype)."""
    from mmcnn.explain import scale_probabilities

    if clf.multi_label:
        scores = pipeline.split_scores(clf, data, batch_size)
        clf.choose_thresholds(data, batch_size=batch_size, scores=scores)
    elif calibrate:
        clf._set_temperature(1.0)
        scores = pipeline.split_scores(clf, data, batch_size)
        clf.calibrate(data, batch_size=batch_size, probabilities=scores)
        if clf.temperature != 1.0:
            scores = scale_probabilities(scores, clf.temperature).astype(scores.dtype)
    else:
        return None
    clf.validation_scores = pipeline.SplitScores(data, scores)
    return clf.validation_scores


def fit_warm_start(clf, data, val_ds, settings, steps, features):
    """`fit` after a warm start: `transfer.warm_schedule`'s phases, one `model.fit` each.

    Each phase compiles afresh (its own optimizer and cosine schedule) and
    continues the epoch count of the one before; early stopping watches the
    last phase. A run interrupted in either phase resumes in it (the backup
    names the epoch)."""
    phases = warm_phases(clf, settings.epochs)
    histories = []
    for index, (start, stop, frozen, learning_rate) in enumerate(phases):
        last = index == len(phases) - 1
        phase_callbacks, resumed = fit_callbacks(
            clf,
            settings.callbacks,
            settings.early_stopping and val_ds is not None and last,
            settings.backup_dir,
            True,
        )
        if resumed >= stop:
            continue  # done before an interruption
        first_epoch = max(start, resumed)
        transfer.set_trainable(clf.model, clf._warm_layers, not frozen)
        clf.compile(steps_per_epoch=steps, epochs=stop - start, learning_rate=learning_rate)
        set_initial_epoch(clf.model, None)  # a resumed phase's backup sets it again
        logger.info(
            "%s epochs %d-%d at learning rate %.3g",
            "frozen " + ", ".join(clf._warm_layers) + ":" if frozen else "all layers:",
            start + 1,
            stop,
            learning_rate,
        )
        histories.append(
            fit_epochs(
                clf, data, val_ds, settings, steps, features, phase_callbacks, first_epoch, stop, first_epoch
            )
        )
    clf._warm_pending = False
    # One History over both phases, as a single `model.fit` would give.
    history = histories[-1] if histories else keras.callbacks.History()
    merged, epochs_seen = {}, []
    for phase in histories:
        for key, values in phase.history.items():
            merged.setdefault(key, []).extend(values)
        epochs_seen.extend(phase.epoch)
    history.history, history.epoch = merged, epochs_seen
    return history


def warm_phases(clf, epochs):
    """This classifier's `transfer.warm_schedule` over `epochs`."""
    return transfer.warm_schedule(
        epochs,
        clf.freeze_epochs,
        clf._head_kept,
        clf.setting("learning_rate"),
        clf.fine_tune_learning_rate,
    )


def distributed_warm_start(clf, epochs):
    """The learning rate of a warm start under a strategy (None: not a warm start).

    Only the fine-tuning phase: the frozen phase's second compile is not
    supported by the distributed loop, so it is refused, not skipped."""
    if not clf._warm_pending:
        return None
    phases = warm_phases(clf, epochs)
    if phases[0][2]:
        raise ValueError(
            "a warm start (init_from or a given backbone) under a tf.distribute strategy trains "
            f"all layers at once: pass freeze_epochs=0. Received: freeze_epochs={clf.freeze_epochs!r} "
            f"({phases[0][1]} frozen epochs)"
        )
    clf._warm_pending = False
    return phases[0][3]


def fit_distributed(clf, data, validation_data, settings):
    """`fit` under a `tf.distribute` strategy (see `mmcnn.distribute`)."""
    from mmcnn import distribute

    strategy = settings.strategy
    if clf._model is None:
        clf._build_for(data, scope=strategy.scope())
    distribute.check_model_strategy(clf._model, strategy)
    if distribute.num_replicas(strategy) > 1:
        distribute.synchronize_batch_norm(clf._model)
    # Per replica: the batch size, and the share of the data each replica sees per epoch.
    replicas = distribute.num_replicas(strategy)
    epochs, batch_size = fit_schedule(
        clf, max(1, len(data) // replicas), settings.epochs, settings.batch_size
    )
    learning_rate = distributed_warm_start(clf, epochs)
    class_weight = class_weight_of(clf, data, settings.class_weight)
    train_ds, class_weight = distribute.distributed_dataset(
        clf, data, strategy, batch_size, training=True, class_weight=class_weight
    )
    val_ds = (
        distribute.distributed_dataset(clf, validation_data, strategy, batch_size, training=False)[0]
        if validation_data is not None
        else None
    )
    if not clf.model.compiled:
        with strategy.scope():
            # One step per call: Keras 3.15's multi-step loop fails under tf.distribute
            # ("You must feed a value for placeholder" in its has_next check).
            clf.compile(
                steps_per_epoch=distribute.steps_per_epoch(len(data), batch_size, strategy),
                epochs=epochs,
                multi_step=False,
                learning_rate=learning_rate,
            )
    callbacks = fit_callbacks(
        clf,
        settings.callbacks,
        settings.early_stopping and val_ds is not None,
        settings.backup_dir and distribute.backup_path(settings.backup_dir, strategy),
    )
    with distribute.cluster_errors(strategy), distribute.keras_multi_worker_workaround(strategy):
        return clf.model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=epochs,
            callbacks=callbacks,
            class_weight=class_weight,
            verbose=settings.verbose,
            shuffle=False,
        )


def fit_features(clf, data, cache_features):
    """`cached_feature_layer(data)` where `fit` may use it: asked for, and the decoded
    data fits the cache (features recomputed every epoch would gain nothing)."""
    if not cache_features or not pipeline.fits_cache(clf, data):
        return None
    layer = clf.cached_feature_layer(data)
    if layer is not None:
        logger.info("fit: the model's layers up to %r run once per example; their outputs are cached", layer)
    return layer


def fit_schedule(clf, num_examples, epochs, batch_size):
    """`(epochs, batch_size)` of this `fit`: the given ones, else the preset's adapted to the
    data's size (`mmcnn.models.schedule`; `MMCNN_SCHEDULE=preset` keeps the preset's)."""
    epochs = epochs or clf.epochs
    batch_size = batch_size or clf.batch_size
    if os.environ.get("MMCNN_SCHEDULE", "auto") == "preset":
        # Given values are never adapted: the preset's own epochs and batch, its patience.
        epochs, batch_size = epochs or clf.setting("epochs"), batch_size or clf.setting("batch_size")
    chosen = schedule_for(num_examples, clf.preset_config, epochs=epochs, batch_size=batch_size)
    if chosen["adapted"]:
        logger.info(
            "fit: %d training examples: %s (preset %r: %s)",
            num_examples,
            ", ".join(f"{k} {chosen[k]}" for k in chosen["adapted"]),
            clf.preset,
            ", ".join(f"{k} {clf.preset_config.get(k, 5)}" for k in chosen["adapted"]),
        )
    clf.schedule_used = {**chosen, "num_examples": int(num_examples)}
    return chosen["epochs"], chosen["batch_size"]


def fit_callbacks(clf, callbacks, early_stopping, backup_dir, with_first_epoch=False):
    callbacks = list(callbacks)
    if early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=clf.monitor[0],
                mode=clf.monitor[1],
                patience=clf.schedule_used["patience"],  # `fit` sets it first
                restore_best_weights=True,
                start_from_epoch=clf.schedule_used["start_from_epoch"],
            )
        )
    for callback in callbacks:
        # A best-epoch checkpoint keeps the epoch that early stopping would restore.
        if isinstance(callback, AtomicModelCheckpoint) and callback.start_from_epoch is None:
            callback.start_from_epoch = clf.schedule_used["start_from_epoch"]
    # Divergence check, then the backup (checked now; it also saves the early-stopping and
    # checkpoint state), then per-epoch seeds for the model's random layers, then the rest.
    callbacks, first_epoch = training_callbacks(clf.seed, callbacks, backup_dir)
    return (callbacks, first_epoch) if with_first_epoch else callbacks


def class_weight_of(clf, data, class_weight):
    if class_weight is not None and clf.multi_label:
        raise ValueError(
            "`class_weight` weighs examples by their one class, so multi-label training does "
            f"not take it. Received: class_weight={class_weight!r}"
        )
    if class_weight == "balanced":
        counts = data.class_counts().astype(float)
        class_weight = {i: float(len(data) / (len(counts) * c)) for i, c in enumerate(counts) if c}
    return class_weight
