"""mmcnn: convolutional classifiers for images, audio and text, with Keras 3 on TensorFlow.

`mmcnn.layers` holds the rank-generic blocks, `mmcnn.models` the backbone, the
classifier task and the modality registry, `mmcnn.image` / `mmcnn.audio` /
`mmcnn.text` / `mmcnn.board` the modality adapters and classifiers,
`mmcnn.export` the exports, `mmcnn.runs` what `mmcnn train` does,
`mmcnn.inspect` receptive fields and costs. Every subpackage is imported on
first use (`mmcnn.audio` imports librosa, `mmcnn.text` tensorflow-text).
"""

import importlib as _importlib
import os as _os

from mmcnn._stderr import quiet_import as _quiet_import
from mmcnn._version import __version__

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) hides mmcnn's own output:
# what absl logs after start-up honours this level, what it prints before is filtered.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

with _quiet_import():
    # Registers mmcnn's layers and ClassifierModel with Keras, so that plain
    # `keras.saving.load_model` reads mmcnn's `.keras` files after `import mmcnn`;
    # `mmcnn.tune` plugs its search into `Classifier.tune` (it imports KerasTuner only when one runs).
    from mmcnn import layers, models, tune  # noqa: E402, F401

from mmcnn.models.registry import modality_modules as _modality_modules  # noqa: E402

# The core's subpackages and modules, imported lazily on first attribute access.
_CORE_SUBMODULES = (
    "data",
    "distribute",
    "explain",
    "export",
    "inspect",
    "layers",
    "models",
    "multimodal",
    "report",
    "runs",
    "testing",
    "training",
    "tune",
)
# The modalities (`mmcnn.image`, ...) are those the `mmcnn.modalities` entry points declare
# (`pyproject.toml`; another distribution adds one the same way); a core name wins a clash.
_LAZY = {
    **_modality_modules(),
    **{name: f"mmcnn.{name}" for name in _CORE_SUBMODULES},
}
_SUBMODULES = tuple(sorted(_LAZY))


def load(path):
    """Loads any mmcnn classifier from a `.keras` file (see `mmcnn.models.load`)."""
    from mmcnn.models.classifier import load as _load

    return _load(path)


def __getattr__(name):
    if name in _LAZY:
        return _importlib.import_module(_LAZY[name])
    raise AttributeError(f"module 'mmcnn' has no attribute {name!r}")


def __dir__():
    public = {name for name in globals() if not name.startswith("_") or name.startswith("__")}
    return sorted(public | set(_SUBMODULES))


__all__ = ["__version__", "load", *_SUBMODULES]
