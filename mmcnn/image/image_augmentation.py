"""Image augmentation policies built from Keras's own preprocessing layers.

`augmentation_pipeline(policy)` returns an `ImageAugmentation` layer: a
registered layer that runs Keras's own preprocessing layers. It is random with
`training=True` and the exact identity otherwise, and a model holding it saves
in a `.keras` file and loads back without `custom_objects`.

`batch_mixing` / `apply_batch_mixing` set up MixUp and CutMix, which mix
pairs of examples and their labels; they act on whole batches of
`(images, one-hot labels)` and therefore belong in the `tf.data` pipeline,
not in the model.

Magnitudes are chosen for small (28-32 px) images such as Fashion-MNIST or
CIFAR: at 32 px a translation factor of 0.1 is about 3 pixels, a rotation
factor of 0.03 about 11 degrees. Horizontal flips are on in every policy but
`none`: clothes and most objects keep their class when mirrored; digits and
text do not (use `none` or your own pipeline there).

Layout: `(batch, height, width, channels)` or `(height, width, channels)`,
float values in 0..255.
"""

import keras
import tensorflow as tf

POLICIES = ("none", "flip", "light", "standard", "strong")
MIXING_KINDS = ("mixup", "cutmix")
FILL_MODES = ("reflect", "wrap", "constant", "nearest")

# Pixel range the converter produces; contrast and erasing clip to it.
VALUE_RANGE = (0, 255)


def _policy_layers(policy, seeds, fill_mode, dtype):
    """The layer list for one policy; `seeds` yields one seed per layer, `dtype` is their dtype policy."""
    if policy == "none":
        return []
    if policy == "flip":
        return [keras.layers.RandomFlip("horizontal", seed=next(seeds), dtype=dtype)]
    if policy == "light":
        return [
            keras.layers.RandomFlip("horizontal", seed=next(seeds), dtype=dtype),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode=fill_mode, seed=next(seeds), dtype=dtype),
        ]
    if policy == "standard":
        return [
            keras.layers.RandomFlip("horizontal", seed=next(seeds), dtype=dtype),
            keras.layers.RandomRotation(0.03, fill_mode=fill_mode, seed=next(seeds), dtype=dtype),
            keras.layers.RandomZoom(0.1, fill_mode=fill_mode, seed=next(seeds), dtype=dtype),
            keras.layers.RandomTranslation(0.1, 0.1, fill_mode=fill_mode, seed=next(seeds), dtype=dtype),
            keras.layers.RandomContrast(0.2, value_range=VALUE_RANGE, seed=next(seeds), dtype=dtype),
        ]
    # "strong"
    return [
        keras.layers.RandomFlip("horizontal", seed=next(seeds), dtype=dtype),
        keras.layers.RandomRotation(0.05, fill_mode=fill_mode, seed=next(seeds), dtype=dtype),
        keras.layers.RandomZoom(0.2, fill_mode=fill_mode, seed=next(seeds), dtype=dtype),
        keras.layers.RandomTranslation(0.15, 0.15, fill_mode=fill_mode, seed=next(seeds), dtype=dtype),
        keras.layers.RandomContrast(0.4, value_range=VALUE_RANGE, seed=next(seeds), dtype=dtype),
        # (0.5, 0.5): erase exactly half of the images; a single float would
        # draw the probability itself from [0, factor].
        keras.layers.RandomErasing(
            factor=(0.5, 0.5), scale=(0.02, 0.25), value_range=VALUE_RANGE, seed=next(seeds), dtype=dtype
        ),
    ]


def _check_policy_args(policy, seed, fill_mode):
    if policy not in POLICIES:
        raise ValueError(
            f"Unknown augmentation policy {policy!r}: `policy` must be one of "
            f"{POLICIES}. Received: policy={policy!r}"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"`seed` must be an integer or None. Received: seed={seed!r}")
    if fill_mode not in FILL_MODES:
        raise ValueError(f"`fill_mode` must be one of {FILL_MODES}. Received: fill_mode={fill_mode!r}")


