"""Building a classifier's Keras model: the dtype policy, the layers, the warm start's weights.

`Classifier.build`, `_build_model`, `_build_for`, `_transfer_source` and
`_metadata` delegate here. Each function takes the classifier and reaches its
modality through its hooks (`model_input`, `front_layers`, `backbone_layer`,
`prepare_transfer`, ...) and its methods (`build`, `_metadata`), so a
modality's overrides (the board predictor's `build`) stay in force.
"""

import contextlib
import json
import logging

import keras
import numpy as np
import tensorflow as tf

from mmcnn._version import __version__
from mmcnn.data import DataError
from mmcnn.layers import ClassifierHead, Temperature
from mmcnn.layers.head import resolve_pooling
from mmcnn.models import precision, saving, transfer
from mmcnn.models.classifier_model import ClassifierModel
from mmcnn.models.precision import dtype_policy, forced_precision, resolve_precision

logger = logging.getLogger("mmcnn")


def check_classes_arguments(num_classes, class_names):
    """The constructor's `num_classes` and `class_names`, checked against each other:
    `(num_classes, class_names)` with the names as strings and the count taken from them."""
    if class_names is not None:
        class_names = [str(c) for c in class_names]
        if num_classes is not None and num_classes != len(class_names):
            raise ValueError(
                f"`num_classes` ({num_classes}) disagrees with len(class_names) "
                f"({len(class_names)}). Received: class_names={class_names}"
            )
        num_classes = len(class_names)
    if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 2):
        raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")
    return num_classes, class_names


def check_classes(clf, data, what):
    """`Classifier._check_classes`: `data` (named `what` in errors) must have `clf`'s classes; a
    classifier without class names takes the data's, and one not built yet turns multi-label for
    multi-label data."""
    if getattr(data, "multi_label", False) and not clf.multi_label:
        if clf._model is not None:
            raise DataError(
                f"{what} is multi-label (several labels per example), but the classifier was "
                "built single-label; make it with multi_label=True"
            )
        logger.info("%s is multi-label: training a multi-label classifier (sigmoid head)", what)
        clf.multi_label = True
    if clf.class_names is None:
        clf.class_names = list(data.class_names)
        clf.num_classes = len(clf.class_names)
    elif list(data.class_names) != list(clf.class_names):
        raise DataError(
            f"{what} has classes {data.class_names}, but the classifier was made for {clf.class_names}"
        )


def build_model(clf):
    """`Classifier._build_model` of `clf`: its `build()` under the dtype policy that `precision`
    resolves to on this machine."""
    current = keras.config.dtype_policy().name
    if clf.precision == "auto" and current != "float32":
        # The user set a global Keras policy: "auto" follows it.
        policy, reason = current, f'the global Keras dtype policy ("{current}")'
    elif clf.precision == "auto" and forced_precision():
        policy, reason = forced_precision(), f"MMCNN_PRECISION={forced_precision()}"
    else:
        hardware = precision.detect_hardware()
        policy, reason = resolve_precision(clf.precision, detect=lambda: hardware)
        if clf.precision == "auto" and policy == "mixed_bfloat16":
            # bfloat16 is there: kept where this model trains faster in it (`measured_precision`).
            policy, reason, measured = precision.measured_precision(
                clf.build, model_key(clf), clf.setting("batch_size") or 32, hardware
            )
            clf.precision_used = {"policy": policy, "reason": reason, **measured}
            with dtype_policy(policy):
                return clf.build()
    clf.precision_used = {"policy": policy, "reason": reason}
    with dtype_policy(policy):
        model = clf.build()
    return model


# Constructor arguments that do not change a training step's cost: left out of `model_key`.
_NOT_SHAPE = frozenset(
    {
        "class_names",
        "seed",
        "epochs",
        "learning_rate",
        "init_from",
        "freeze_epochs",
        "fine_tune_learning_rate",
    }
)


def model_key(clf):
    """A string that identifies what `clf` builds, for `precision.measured_precision`'s cache: the
    modality, the model input's shapes and the constructor arguments that shape the network."""
    shapes = keras.tree.map_structure(lambda t: [tuple(t.shape), str(t.dtype)], clf.model_input())
    config = {k: v for k, v in clf.get_config().items() if k not in _NOT_SHAPE}
    return json.dumps([clf.modality, shapes, config], sort_keys=True, default=str)


