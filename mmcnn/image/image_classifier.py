"""ImageClassifier: 2-D receptive fields over pixels."""

import os

import keras
import numpy as np
import tensorflow as tf

from mmcnn.image.image_adapter import ImageAdapter
from mmcnn.image.image_augmentation import MIXING_KINDS, POLICIES, ImageAugmentation, apply_batch_mixing
from mmcnn.image.image_converter import (
    ImageConverter,
    ImageError,
    decode_image,
    load_image_file,
    resize_image,
)
from mmcnn.image.image_data import IMAGE_EXTENSIONS, from_dataframe, from_directory
from mmcnn.image.image_serving import image_endpoints, image_settings
from mmcnn.layers.spatial_transformer import SpatialTransformer
from mmcnn.models.classifier import Classifier

# Flip + translation: the default that bench/bench_image.py measures on Fashion-MNIST with
# the default preset's short schedule (bench/results/image.md).
DEFAULT_AUGMENTATION = "light"

_TRAINING = dict(learning_rate=2e-3, epochs=15, batch_size=128, patience=5, weight_decay=1e-4)

PRESETS = {
    # A small, fast net for tests and quick looks.
    "tiny": dict(
        rank=2,
        stem=16,
        stages=[{"filters": 16, "pooling": "max"}, {"filters": 32, "pooling": "max"}],
        head_dropout=0.0,
        **{**_TRAINING, "epochs": 10},
    ),
    # The default: VGG-style stages with batch norm, sized for a 2-core CPU (about 15 M
    # multiply-adds per 28x28 image); see bench/results/image.md for its accuracy and speed.
    "small": dict(
        rank=2,
        stem=32,
        stages=[{"filters": 32, "pooling": "max"}, {"filters": 64, "pooling": "max"}, {"filters": 128}],
        head_dropout=0.3,
        **{**_TRAINING, "epochs": 20},
    ),
    # Depthwise-separable stages: far fewer weights and multiply-adds.
    "mobile": dict(
        rank=2,
        stem=32,
        block="separable",
        stages=[
            {"filters": 64, "pooling": "max"},
            {"filters": 128, "blocks": 2, "pooling": "max"},
            {"filters": 256},
        ],
        head_dropout=0.3,
        **_TRAINING,
    ),
    # A deeper residual net with strided convolutions instead of pooling.
    "resnet": dict(
        rank=2,
        stem=32,
        block="residual",
        stages=[
            {"filters": 32, "blocks": 2},
            {"filters": 64, "blocks": 2, "strides": 2},
            {"filters": 128, "blocks": 2, "strides": 2},
        ],
        head_dropout=0.3,
        **{**_TRAINING, "epochs": 30},
    ),
}


