"""Tiny classifiers of every modality, their calibration data and edge inputs, for the LiteRT/ONNX tests."""

import os

import numpy as np
import pandas as pd

import mmcnn.audio
import mmcnn.board
import mmcnn.image
import mmcnn.text
from mmcnn.data import LabeledData

MODALITIES = ("image", "audio", "text", "board")
DEMO_TEXT = os.path.join(os.path.dirname(mmcnn.__file__), "demo_data", "text", "train.csv")
# Largest |file - Keras| probability difference allowed per quantization.
TOLERANCE = {None: 1e-5, "float16": 2e-3, "dynamic": 3e-2, "int8": 5e-2}


def tiny_classifier(modality):
    """`(classifier, LabeledData)`: a tiny untrained classifier and 120 examples of its input."""
    rng = np.random.default_rng(0)
    names = ["a", "b", "c"]
    labels = rng.integers(0, 3, 120)
    if modality == "image":
        clf = mmcnn.image.ImageClassifier(
            class_names=names, image_size=(16, 16), channels=1, preset="tiny", augmentation="none"
        )
        # Smooth random images: pixels of every brightness, with structure for the convolutions.
        pixels = np.cumsum(rng.integers(0, 256, (120, 16, 16)), axis=1) % 256
        return clf, mmcnn.image.from_arrays(pixels.astype("uint8"), labels, class_names=names)
    if modality == "audio":
        clf = mmcnn.audio.AudioClassifier(
            class_names=names,
            sample_rate=8000,
            clip_seconds=0.5,
            n_mels=32,
            n_fft=256,  # 32 ms: int8 stays within TOLERANCE of these untrained weights
            preset="tiny",
            augmentation="none",
        )
        waves = rng.normal(size=(120, clf.num_samples)) * rng.uniform(0.001, 1, size=(120, 1))
        return clf, mmcnn.audio.from_arrays(list(waves.astype("float32")), labels, 8000, class_names=names)
    if modality == "text":
        train = pd.read_csv(DEMO_TEXT)
        names = sorted(train.label.unique())
        clf = mmcnn.text.TextClassifier(
            class_names=names, mode="word", max_tokens=16, min_frequency=1, embedding_dim=8, filters=4
        )
        texts = list(train.text[:120])
        clf.adapt(list(train.text))
        ids = [names.index(label) for label in train.label[:120]]
        return clf, mmcnn.text.from_arrays(texts, ids, class_names=names)
    clf = mmcnn.board.MovePredictor(board_size=5, preset="tiny", augmentation="none")
    planes = (rng.random((120, 5, 5, clf.num_planes)) < 0.3).astype("float32")
    return clf, LabeledData(planes, rng.integers(0, 26, 120), clf.class_names, "arrays")


def edge_and_keras(clf, data, count=24):
    """`(edge inputs, Keras probabilities)` of the first `count` examples."""
    x = next(iter(clf.make_dataset(data.subset(np.arange(count)), batch_size=count)))[0]
    return clf.edge_inputs(x), np.asarray(clf.model(x, training=False))


def assert_close(probs, reference, tolerance):
    """Probabilities within `tolerance`, and the same top class wherever Keras's top two differ by more."""
    assert probs.shape == reference.shape
    diff = float(np.abs(probs - reference).max())
    assert diff <= tolerance, f"max |diff| {diff:.3e} > {tolerance:.0e}"
    top2 = np.sort(reference, axis=-1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * tolerance
    agree = np.argmax(probs, -1)[clear] == np.argmax(reference, -1)[clear]
    assert agree.all(), f"top class differs on {int((~agree).sum())} of {int(clear.sum())} clear examples"
    return diff
