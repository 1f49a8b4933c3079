"""The modality registry: names to classifier classes, with no imports of its own.

A modality package registers its classifier by defining it (a `Classifier`
subclass with a `modality` name registers itself, as KerasHub tasks and timm
models do). The core never imports a modality package by name: it looks a
modality up here, and only when nothing is registered under that name yet does
it import the package that the `mmcnn.modalities` entry points of the installed
distributions declare for it (mmcnn's own modalities are declared in
`pyproject.toml`; another package adds one the same way).

So `mmcnn.load("model.keras")` imports only the package of that model's
modality, and a modality defined anywhere (a test, a notebook) is found as soon
as its class exists. A model file never makes the registry import a module it
names: only installed entry points are imported.

Example:
>>> from mmcnn.models import registry
>>> set(registry.modality_names()) >= {"audio", "image", "text"}
True
>>> registry.get_classifier("image").__name__
'ImageClassifier'
"""

import importlib
import importlib.metadata
import logging

ENTRY_POINT_GROUP = "mmcnn.modalities"

logger = logging.getLogger("mmcnn")

_CLASSIFIERS = {}  # modality name -> Classifier subclass


def register_classifier(cls):
    """Registers `cls` under `cls.modality` (called when a Classifier subclass is defined).

    A later class with the same name replaces the earlier one, so that a
    subclass of a modality's classifier (`class MyImageClassifier(ImageClassifier)`)
    does not break loading: subclasses that should not take over the name set
    their own `modality`.
    """
    name = getattr(cls, "modality", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(
            f"`{cls.__name__}.modality` must be a name (a Python identifier). Received: modality={name!r}"
        )
    _CLASSIFIERS[name] = cls
    return cls


def _entry_points():
    return {ep.name: ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def modality_modules(entry_points=None):
    """The installed modalities: `{name: module}`, sorted by name, from the entry points; imports nothing.

    `mmcnn/__init__.py` makes each one a lazy attribute (`mmcnn.image`), and
    the contract tests run on each one.

    Args:
        entry_points: `importlib.metadata.EntryPoint`s to read (default: the
            `mmcnn.modalities` group of the installed distributions). An entry
            point whose name is not a Python identifier is left out with a
            logged warning (a package installed beside mmcnn must not break
            `import mmcnn`).

    Example:
    >>> from importlib.metadata import EntryPoint
    >>> modality_modules([EntryPoint("sensor", "my_package.sensor", ENTRY_POINT_GROUP)])
    {'sensor': 'my_package.sensor'}
    """
    if entry_points is None:
        entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    modules = {}
    for entry_point in entry_points:
        if not entry_point.name.isidentifier():
            logger.warning(
                "the %s entry point %r = %r is left out: its name must be a Python identifier",
                ENTRY_POINT_GROUP,
                entry_point.name,
                entry_point.value,
            )
            continue
        modules[entry_point.name] = entry_point.value.partition(":")[0].strip()
    return dict(sorted(modules.items()))


def modality_names():
    """Names of the registered and the installed (entry point) modalities, sorted; imports nothing."""
    return sorted(set(_CLASSIFIERS) | set(_entry_points()))


def get_classifier(modality):
    """The classifier class registered under `modality`, importing its package if needed.

    Args:
        modality: the modality name (`"image"`, `"audio"`, ...).

    Raises:
        ValueError: no classifier is registered or installed under that name.
    """
    if modality not in _CLASSIFIERS:
        entry_point = _entry_points().get(modality)
        if entry_point is not None:
            importlib.import_module(entry_point.value.partition(":")[0])
    if modality not in _CLASSIFIERS:
        raise ValueError(
            f"no mmcnn classifier is registered for modality {modality!r}; known modalities: "
            f"{', '.join(modality_names()) or 'none'} (a modality from another package is found "
            "through its `mmcnn.modalities` entry point, or once its module is imported)"
        )
    return _CLASSIFIERS[modality]


def import_modality(metadata):
    """Imports the package of a saved model's modality, so that its layers are registered.

    `metadata` is a `ClassifierModel`'s metadata dict. Does nothing for
    metadata that names no modality.
    """
    modality = (metadata or {}).get("modality")
    if modality:
        cls = get_classifier(modality)
        # A model made of other modalities' layers (a table's columns) imports theirs too.
        for name in cls.used_modalities((metadata or {}).get("config") or {}):
            get_classifier(name)
