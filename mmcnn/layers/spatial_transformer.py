"""The spatial transformer: a learnt affine warp of the input (Jaderberg et al., 2015)."""

import keras
import numpy as np
import tensorflow as tf

from mmcnn.layers import validation as v
from mmcnn.layers.conv_block import ConvBlock

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def affine_grid(theta, output_size):
    """Source coordinates, in pixels, of every output pixel under affine transforms.

    Coordinates are normalised to [-1, 1] across each image (-1 = the centre of
    the first pixel, 1 = the centre of the last); `theta` maps an output point
    `(x, y, 1)` (x along width, y along height) to the source point
    `(theta[0:3] . (x, y, 1), theta[3:6] . (x, y, 1))`.

    Args:
        theta: `(batch, 6)` affine parameters.
        output_size: `(height, width)` of the output grid.

    Returns:
        `(x, y)`: two `(batch, height * width)` tensors of source coordinates,
        normalised to [-1, 1].
    """
    height, width = output_size
    ys, xs = tf.meshgrid(tf.linspace(-1.0, 1.0, height), tf.linspace(-1.0, 1.0, width), indexing="ij")
    grid = tf.stack([tf.reshape(xs, [-1]), tf.reshape(ys, [-1]), tf.ones([height * width])])  # (3, hw)
    theta = tf.reshape(tf.cast(theta, tf.float32), (-1, 2, 3))
    source = tf.einsum("bij,jp->bip", theta, grid)
    return source[:, 0], source[:, 1]


def bilinear_sample(images, x, y):
    """Samples `images` at fractional pixel positions; points outside read zeros.

    Differentiable with respect to `x` and `y` (and the images), which is what
    lets the localisation network learn.

    Args:
        images: `(batch, height, width, channels)`.
        x, y: `(batch, points)` positions normalised to [-1, 1] (see `affine_grid`).

    Returns:
        `(batch, points, channels)`.
    """
    images = tf.convert_to_tensor(images)
    height, width = tf.shape(images)[1], tf.shape(images)[2]
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    px = (x + 1.0) * (w - 1.0) / 2.0
    py = (y + 1.0) * (h - 1.0) / 2.0
    x0, y0 = tf.floor(px), tf.floor(py)
    flat = tf.reshape(images, (tf.shape(images)[0], -1, tf.shape(images)[3]))
    out = 0.0
    for dx in (0.0, 1.0):
        for dy in (0.0, 1.0):
            cx, cy = x0 + dx, y0 + dy
            weight = (1.0 - tf.abs(px - cx)) * (1.0 - tf.abs(py - cy))
            inside = (cx >= 0) & (cx <= w - 1) & (cy >= 0) & (cy <= h - 1)
            index = tf.cast(tf.clip_by_value(cy, 0, h - 1), tf.int32) * width + tf.cast(
                tf.clip_by_value(cx, 0, w - 1), tf.int32
            )
            values = tf.gather(flat, index, batch_dims=1)
            weight = tf.where(inside, weight, 0.0)
            out += values * tf.cast(weight, images.dtype)[..., None]
    return out


def affine_warp(images, theta, output_size=None):
    """Warps a batch of images by per-image affine transforms with bilinear sampling.

    Args:
        images: `(batch, height, width, channels)`.
        theta: `(batch, 6)` parameters (see `affine_grid`); `IDENTITY` leaves images unchanged.
        output_size: `(height, width)` of the result; default the input's.

    Returns:
        `(batch, out_height, out_width, channels)`.
    """
    images = tf.convert_to_tensor(images)
    if output_size is None:
        output_size = (images.shape[1], images.shape[2])
    x, y = affine_grid(theta, output_size)
    sampled = bilinear_sample(images, x, y)
    return tf.reshape(sampled, (-1, output_size[0], output_size[1], images.shape[-1]))


@keras.saving.register_keras_serializable(package="mmcnn")
class SpatialTransformer(keras.layers.Layer):
    """A localisation network predicts an affine transform; a bilinear sampler warps the input with it.

    The localisation network is `ConvBlock`s with max pooling, then a dense
    layer and a final dense layer to the 6 affine parameters. That last layer
    starts with a zero kernel and the identity as bias, so that an untrained
    transformer passes its input through unchanged and learning starts from
    the plain classifier (Jaderberg et al., 2015).

    Args:
        filters: feature maps of each localisation convolution block (each
            followed by 2x2 max pooling).
        units: width of the localisation network's hidden dense layer.
        kernel_size: window of the localisation convolutions.
        output_size: `(height, width)` of the warped output; default the input's.
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            (`"float16"`, `"mixed_bfloat16"`, ...) is passed on to every sublayer.

    Input shape:
        `(batch, height, width, channels)` with a fixed height and width.

    Output shape:
        `(batch, out_height, out_width, channels)`.

    Example:
    >>> import numpy as np
    >>> images = np.random.default_rng(0).uniform(size=(2, 16, 16, 1)).astype("float32")
    >>> st = SpatialTransformer(filters=(4,), units=8)
    >>> bool(np.allclose(st(images), images, atol=1e-5))  # the identity until trained
    True
    """

    def __init__(self, filters=(16, 32), units=32, kernel_size=5, output_size=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(filters, int):
            filters = (filters,)
        self.filters = tuple(v.check_positive_int("filters", f) for f in filters)
        if not self.filters:
            raise ValueError(f"`filters` must list at least one block. Received: filters={filters!r}")
        self.units = v.check_positive_int("units", units)
        self.kernel_size = v.check_positive_int("kernel_size", kernel_size)
        self.output_size = None if output_size is None else v.to_tuple("output_size", output_size, 2)
        policy = self.dtype_policy
        self.localization = [
            ConvBlock(f, kernel_size, rank=2, pooling="max", name=f"loc_conv{i + 1}", dtype=policy)
            for i, f in enumerate(self.filters)
        ]
        self.flatten = keras.layers.Flatten(name="loc_flatten", dtype=policy)
        self.hidden = keras.layers.Dense(units, activation="relu", name="loc_hidden", dtype=policy)
        self.theta = keras.layers.Dense(
            6,
            kernel_initializer="zeros",
            bias_initializer=keras.initializers.Constant(np.array(IDENTITY, "float32")),
            name="theta",
            dtype=policy,
        )

    def build(self, input_shape):
        if input_shape[1] is None or input_shape[2] is None:
            raise ValueError(
                f"SpatialTransformer needs a fixed height and width. Received: input_shape={input_shape}"
            )
        shape = input_shape
        for block in self.localization:
            block.build(shape)
            shape = block.compute_output_shape(shape)
        shape = self.flatten.compute_output_shape(shape)
        self.hidden.build(shape)
        self.theta.build((shape[0], self.units))

    def transform(self, inputs, training=None):
        """The `(batch, 6)` affine parameters the localisation network predicts for `inputs`."""
        x = inputs
        for block in self.localization:
            x = block(x, training=training)
        return keras.ops.cast(self.theta(self.hidden(self.flatten(x))), "float32")

    def call(self, inputs, training=None):
        theta = self.transform(inputs, training=training)
        size = self.output_size or (inputs.shape[1], inputs.shape[2])
        return affine_warp(inputs, theta, size)

    def compute_output_shape(self, input_shape):
        size = self.output_size or (input_shape[1], input_shape[2])
        return (input_shape[0], *size, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "units": self.units,
                "kernel_size": self.kernel_size,
                "output_size": self.output_size,
            }
        )
        return config
