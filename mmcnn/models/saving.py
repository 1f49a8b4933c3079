"""Saving and loading classifiers: the `.keras` file, and a classifier around a loaded model.

`Classifier.save`, `from_model` and `load` delegate here. The classifier class
comes from the model's metadata through `mmcnn.models.registry`, so this module
imports no classifier.
"""

import inspect
import os

import keras

from mmcnn.models import registry
from mmcnn.training import check_keras_file, keras_file_metadata, save_model_atomic


def classifier_config(clf, base):
    """`Classifier.get_config` of `clf`: its constructor arguments, those of its classes up to
    `base` (the `Classifier` class), by name."""
    names = []
    for cls in type(clf).__mro__:
        if "__init__" in cls.__dict__:
            names += [
                n
                for n in inspect.signature(cls.__dict__["__init__"]).parameters
                if n not in ("self", "kwargs") and n not in names
            ]
        if cls is base:
            break
    # Only what this class's constructor takes: a subclass that does not pass a base argument on
    # (e.g. `init_from`) must still load from its config.
    accepted = inspect.signature(type(clf).__init__).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        names = [name for name in names if name in accepted]
    return {name: getattr(clf, name) for name in names}


def save(clf, path):
    """`Classifier.save` of `clf`: see there."""
    model = clf.model  # builds it first, which fixes the class names
    model.metadata = clf._metadata()
    save_model_atomic(model, path)  # a failed write keeps the previous file


def from_model(model, cls=None):
    """A classifier around a loaded `ClassifierModel`, of the class its metadata's modality names.

    `cls`: the class the caller expects (`ImageClassifier.from_model`); the
    model must be one of it or of a subclass. None: any classifier."""
    metadata = getattr(model, "metadata", None) or {}
    modality = metadata.get("modality")
    if not modality:
        raise ValueError(f"model {model.name!r} carries no mmcnn classifier metadata")
    target = registry.get_classifier(modality)
    if cls is not None and not issubclass(target, cls):
        raise ValueError(f"the model is a {modality} classifier, not a {cls.__name__}")
    clf = target.from_config(metadata["config"])
    clf._model = model
    if metadata.get("thresholds") is not None:
        clf.thresholds = [float(t) for t in metadata["thresholds"]]
    return clf


def load_model(path):
    """The `ClassifierModel` of a `.keras` file saved with `save`, in safe mode (no code runs from
    the file), after the modality's package is imported and the file is checked."""
    # The model's modality first (its package registers its layers), then the check, which
    # names the file; Keras's safe mode refuses the same entries.
    registry.import_modality(keras_file_metadata(path))
    check_keras_file(path, allowed=keras.saving.get_custom_objects())
    return keras.saving.load_model(os.fspath(path))


def load(path, cls=None):
    """Loads a classifier saved with `save`; `cls` as in `from_model`."""
    return from_model(load_model(path), cls)
