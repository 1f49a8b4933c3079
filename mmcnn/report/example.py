"""One example input, made into a batch the model takes, and what the pictures need to know of it."""

import os

import numpy as np
import tensorflow as tf

from mmcnn.report.errors import ReportError
from mmcnn.report.model_walk import _numpy, iter_layers


def _example_batch(classifier, model, example):
    """One example as a batch of one model input."""
    if example is None:
        raise ReportError("no example input was given")
    spec = model.inputs[0]
    shape = tuple(spec.shape[1:])
    if spec.dtype == "string":
        if isinstance(example, bytes):
            example = example.decode("utf-8", errors="replace")
        if not isinstance(example, str):
            raise ReportError(f"the model reads texts; the example is a {type(example).__name__}")
        return tf.constant([[example]] if shape == (1,) else [example])
    if not isinstance(example, (str, bytes, os.PathLike)):
        array = np.asarray(example)
        if array.dtype.kind in "uif" and array.shape == shape:
            return array[None].astype("float32")
    if classifier is None or not hasattr(classifier, "preprocess"):
        raise ReportError(f"the example has shape {np.shape(example)}, the model wants {shape}")
    if isinstance(example, (str, bytes, os.PathLike)):
        prepared = classifier.preprocess([example])
    else:
        prepared = classifier.preprocess(np.asarray(example)[None])
    return np.asarray(prepared, dtype="float32")[:1]


def input_axes(classifier):
    """Names of the axes of one example as the network sees it (no batch axis).

    A classifier says so itself (`Classifier.input_axes`). A bare Keras model
    says nothing of its axes: they are read from its first input (texts in,
    tokens; four axes, an image's; else time steps), for it alone.

    Example:
    >>> import keras, mmcnn
    >>> input_axes(mmcnn.text.TextClassifier)
    ('tokens',)
    >>> input_axes(keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(2, 3)]))
    ('height', 'width', 'channels')
    """
    axes = getattr(classifier, "input_axes", None)
    if axes:
        return tuple(axes)
    spec = getattr(classifier, "model", classifier).inputs[0]
    if spec.dtype == "string":
        return ("tokens",)
    return ("height", "width", "channels") if len(spec.shape) == 4 else ("steps", "features")


def _token_strings(model, records):
    """The example's tokens (padding dropped) from the tokenizer's output and vocabulary."""
    ids = None
    for _, _, _, y in records:
        if y.dtype.is_integer and len(y.shape) == 2:
            ids = _numpy(y)[0]
            break
    if ids is None:
        raise ReportError("no token ids found in the model (no tokenizer layer)")
    vocabulary = None
    for _, layer in iter_layers(model):
        if hasattr(layer, "get_vocabulary"):
            vocabulary = list(layer.get_vocabulary())
            break
    ids = [int(i) for i in ids]
    real = len(ids)
    while real > 0 and ids[real - 1] == 0:
        real -= 1
    tokens = [vocabulary[i] if vocabulary is not None and i < len(vocabulary) else str(i) for i in ids]
    return tokens, real


def _audio_timing(model):
    """(sample_rate, hop_length, n_fft) of the model's spectrogram layer, or None."""
    for _, layer in iter_layers(model):
        if all(hasattr(layer, a) for a in ("sample_rate", "hop_length")):
            return layer.sample_rate, layer.hop_length, getattr(layer, "n_fft", None)
    return None
