"""mmcnn: convolutional classifiers for images, audio and text, with Keras 3 on TensorFlow.

`mmcnn.layers` holds the rank-generic blocks, `mmcnn.models` the backbone and
the classifier task, `mmcnn.image` / `mmcnn.audio` / `mmcnn.text` the modality
adapters and classifiers, `mmcnn.inspect` receptive fields and costs.
"""

__version__ = "0.1.0"

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# TensorFlow's C++ start-up chatter (oneDNN, CUDA probing) hides mmcnn's own output.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mmcnn import data, inspect, layers, models  # noqa: E402
from mmcnn.models.classifier import load  # noqa: E402


def __getattr__(name):
    # The modality packages import heavier dependencies (librosa, tensorflow-text):
    # load them on first use.
    if name in ("image", "audio", "text", "export"):
        import importlib

        return importlib.import_module(f"mmcnn.{name}")
    raise AttributeError(f"module 'mmcnn' has no attribute {name!r}")


__all__ = ["data", "inspect", "layers", "load", "models", "__version__"]