@keras.saving.register_keras_serializable(package="mmcnn")
class ImageAugmentation(keras.layers.Layer):
    """A named augmentation policy made of Keras's own preprocessing layers.

    Policies (for 28-32 px images; factors are fractions of the image size):
    - `"none"`: the identity.
    - `"flip"`: horizontal flip only: keeps centred images (Fashion-MNIST) centred.
    - `"light"`: horizontal flip, translation up to 10% (about 3 px at 32 px).
    - `"standard"`: flip, rotation up to about 11 degrees, zoom up to 10%,
      translation up to 10%, contrast up to 20%.
    - `"strong"`: flip, rotation up to about 18 degrees, zoom up to 20%,
      translation up to 15%, contrast up to 40%, and random erasing (one
      patch of 2-25% of the area, filled with noise, on half the images).

    Random only when `training` is true: `fit` passes `training=True`;
    `predict`, `evaluate`, exported models and a plain `layer(x)` or
    `model(x)` get the exact identity. (Keras's own preprocessing layers
    default to `training=True` when called without it; this layer defaults
    to `False` and passes its value down, so that a forgotten `training`
    argument never augments a prediction.)

    The config holds only the arguments below; the Keras layers are rebuilt
    from the policy name, so the saved config says which policy was used.

    Args:
        policy: one of `"none"`, `"flip"`, `"light"`, `"standard"`, `"strong"`.
        seed: integer seed; layer `i` gets `seed + i` so that the layers draw
            independent numbers. `None` for unseeded randomness.
        fill_mode: how rotation, zoom and translation fill the pixels they
            uncover: `"reflect"` (Keras's default, good for photos),
            `"constant"` (zeros: good for dark backgrounds such as
            Fashion-MNIST), `"wrap"` or `"nearest"`.
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            (`"float16"`, `"mixed_bfloat16"`, ...) is passed on to every Keras
            preprocessing layer.

    Input shape:
        `(batch, height, width, channels)` or `(height, width, channels)`,
        values 0..255, any real dtype.

    Output shape:
        Same as the input, in the compute dtype of the policy (float32 by
        default, bfloat16 under `"mixed_bfloat16"`).

    Example:
    >>> import numpy as np
    >>> augment = ImageAugmentation("light", seed=1)
    >>> images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 1)).astype("float32")
    >>> bool(np.array_equal(augment(images), images))
    True
    >>> tuple(augment(images, training=True).shape)
    (2, 32, 32, 1)
    """

    def __init__(self, policy="standard", seed=0, fill_mode="reflect", **kwargs):
        super().__init__(**kwargs)
        _check_policy_args(policy, seed, fill_mode)
        self.policy = policy
        self.seed = seed
        self.fill_mode = fill_mode

        def seeds():
            i = 0
            while True:
                yield None if seed is None else seed + i
                i += 1

        self.augmentations = _policy_layers(policy, seeds(), fill_mode, self.dtype_policy)
        self.built = True

    def build(self, input_shape):
        # The Keras layers hold no weights; building them only marks them built.
        for layer in self.augmentations:
            layer.build(input_shape)

    def call(self, inputs, training=False):
        x = keras.ops.cast(inputs, self.compute_dtype)
        for layer in self.augmentations:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"policy": self.policy, "seed": self.seed, "fill_mode": self.fill_mode})
        return config


