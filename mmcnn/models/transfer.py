"""Warm starts: a classifier that begins from the weights of an earlier one.

`Classifier(..., init_from=PATH)` names a run directory (its `model.keras`)
or a `.keras` file of the same modality. When the classifier builds its model
it loads that source, checks that its weights fit (`check_source`: the
modality, the preset and the settings the modality lists in
`transfer_settings`, each mismatch an error naming both values), and copies
the weights layer by layer (`copy_weights`): every layer with weights but the
head, by name, variable by variable, shapes checked. A variable whose shape
differs is offered to the modality's `adapt_transfer_weight` hook, which may
make it fit where that is well defined (the image stem from grey to RGB) and
otherwise the copy fails naming the variable and both shapes. The head is
copied too when the label set is the same (`copy_head`, columns reordered by
class name): that is "continue training".

Training then runs the schedule `Classifier.fit` reads from `warm_schedule`:
`freeze_epochs` epochs with the copied layers frozen (`set_trainable`; in
Keras 3 a layer with `trainable=False` also runs its batch normalization in
inference mode, so the moving statistics stay as learned), then every layer
at `fine_tune_learning_rate`.

Nothing here imports a modality or the classifier module: the classifier
passes itself and its loaded source in.
"""

import os

import keras
import numpy as np

# The file of a run directory that holds the trained classifier (`mmcnn.runs.RunDir.model_path`).
RUN_MODEL_FILE = "model.keras"
HEAD = "head"
# The default schedule of a warm start whose head is new: up to this many epochs with the copied
# layers frozen (never more than half of the epochs), then all layers at this fraction of the
# learning rate. Chosen on validation data (bench/bench_warm_start.py): with a new head, a tenth
# of the rate lost to training from scratch on a few examples per class in every modality, the
# full rate did not. A kept head (continued training) gets a tenth: the model has converged.
DEFAULT_FREEZE_EPOCHS = 3
DEFAULT_FINE_TUNE_FACTOR = 1.0
CONTINUE_FINE_TUNE_FACTOR = 0.1


class TransferError(ValueError):
    """A warm-start source whose weights do not fit this classifier: names both values."""


def check_init_from(init_from):
    """Validates the `init_from` argument's type (the file is read only when the model is built)."""
    if init_from is None:
        return None
    if not isinstance(init_from, (str, os.PathLike)):
        raise ValueError(
            "`init_from` must be None, a run directory or a `.keras` file path. "
            f"Received: init_from={type(init_from).__name__} {init_from!r:.80}"
        )
    return os.fspath(init_from)


def check_schedule(freeze_epochs, fine_tune_learning_rate):
    """Validates the warm-start schedule arguments (`ValueError` naming the argument)."""
    if freeze_epochs is not None and (
        isinstance(freeze_epochs, bool) or not isinstance(freeze_epochs, int) or freeze_epochs < 0
    ):
        raise ValueError(
            f"`freeze_epochs` must be None or an integer >= 0. Received: freeze_epochs={freeze_epochs!r}"
        )
    if fine_tune_learning_rate is not None and (
        isinstance(fine_tune_learning_rate, bool)
        or not isinstance(fine_tune_learning_rate, (int, float))
        or not fine_tune_learning_rate > 0
    ):
        raise ValueError(
            "`fine_tune_learning_rate` must be None or a positive number. "
            f"Received: fine_tune_learning_rate={fine_tune_learning_rate!r}"
        )


def source_model_path(init_from):
    """The `.keras` file `init_from` names: itself, or a run directory's `model.keras`."""
    path = os.fspath(init_from)
    if os.path.isdir(path):
        model_path = os.path.join(path, RUN_MODEL_FILE)
        if not os.path.isfile(model_path):
            raise TransferError(
                f"init_from={path!r}: the directory holds no trained model (expected {model_path})"
            )
        return model_path
    if not os.path.isfile(path):
        raise TransferError(f"init_from={path!r}: no such run directory or .keras file")
    if not path.lower().endswith(".keras"):
        raise TransferError(f"init_from={path!r}: expected a run directory or a .keras file")
    return path