def build_for(clf, data, scope=None):
    """`Classifier._build_for` of `clf`: see there."""
    clf.prepare_for_training(data)
    clf._examples_per_class = len(data) / max(1, len(data.class_names))
    with scope or contextlib.nullcontext():
        model = clf._build_model()
        if clf.multi_label and not clf._head_kept:
            start_at_label_rates(model, data)
        return model


def start_at_label_rates(model, data):
    """Sets the multi-label head's logit biases so that each class starts at its rate in `data`:
    `log(p / (1 - p))` (p clipped to [1e-4, 1 - 1e-4]).

    With zero biases every sigmoid starts at 0.5, and on label sets where most classes are rare
    the first epochs go to pushing them all down; from the rates, training starts where that
    ends. On the debtags validation split (30 tags) the text default's mAP went from 0.483 to
    0.508 in its 12 epochs (`bench/results/text_vs_linear_validation_four_sets.md`)."""
    rates = np.clip(np.asarray(data.target_matrix(), "float64").mean(axis=0), 1e-4, 1 - 1e-4)
    bias = model.get_layer("head").dense.bias
    bias.assign(np.log(rates / (1 - rates)).astype(bias.dtype))


def build(clf):
    """`Classifier.build` of `clf`: see there."""
    if clf.num_classes is None:
        raise ValueError(
            f"{type(clf).__name__} needs `num_classes` or `class_names` before it "
            "can be built; pass them, or call fit() with labelled data"
        )
    if clf.class_names is None:
        clf.class_names = [str(i) for i in range(clf.num_classes)]
    keras.utils.set_random_seed(clf.seed)
    source = clf._transfer_source()
    if source is not None:
        transfer.check_source(clf, source, clf.init_from)
        clf.prepare_transfer(source)
    preset = clf.preset_config
    inputs = clf.model_input()
    x = inputs
    for layer in clf.front_layers():
        x = layer(x)
    backbone = clf.backbone_layer()
    if backbone is not None:
        x = backbone(x)
    outputs = ClassifierHead(
        clf.num_classes,
        rank=clf.rank,
        pooling=resolve_pooling(preset.get("head_pooling", "avg"), x.shape),
        dropout=preset.get("head_dropout", 0.0),
        hidden_units=preset.get("head_hidden_units"),
        activation="sigmoid" if clf.multi_label else "softmax",
        name="head",
    )(x)
    if not clf.multi_label:
        # T = 1 until `calibrate` fits it; the .keras file and every export carry it.
        outputs = Temperature(name="temperature")(outputs)
    clf._model = ClassifierModel(inputs, outputs, name=f"{clf.modality}_classifier", metadata=clf._metadata())
    clf._embedding = None
    clf._warm_layers = list(clf.pretrained_layers())
    clf._head_kept = False
    if source is not None:
        copied = transfer.copy_weights(source.model, clf._model, adapt=clf.adapt_transfer_weight)
        clf._head_kept = transfer.copy_head(source.model, clf._model, source.class_names, clf.class_names)
        clf._warm_layers = [*copied, *(n for n in clf._warm_layers if n not in copied)]
        logger.info(
            "init_from %s: copied %s%s",
            clf.init_from,
            ", ".join(copied),
            " and the head (same classes)" if clf._head_kept else "; the head is new",
        )
    clf._warm_pending = bool(clf._warm_layers)
    return clf._model


def transfer_source(clf):
    """The classifier `init_from` names, loaded (None without `init_from`)."""
    if clf.init_from is None:
        return None
    return saving.load(transfer.source_model_path(clf.init_from))


def metadata(clf):
    """What `clf`'s `ClassifierModel` carries: modality, class names, constructor arguments,
    precision, thresholds and versions (`Classifier._metadata`)."""
    config = clf.get_config()
    config["class_names"] = clf.class_names
    config["num_classes"] = clf.num_classes
    return {
        "modality": clf.modality,
        # For people reading the file; loading finds the class through the registry.
        "classifier": f"{type(clf).__module__}.{type(clf).__qualname__}",
        # The dtype policy the model was built with, and why (None before it is built).
        "precision": clf.precision_used,
        # What the modality decided about its input from the training data, and why
        # (`ImageClassifier(image_size="auto")`); None where nothing was decided.
        "input": getattr(clf, "input_used", None),
        "class_names": clf.class_names,
        "config": config,
        # Multi-label: the per-class decision thresholds (None: 0.5 each).
        "thresholds": None if clf.thresholds is None else [float(t) for t in clf.thresholds],
        "mmcnn_version": __version__,
        "tensorflow_version": tf.__version__,
    }