class ImageClassifier(Classifier):
    """Image classifier: augmentation (training only) -> 2-D adapter -> backbone -> head.

    The model takes float pixels `(batch, height, width, channels)` in 0..255;
    `predict` also takes file paths, encoded bytes and arrays of any size, and
    resizes them the same way training did.

    Args:
        num_classes: number of classes (or give `class_names`, or let `fit` take them from the data).
        image_size: `(height, width)` the model sees; inputs of other sizes are resized.
        channels: 1 (grey) or 3 (RGB); files and arrays are converted to it.
        resize_mode: `"crop"` (aspect-preserving centre crop), `"pad"` (aspect-preserving,
            zero padding) or `"stretch"`.
        class_names: ordered class names; they travel with the saved model.
        preset: `"tiny"`, `"small"` (default), `"mobile"` or `"resnet"`.
        augmentation: `"none"`, `"light"` (default), `"standard"` or `"strong"`
            (see `ImageAugmentation`); random in training only, the identity in
            `predict`, `evaluate` and exports.
        learning_rate, epochs, batch_size: training settings (default: the preset's).
        seed: seed of initialisation, shuffling and augmentation.
        mixing: `None` (default), `"mixup"` or `"cutmix"`: mix pairs of
            training images and their labels batch by batch in `tf.data`
            (`apply_batch_mixing`); the labels become one-hot and the loss
            categorical cross-entropy.
        spatial_transformer: put a `SpatialTransformer` (a learnt affine warp,
            initialised to the identity) between the augmentation and the adapter.

    Example:
    >>> import numpy as np, mmcnn
    >>> clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
    >>> clf.model.output_shape
    (None, 2)
    >>> clf.predict(np.zeros((3, 20, 24), "uint8"))["probabilities"].shape
    (3, 2)
    """

    modality = "image"
    from_directory = staticmethod(from_directory)
    from_dataframe = staticmethod(from_dataframe)
    input_extensions = IMAGE_EXTENSIONS
    presets = PRESETS
    default_preset = "small"

    def __init__(
        self,
        num_classes=None,
        image_size=(32, 32),
        channels=3,
        resize_mode="crop",
        class_names=None,
        preset=None,
        augmentation=DEFAULT_AUGMENTATION,
        learning_rate=None,
        epochs=None,
        batch_size=None,
        seed=0,
        mixing=None,
        spatial_transformer=False,
    ):
        if augmentation not in POLICIES:
            raise ValueError(
                f"`augmentation` must be one of {POLICIES}. Received: augmentation={augmentation!r}"
            )
        if mixing is not None and mixing not in MIXING_KINDS:
            raise ValueError(f"`mixing` must be None or one of {MIXING_KINDS}. Received: mixing={mixing!r}")
        if not isinstance(spatial_transformer, bool):
            raise ValueError(
                "`spatial_transformer` must be True or False. "
                f"Received: spatial_transformer={spatial_transformer!r}"
            )
        super().__init__(
            num_classes=num_classes,
            class_names=class_names,
            preset=preset,
            augmentation=augmentation,
            learning_rate=learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
        )
        # The converter validates these and fails naming the argument.
        self._converter = ImageConverter(image_size, channels, resize_mode)
        self.image_size = tuple(self._converter.image_size)
        self.channels = channels
        self.resize_mode = resize_mode
        self.mixing = mixing
        self.spatial_transformer = spatial_transformer

    def _model_input(self):
        return keras.Input((*self.image_size, self.channels), name="pixels")

    def _front_layers(self):
        preset = self.preset_config
        layers = [ImageAugmentation(self.augmentation, seed=self.seed, name="augmentation")]
        if self.spatial_transformer:
            # On raw pixels, before the stem: the warp decides what the receptive fields see.
            layers.append(SpatialTransformer(name="spatial_transformer"))
        layers.append(ImageAdapter(preset["stem"], name="adapter"))
        return layers

    def _element_nbytes(self):
        return int(np.prod(self.image_size)) * self.channels * 4

    def _input_dataset(self, data, training=False):
        size, channels, mode = self.image_size, self.channels, self.resize_mode
        if data.kind == "files":

            def load(path):
                return resize_image(decode_image(tf.io.read_file(path), channels), size, mode)

            return tf.data.Dataset.from_tensor_slices(list(data.inputs)).map(
                load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
            )
        if data.kind != "arrays":
            raise ValueError(f"ImageClassifier reads image files or arrays; received {data.kind!r} data")
        if isinstance(data.inputs, np.ndarray):
            pixels = data.inputs.astype("float32", copy=False)
            if pixels.shape[1:] != (*size, channels):
                pixels = self._converter(pixels).numpy()
        else:
            # Arrays of different sizes: resize one at a time, as files are.
            pixels = (
                np.stack([self._converter(np.asarray(image, "float32")).numpy() for image in data.inputs])
                if len(data.inputs)
                else np.zeros((0, *size, channels), "float32")
            )
        return tf.data.Dataset.from_tensor_slices(pixels)

    def preprocess(self, inputs):
        """Raw inputs -> a float32 pixel batch `(n, height, width, channels)`.

        `inputs` is one file path or encoded image (`bytes`), a list of
        paths / bytes / single images `(h, w[, c])`, or a batch array
        `(n, h, w)` or `(n, h, w, c)`. Every image is decoded and resized
        with the same in-graph functions that training used.
        """
        if isinstance(inputs, (str, bytes, os.PathLike)):
            inputs = [inputs]
        if isinstance(inputs, tf.Tensor):
            inputs = inputs.numpy()
        if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "uif":
            x = inputs[..., None] if inputs.ndim == 3 else inputs
            if x.ndim != 4:
                raise ValueError(
                    "image arrays must be batches of shape (n, height, width[, channels]). "
                    f"Received shape {inputs.shape}"
                )
            return self._converter(x.astype("float32")).numpy()
        images = []
        for i, item in enumerate(inputs):
            if isinstance(item, bytes):
                images.append(self._decode_bytes(item, i))
            elif isinstance(item, np.ndarray) and item.dtype.kind in "uif":
                image = item[..., None] if item.ndim == 2 else item
                if image.ndim != 3:
                    raise ValueError(
                        f"inputs[{i}]: an image array must be (height, width[, channels]). "
                        f"Received shape {item.shape}"
                    )
                images.append(self._converter(image.astype("float32")).numpy())
            elif isinstance(item, (str, os.PathLike)):
                images.append(load_image_file(item, self.image_size, self.channels, self.resize_mode))
            else:
                raise ValueError(
                    f"inputs[{i}]: expected a file path, encoded image bytes or an image "
                    f"array. Received {type(item).__name__}"
                )
        if not images:
            return np.zeros((0, *self.image_size, self.channels), "float32")
        return np.stack(images).astype("float32")

    def _decode_bytes(self, data, index):
        try:
            return _bytes_loader(self.image_size, self.channels, self.resize_mode)(tf.constant(data)).numpy()
        except tf.errors.InvalidArgumentError as error:
            raise ImageError(
                f"inputs[{index}] (bytes)", f"cannot decode image: {str(error).strip().splitlines()[0]}"
            ) from None

    # Export hooks --------------------------------------------------------------
    def serving_endpoints(self):
        """`serving_default` (encoded bytes), `pixels` (any size), `features` (model size)."""
        return image_endpoints(self)

    def serving_metadata(self):
        return {"preprocessing": image_settings(self)}

    # MixUp / CutMix: soft labels in training, one-hot labels everywhere else so
    # that the validation loss uses the same categorical cross-entropy.
    def make_dataset(self, data, training=False, batch_size=None, **kwargs):
        ds = super().make_dataset(data, training=training, batch_size=batch_size, **kwargs)
        if self.mixing is None:
            return ds
        if training:
            return apply_batch_mixing(ds, self.mixing, self.num_classes, seed=self.seed)
        num_classes = self.num_classes
        return ds.map(
            lambda x, y: (x, tf.one_hot(tf.cast(y, tf.int32), num_classes)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    def _loss(self):
        # Mixed batches carry soft labels.
        return keras.losses.CategoricalCrossentropy() if self.mixing else super()._loss()


_BYTES_LOADERS = {}


def _bytes_loader(image_size, channels, resize_mode):
    # One traced graph per setting: eager decode + resize costs milliseconds per image.
    key = (tuple(image_size), channels, resize_mode)
    if key not in _BYTES_LOADERS:
        _BYTES_LOADERS[key] = tf.function(
            lambda data: resize_image(decode_image(data, channels), image_size, resize_mode),
            input_signature=[tf.TensorSpec([], tf.string)],
        )
    return _BYTES_LOADERS[key]
