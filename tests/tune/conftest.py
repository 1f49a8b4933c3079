"""Tiny data and settings for the `mmcnn tune` tests (STYLE: 12x12 grey images, 0.25 s clips, short texts)."""

import logging

import numpy as np
import pytest
from PIL import Image

# Held fixed in every trial of the tiny searches: small inputs, two epochs, one batch size.
IMAGE_SETTINGS = {"image_size": [12, 12], "channels": 1, "epochs": 2, "batch_size": 8}
IMAGE_SPACE = {"preset": {"values": ["tiny"]}}
AUDIO_SETTINGS = {"clip_seconds": 0.25, "epochs": 2, "batch_size": 8}
AUDIO_SPACE = {"preset": {"values": ["tiny"]}, "n_mels": {"values": [16, 32]}}
TEXT_SETTINGS = {"embedding_dim": 8, "filters": 4, "min_frequency": 1, "epochs": 2, "batch_size": 8}
TEXT_SPACE = {"preset": {"values": ["kim"]}, "max_tokens": {"values": [8, 16]}}


def make_images(root, per_class, seed=0):
    """A class-per-folder image set: dark and bright 12x14 grey PNGs."""
    rng = np.random.default_rng(seed)
    for name, base in (("dark", 50), ("bright", 200)):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(base, 25, (12, 14)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def image_arrays(n=24, seed=0):
    import mmcnn.image

    rng = np.random.default_rng(seed)
    labels = ["dark", "bright"] * (n // 2)
    pixels = np.stack(
        [np.clip(rng.normal(50 if label == "dark" else 200, 25, (12, 12)), 0, 255) for label in labels]
    ).astype("uint8")
    return mmcnn.image.from_arrays(pixels, labels)


def audio_arrays(n=16, seed=1):
    import mmcnn.audio

    rng = np.random.default_rng(seed)
    t = np.arange(4000) / 16000
    labels = ["hum", "hiss"] * (n // 2)
    clips = [
        0.3 * np.sin(2 * np.pi * 220 * t) if label == "hum" else 0.1 * rng.standard_normal(4000)
        for label in labels
    ]
    return mmcnn.audio.from_arrays(np.stack(clips).astype("float32"), labels)


def text_arrays(n=24):
    import mmcnn.text

    cats = ["the cat sat", "cats sleep all day", "a cat purrs", "the kitten naps"]
    dogs = ["a dog ran", "dogs bark at night", "the dog fetches", "a puppy plays"]
    texts, labels = [], []
    for i in range(n // 2):
        texts += [cats[i % 4], dogs[i % 4]]
        labels += ["cat", "dog"]
    return mmcnn.text.from_arrays(texts, labels)


@pytest.fixture
def tune_log(caplog):
    """The `mmcnn.tune` log lines of a test."""
    caplog.set_level(logging.INFO, logger="mmcnn.tune")
    return caplog