def augmentation_pipeline(policy="standard", seed=0, image_size=None, fill_mode="reflect"):
    """Returns the augmentation layer for a named policy (see `ImageAugmentation`).

    Args:
        policy: one of `"none"`, `"flip"`, `"light"`, `"standard"`, `"strong"`.
        seed: integer seed, or `None`.
        image_size: optional `(height, width)`, only validated: every factor
            is a fraction of the image size, so the same layer serves any size
            (it is accepted so that callers can pass the model's size
            uniformly).
        fill_mode: see `ImageAugmentation`.

    Returns:
        An `ImageAugmentation` layer: random with `training=True`, the exact
        identity otherwise.

    Raises:
        ValueError: for an unknown policy (the message lists the valid ones)
            or an invalid argument.
    """
    if image_size is not None and (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in image_size)
    ):
        raise ValueError(
            "`image_size` must be None or a pair of positive integers "
            f"(height, width). Received: image_size={image_size!r}"
        )
    return ImageAugmentation(policy=policy, seed=seed, fill_mode=fill_mode, name=f"augmentation_{policy}")


def batch_mixing(kind="mixup", strength=None, seed=0):
    """Returns Keras's MixUp or CutMix layer, for batches of images and one-hot labels.

    Both layers take a dict `{"images": (batch, h, w, c), "labels":
    (batch, num_classes) float}` and return the same dict with mixed images
    and soft labels (each row still sums to 1). They mix examples within the
    batch, so call them on batches in `tf.data` (see `apply_batch_mixing`),
    not inside the model. Note that `MixUp` mixes whenever called, whatever
    the `training` flag says.

    Args:
        kind: `"mixup"` (blend whole images) or `"cutmix"` (paste a patch of
            another image; labels mixed by the patch area).
        strength: MixUp's `alpha` (default 0.2: Beta(alpha, alpha) mixing
            weights, mostly near 0 or 1) or CutMix's `factor` (default 1.0),
            a number in [0, 1].
        seed: integer seed, or `None`.

    Returns:
        A `keras.layers.MixUp` or `keras.layers.CutMix`.

    Example:
    >>> import numpy as np
    >>> mix = batch_mixing("mixup", seed=0)
    >>> out = mix({"images": np.zeros((4, 8, 8, 3), "float32"),
    ...            "labels": np.eye(4, dtype="float32")})
    >>> np.allclose(np.sum(out["labels"], axis=-1), 1.0)
    True
    """
    if kind not in MIXING_KINDS:
        raise ValueError(f"`kind` must be one of {MIXING_KINDS}. Received: kind={kind!r}")
    if strength is not None and (
        isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 1
    ):
        raise ValueError(f"`strength` must be a number in (0, 1] or None. Received: strength={strength!r}")
    if kind == "mixup":
        return keras.layers.MixUp(alpha=0.2 if strength is None else float(strength), seed=seed)
    return keras.layers.CutMix(factor=1.0 if strength is None else float(strength), seed=seed)


def apply_batch_mixing(dataset, kind, num_classes, seed=0, strength=None):
    """Maps a batched `(images, integer labels)` dataset to `(images, soft labels)`.

    Labels become one-hot float32 `(batch, num_classes)` and are then mixed
    with the images by `batch_mixing(kind, strength, seed)`. Train with a loss
    that takes probabilities (`categorical_crossentropy`), not the sparse one.

    Args:
        dataset: a `tf.data.Dataset` of batched `(images, labels)`: images
            `(batch, h, w, c)`, labels integer `(batch,)` or `(batch, 1)`.
        kind: `"mixup"` or `"cutmix"`.
        num_classes: number of classes (one-hot width).
        seed: integer seed or `None`.
        strength: see `batch_mixing`.

    Returns:
        A `tf.data.Dataset` of `(images float32, labels float32 (batch, num_classes))`.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")
    layer = batch_mixing(kind, strength=strength, seed=seed)

    def mix(images, labels):
        labels = tf.one_hot(tf.reshape(tf.cast(labels, tf.int32), [-1]), num_classes, dtype=tf.float32)
        out = layer({"images": tf.cast(images, tf.float32), "labels": labels}, training=True)
        return out["images"], out["labels"]

    return dataset.map(mix, num_parallel_calls=tf.data.AUTOTUNE)
