"""ImageClassifier: 2-D receptive fields over pixels."""

import os

import keras
import numpy as np
import tensorflow as tf

from mmcnn.image.image_adapter import ImageAdapter
from mmcnn.image.image_augmentation import ImageAugmentation
from mmcnn.image.image_converter import ImageConverter, decode_image, load_image_file, resize_image
from mmcnn.models.classifier import Classifier

_TRAINING = dict(learning_rate=2e-3, epochs=15, batch_size=128, patience=5, weight_decay=1e-4)

PRESETS = {
    # A small, fast net for tests and quick looks.
    "tiny": dict(rank=2, stem=16, stages=[{"filters": 16, "pooling": "max"},
                                          {"filters": 32, "pooling": "max"}],
                 head_dropout=0.0, **{**_TRAINING, "epochs": 10}),
    # The default: VGG-style stages with batch norm; see bench/RESULTS.md for its accuracy.
    "small": dict(rank=2, stem=32, stages=[{"filters": 32, "pooling": "max"},
                                           {"filters": 64, "blocks": 2, "pooling": "max"},
                                           {"filters": 128}],
                  head_dropout=0.3, **_TRAINING),
    # Depthwise-separable stages: far fewer weights and multiply-adds.
    "mobile": dict(rank=2, stem=32, block="separable",
                   stages=[{"filters": 64, "pooling": "max"}, {"filters": 128, "blocks": 2, "pooling": "max"},
                           {"filters": 256}], head_dropout=0.3, **_TRAINING),
    # A deeper residual net with strided convolutions instead of pooling.
    "resnet": dict(rank=2, stem=32, block="residual",
                   stages=[{"filters": 32, "blocks": 2}, {"filters": 64, "blocks": 2, "strides": 2},
                           {"filters": 128, "blocks": 2, "strides": 2}],
                   head_dropout=0.3, **{**_TRAINING, "epochs": 30}),
}


class ImageClassifier(Classifier):
    """Image classifier: augmentation (training only) -> 2-D adapter -> backbone -> head.

    Args:
        num_classes: number of classes (or give `class_names`, or let `fit` take them from the data).
        image_size: `(height, width)` the model sees; inputs of other sizes are resized.
        channels: 1 (grey) or 3 (RGB).
        resize_mode: `"crop"` (aspect-preserving centre crop), `"pad"` or `"stretch"`.
        class_names: ordered class names.
        preset: `"tiny"`, `"small"` (default), `"mobile"` or `"resnet"`.
        augmentation: `"none"`, `"light"`, `"standard"` (default) or `"strong"`.
        learning_rate, epochs, batch_size: training settings (default: the preset's).
        seed: seed of initialisation, shuffling and augmentation.

    Example:
    >>> import numpy as np, mmcnn
    >>> clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
    >>> clf.model.output_shape
    (None, 2)
    """

    modality = "image"
    presets = PRESETS
    default_preset = "small"

    def __init__(self, num_classes=None, image_size=(32, 32), channels=3, resize_mode="crop",
                 class_names=None, preset=None, augmentation="standard", learning_rate=None,
                 epochs=None, batch_size=None, seed=0):
        super().__init__(num_classes=num_classes, class_names=class_names, preset=preset,
                         augmentation=augmentation, learning_rate=learning_rate, epochs=epochs,
                         batch_size=batch_size, seed=seed)
        # The converter validates these and fails naming the argument.
        self._converter = ImageConverter(image_size, channels, resize_mode)
        self.image_size = tuple(self._converter.image_size)
        self.channels = channels
        self.resize_mode = resize_mode

    def _model_input(self):
        return keras.Input((*self.image_size, self.channels), name="pixels")

    def _front_layers(self):
        preset = self.preset_config
        return [ImageAugmentation(self.augmentation, seed=self.seed, name="augmentation"),
                ImageAdapter(preset["stem"], name="adapter")]

    def _element_nbytes(self):
        return int(np.prod(self.image_size)) * self.channels * 4

    def _input_dataset(self, data):
        size, channels, mode = self.image_size, self.channels, self.resize_mode
        if data.kind == "files":
            def load(path):
                return resize_image(decode_image(tf.io.read_file(path), channels), size, mode)
            return tf.data.Dataset.from_tensor_slices(list(data.inputs)).map(
                load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        pixels = np.asarray(data.inputs, dtype="float32")
        if pixels.shape[1:] != (*size, channels):
            pixels = self._converter(pixels).numpy()
        return tf.data.Dataset.from_tensor_slices(pixels)

    def _prepare_inputs(self, inputs):
        """Paths, encoded bytes, or a batch array `(n, h, w)` / `(n, h, w, c)` -> pixels batch."""
        if isinstance(inputs, (str, bytes, os.PathLike)):
            inputs = [inputs]
        if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "uif":
            x = inputs[..., None] if inputs.ndim == 3 else inputs
            if x.ndim != 4:
                raise ValueError("image arrays must be batches of shape (n, height, width[, channels]). "
                                 f"Received shape {inputs.shape}")
            return self._converter(x.astype("float32")).numpy()
        images = []
        for item in inputs:
            if isinstance(item, bytes):
                images.append(ImageConverter(self.image_size, self.channels, self.resize_mode,
                                             input_format="bytes")(tf.constant([item]))[0].numpy())
            else:
                images.append(load_image_file(item, self.image_size, self.channels, self.resize_mode))
        return np.stack(images).astype("float32")
