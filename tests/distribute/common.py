"""Data, model and launching shared by the distributed tests (and their worker script)."""

import os

import numpy as np
from PIL import Image

import mmcnn

EPOCHS = 3
PER_REPLICA_BATCH = 4
NUM_EXAMPLES = 32  # a multiple of the global batch (2 replicas x 4): every step splits evenly


def write_images(root):
    """NUM_EXAMPLES tiny grey PNGs in two class folders (dark-ish and bright-ish)."""
    rng = np.random.default_rng(0)
    for i in range(NUM_EXAMPLES):
        label = i % 2
        folder = os.path.join(root, ["dark", "bright"][label])
        os.makedirs(folder, exist_ok=True)
        pixels = rng.integers(0, 128, (8, 8)) + 100 * label
        Image.fromarray(pixels.astype(np.uint8)).save(os.path.join(folder, f"{i:03d}.png"))


def labelled_data(root, kind):
    data = mmcnn.image.from_directory(root, verbose=0)
    if kind == "files":
        return data
    pixels = np.stack([np.asarray(Image.open(p), "float32") for p in data.inputs])
    return mmcnn.image.from_arrays(pixels, data.labels, class_names=data.class_names)


def classifier():
    clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(8, 8), channels=1, preset="tiny",
                                      augmentation="none", learning_rate=0.01, seed=1)
    clf._shuffle_training = False  # compare runs batch by batch
    return clf