def inherited_settings(init_from, exclude=()):
    """The source classifier's constructor arguments, read from its `.keras` file without loading it.

    What `mmcnn train --init-from RUN` starts from, so that the architecture
    and input settings need not be repeated: everything but the label set,
    the training settings and `exclude`."""
    from mmcnn.training import keras_file_metadata

    path = source_model_path(init_from)
    metadata = keras_file_metadata(path)
    if not metadata.get("modality"):
        raise TransferError(f"init_from={init_from!r}: {path} is not an mmcnn classifier")
    skip = {
        "num_classes",
        "class_names",
        "learning_rate",
        "epochs",
        "batch_size",
        "seed",
        "init_from",
        "freeze_epochs",
        "fine_tune_learning_rate",
        *exclude,
    }
    config = dict(metadata.get("config") or {})
    return metadata["modality"], {key: value for key, value in config.items() if key not in skip}


def _comparable(value):
    if isinstance(value, (list, tuple)):
        return tuple(_comparable(v) for v in value)
    return value


def _shown(value):
    value = _comparable(value)
    return repr(value) if isinstance(value, str) else str(value)


def resolved_setting(clf, name):
    """A constructor argument as the classifier uses it (`Classifier.setting`: the argument, else
    the preset's value); None where neither has it."""
    try:
        return clf.setting(name)
    except KeyError:
        return None


def check_source(clf, source, init_from=None):
    """Refuses a source whose weights cannot serve `clf`: another modality, preset or setting.

    Compares the modality, the preset and each name in `clf.transfer_settings`
    (as the classifier resolves it); a mismatch is a `TransferError` naming
    the setting and both values."""
    where = f" (init_from={init_from!r})" if init_from is not None else ""
    if source.modality != clf.modality:
        raise TransferError(
            f"init_from is {_article(source.modality)} {source.modality} classifier, this is "
            f"{_article(clf.modality)} {clf.modality} classifier{where}"
        )
    for name in ("preset", *clf.transfer_settings):
        theirs, ours = resolved_setting(source, name), resolved_setting(clf, name)
        if _comparable(theirs) != _comparable(ours):
            raise TransferError(
                f"init_from has {name} {_shown(theirs)}, this classifier {_shown(ours)}{where}; "
                f"make this classifier with {name}={_shown(theirs)}"
            )


def _article(word):
    return "an" if str(word)[:1].lower() in "aeiou" else "a"


def head_layers(model):
    """Names of the head and of every layer after it (e.g. a calibration temperature)."""
    names = [layer.name for layer in model.layers]
    return names[names.index(HEAD) :] if HEAD in names else []


def _weight_layers(model, skip):
    skip = {*skip, *head_layers(model)}
    return {layer.name: layer for layer in model.layers if layer.weights and layer.name not in skip}


def copy_weights(source_model, target_model, adapt=None, skip=()):
    """Copies every layer's weights from `source_model` into `target_model`, by layer name.

    Both models must have the same layers with weights (the head, the layers
    after it and `skip` apart) holding the same variables in the same order;
    the non-trainable ones (batch-norm statistics) are copied too.

    Args:
        source_model, target_model: Keras models.
        adapt: optional `adapt(layer_name, variable_path, value, target_value)`,
            called for every variable with the source's value and the target's
            current one: an array of the target's shape to copy instead, or
            None to copy `value` as it is (when the shapes agree).
        skip: layer names left as they are.

    Returns:
        The names of the copied layers, in the target's order.

    Raises:
        TransferError: naming the layers or the variable that differ.
    """
    theirs, ours = _weight_layers(source_model, skip), _weight_layers(target_model, skip)
    if set(theirs) != set(ours):
        raise TransferError(
            f"init_from has layers with weights {sorted(theirs)}, this classifier {sorted(ours)}; "
            "the models must have the same structure (same preset and layer settings)"
        )
    updates = []
    for name, layer in ours.items():
        source_vars, target_vars = theirs[name].weights, layer.weights
        if len(source_vars) != len(target_vars):
            raise TransferError(
                f"init_from's layer {name!r} has {len(source_vars)} variables, this classifier's "
                f"{len(target_vars)}; the models must have the same structure"
            )
        for source_var, target_var in zip(source_vars, target_vars):
            value = keras.ops.convert_to_numpy(source_var)
            shape = tuple(target_var.shape)
            if adapt is not None:
                adapted = adapt(name, target_var.path, value, keras.ops.convert_to_numpy(target_var))
                value = value if adapted is None else np.asarray(adapted)
            if value.shape != shape:
                raise TransferError(
                    f"init_from's {source_var.path} has shape {value.shape}, this classifier's "
                    f"{target_var.path} {shape}"
                )
            updates.append((target_var, value))
    # All checked before anything is written: a refused source leaves the model as it was.
    for variable, value in updates:
        variable.assign(value.astype(variable.dtype))
    return list(ours)


def copy_head(source_model, target_model, source_classes, target_classes):
    """Copies the head when both classifiers have the same label set; returns whether it did.

    The logits' columns are reordered by class name, so a source that lists
    the same classes in another order gives the same probabilities per name.
    Layers after the head that both models have (a calibration temperature)
    are copied with it."""
    if sorted(source_classes) != sorted(target_classes) or len(set(target_classes)) != len(target_classes):
        return False
    order = [list(source_classes).index(name) for name in target_classes]
    source_names = set(head_layers(source_model))
    pairs = []
    for name in head_layers(target_model):
        if name not in source_names:
            continue
        source_vars = source_model.get_layer(name).weights
        target_vars = target_model.get_layer(name).weights
        if len(source_vars) != len(target_vars):
            raise TransferError(
                f"init_from's layer {name!r} has {len(source_vars)} variables, this classifier's "
                f"{len(target_vars)} (head_hidden_units differ?)"
            )
        pairs += zip(source_vars, target_vars)
    updates = []
    for source_var, target_var in pairs:
        value = keras.ops.convert_to_numpy(source_var)
        if target_var.path.endswith(("logits/kernel", "logits/bias")):
            value = value[..., order]
        if value.shape != tuple(target_var.shape):
            raise TransferError(
                f"init_from's {source_var.path} has shape {value.shape}, this classifier's "
                f"{target_var.path} {tuple(target_var.shape)}"
            )
        updates.append((target_var, value))
    for variable, value in updates:
        variable.assign(value.astype(variable.dtype))
    return True


def set_trainable(model, names, trainable):
    """Freezes (or unfreezes) the named layers and everything inside them.

    In Keras 3 a frozen `BatchNormalization` also runs in inference mode: its
    moving mean and variance stay as they are."""
    for name in names:
        model.get_layer(name).trainable = trainable


def warm_schedule(epochs, freeze_epochs, head_kept, learning_rate, fine_tune_learning_rate):
    """The phases of a warm-started `fit`: `[(first_epoch, stop_epoch, frozen, learning_rate), ...]`.

    Default `freeze_epochs` (None): `DEFAULT_FREEZE_EPOCHS`, at most half of
    `epochs`, when the head is new; 0 when it was kept. Default
    `fine_tune_learning_rate`: `DEFAULT_FINE_TUNE_FACTOR` times
    `learning_rate` (the same rate) when the head is new,
    `CONTINUE_FINE_TUNE_FACTOR` times it when it was kept. With
    `freeze_epochs >= epochs` every epoch is frozen (only the head learns).

    Example:
    >>> warm_schedule(10, None, False, 1e-3, None)
    [(0, 3, True, 0.001), (3, 10, False, 0.001)]
    >>> warm_schedule(10, None, True, 1e-3, None)
    [(0, 10, False, 0.0001)]
    >>> warm_schedule(4, None, True, 1e-3, 5e-5)
    [(0, 4, False, 5e-05)]
    """
    if freeze_epochs is None:
        freeze_epochs = 0 if head_kept else min(DEFAULT_FREEZE_EPOCHS, epochs // 2)
    freeze_epochs = min(freeze_epochs, epochs)
    if fine_tune_learning_rate is None:
        factor = CONTINUE_FINE_TUNE_FACTOR if head_kept else DEFAULT_FINE_TUNE_FACTOR
        fine_tune_learning_rate = float(f"{learning_rate * factor:.6g}")
    phases = [
        (0, freeze_epochs, True, learning_rate),
        (freeze_epochs, epochs, False, fine_tune_learning_rate),
    ]
    return [phase for phase in phases if phase[1] > phase[0]]
