"""Image converter: encoded bytes or pixels -> fixed-size float32 pixels.

The in-graph functions (`decode_image`, `resize_image`, `convert_channels`) and
the `ImageConverter` layer built on them use only TensorFlow ops: safe inside
`tf.data` and inside an exported SavedModel that takes raw image bytes.
`load_image_file` runs them on one file at predict time, so that a file loaded
there matches the same file decoded in `tf.data` or by an export.

Two neighbours hold the rest: `image_exif` (the EXIF orientation that
`decode_image` applies) and `image_files` (the supported formats, `ImageError`,
and the file checks, `validate_image_file` among them). Their public names are
importable from here too.

Layout: images are channels-last, `(height, width, channels)` or
`(batch, height, width, channels)`, float32 with values in 0..255.
"""

import keras
import numpy as np
import tensorflow as tf

from mmcnn._keras_compat import accept_raw_inputs
from mmcnn.image.image_exif import EXIF_ORIENTATION_TAG, apply_orientation, exif_orientation
from mmcnn.image.image_files import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    IMAGE_FORMATS,
    ImageError,
    _decode_checked,
    _read_checked,
    check_image_header,
    supported_formats_text,
    unsupported_extension,
    validate_image_file,
)

__all__ = [
    # in-graph: this module's own
    "CHANNEL_AXIS",
    "CHANNEL_COUNTS",
    "HEIGHT_AXIS",
    "INPUT_FORMATS",
    "RESIZE_MODES",
    "WIDTH_AXIS",
    "ImageConverter",
    "convert_channels",
    "decode_image",
    "load_image_file",
    "resize_image",
    # from image_exif and image_files, importable from here as before the split
    "DEFAULT_MAX_PIXELS",
    "EXIF_ORIENTATION_TAG",
    "IMAGE_EXTENSIONS",
    "IMAGE_FORMATS",
    "ImageError",
    "apply_orientation",
    "check_image_header",
    "exif_orientation",
    "supported_formats_text",
    "unsupported_extension",
    "validate_image_file",
]


HEIGHT_AXIS = -3
WIDTH_AXIS = -2
CHANNEL_AXIS = -1

RESIZE_MODES = ("crop", "pad", "stretch")
INPUT_FORMATS = ("pixels", "bytes")
CHANNEL_COUNTS = (1, 3)

# ITU-R 601-2 luma, the weights PIL's `convert("L")` uses, so that a colour
# file converted here matches the same file converted by PIL.
_LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def _check_image_size(image_size):
    if (
        not isinstance(image_size, (tuple, list))
        or len(image_size) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in image_size)
    ):
        raise ValueError(
            "`image_size` must be a pair of positive integers (height, width). "
            f"Received: image_size={image_size!r}"
        )
    return (int(image_size[0]), int(image_size[1]))


def _check_channels(channels):
    if isinstance(channels, bool) or channels not in CHANNEL_COUNTS:
        raise ValueError(f"`channels` must be one of {CHANNEL_COUNTS}. Received: channels={channels!r}")
    return int(channels)


def _check_resize_mode(mode, name="mode"):
    if mode not in RESIZE_MODES:
        raise ValueError(f"`{name}` must be one of {RESIZE_MODES}. Received: {name}={mode!r}")
    return mode


def convert_channels(image, channels):
    """Converts float images with 1-4 channels to `channels` (1 or 3), in-graph.

    1 (grey) and 2 (grey + alpha) channels count as grey; 3 (RGB) and 4 (RGBA)
    as colour. Alpha (the last channel of 2 and 4) is composited over white, as a
    viewer shows the picture: `255 - (255 - value) * alpha / 255`, so a transparent
    pixel is white whatever colour the file stores under it, an opaque one is
    unchanged. Grey to RGB repeats the grey value; RGB to grey uses the ITU-R
    601-2 luma weights (as PIL).

    Args:
        image: float tensor `(..., height, width, c)`, `c` in 1..4 (may be
            unknown until run time, as after `tf.io.decode_image`).
        channels: 1 or 3.

    Returns:
        The same tensor with `channels` channels, same dtype.
    """
    channels = _check_channels(channels)
    static = image.shape[CHANNEL_AXIS]

    def over_white(values):
        """`values` composited over white by the image's alpha, where it has one (2 or 4 channels)."""
        if static in (1, 3):
            return values
        alpha = image[..., -1:]
        if static is None:  # a decoded file: its channel count is known at run time only
            has_alpha = tf.cast(tf.shape(image)[CHANNEL_AXIS] % 2 == 0, image.dtype)
            alpha = alpha * has_alpha + 255.0 * (1.0 - has_alpha)
        white = tf.cast(255.0, image.dtype)
        return white - (white - values) * (alpha / white)

    def grey():
        g = over_white(image[..., :1])
        return tf.concat([g, g, g], axis=CHANNEL_AXIS) if channels == 3 else g

    def colour():
        rgb = over_white(image[..., :3])
        if channels == 3:
            return rgb
        r, g, b = rgb[..., 0:1], rgb[..., 1:2], rgb[..., 2:3]
        w = _LUMA_WEIGHTS
        return (
            tf.cast(w[0], image.dtype) * r + tf.cast(w[1], image.dtype) * g + tf.cast(w[2], image.dtype) * b
        )

    if static is not None:
        if static not in (1, 2, 3, 4):
            raise ValueError(f"Images must have 1 to 4 channels. Received: shape={tuple(image.shape)}")
        out = grey() if static < 3 else colour()
    else:
        # Decoded files learn their channel count only at run time.
        out = tf.cond(tf.shape(image)[CHANNEL_AXIS] < 3, grey, colour)
    shape = out.shape.as_list()
    shape[CHANNEL_AXIS] = channels
    out.set_shape(shape)
    return out


def decode_image(data, channels=3):
    """Decodes one encoded image to upright float32 pixels, in-graph.

    PNG, JPEG, BMP, GIF (the first frame of an animation) and WebP (see
    `IMAGE_FORMATS`) are decoded by `tf.io.decode_image`. 16-bit PNGs are
    scaled to 8 bits. The EXIF orientation of a JPEG, PNG or WebP (phone
    photos) is applied (`exif_orientation`, `apply_orientation`), as PIL's
    `ImageOps.exif_transpose` does, so height and width may swap. Caveat: a
    colour-palette BMP decodes to its palette indices, not its colours (TF's
    BMP decoder ignores the palette); `validate_image_file` refuses such
    files. The file's own channel count is converted to `channels` with
    `convert_channels` (so a grey JPEG, an RGBA PNG or a palette GIF all give
    the same layout).

    Args:
        data: scalar `tf.string` tensor holding the encoded file's bytes.
        channels: 1 (grey) or 3 (RGB).

    Returns:
        float32 tensor `(height, width, channels)` with values 0..255.

    Example:
    >>> import io, numpy as np
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(np.zeros((4, 6), np.uint8)).save(buffer, "PNG")
    >>> decode_image(tf.constant(buffer.getvalue()), channels=3).shape
    TensorShape([4, 6, 3])
    """
    channels = _check_channels(channels)
    # channels=0 keeps the file's own count: TF's decoders refuse channels=1
    # for BMP and GIF, so the conversion is done here for every format alike.
    image = tf.io.decode_image(data, channels=0, dtype=tf.uint8, expand_animations=False)
    image.set_shape([None, None, None])
    image = convert_channels(tf.cast(image, tf.float32), channels)
    orientation = exif_orientation(data)
    # Upright files (nearly all) skip the copies that turning makes.
    return tf.cond(orientation > 1, lambda: apply_orientation(image, orientation), lambda: image)


def _crop_box(height, width, target_height, target_width):
    # Largest centred window of the target aspect ratio; integer maths with
    # round-half-up so that exact ratios give exact windows.
    crop_height = tf.minimum(height, (width * target_height + target_width // 2) // target_width)
    crop_width = tf.minimum(width, (height * target_width + target_height // 2) // target_height)
    crop_height = tf.maximum(crop_height, 1)
    crop_width = tf.maximum(crop_width, 1)
    return (height - crop_height) // 2, (width - crop_width) // 2, crop_height, crop_width


def _fit_size(height, width, target_height, target_width):
    # The size that fits inside the target with the image's aspect ratio.
    taller = height * target_width >= width * target_height
    fit_width = tf.clip_by_value((width * target_height + height // 2) // height, 1, target_width)
    fit_height = tf.clip_by_value((height * target_width + width // 2) // width, 1, target_height)
    return (tf.where(taller, target_height, fit_height), tf.where(taller, fit_width, target_width))


def resize_image(image, image_size, mode="crop"):
    """Resizes images to `image_size`, in-graph.

    Modes:
    - `"crop"`: keeps the aspect ratio, takes the largest centred window of
      the target aspect ratio, then resizes it (nothing is distorted, edges
      may be lost).
    - `"pad"`: keeps the aspect ratio, resizes to fit inside the target, and
      pads the rest with zeros, centred (nothing is lost or distorted).
    - `"stretch"`: plain resize (the aspect ratio may change).

    Bilinear with antialiasing: shrinking a photo to 32x32 without it aliases
    badly. An image that is already `image_size` comes back unchanged.

    Args:
        image: tensor `(height, width, channels)` or
            `(batch, height, width, channels)`, any real dtype.
        image_size: `(target_height, target_width)`.
        mode: `"crop"`, `"pad"` or `"stretch"`.

    Returns:
        float32 tensor `(target_height, target_width, channels)` or
        `(batch, target_height, target_width, channels)`.

    Example:
    >>> resize_image(tf.ones((40, 20, 3)), (32, 32), mode="pad").shape
    TensorShape([32, 32, 3])
    """
    target_height, target_width = _check_image_size(image_size)
    _check_resize_mode(mode)
    image = tf.convert_to_tensor(image)
    if image.shape.rank not in (3, 4):
        raise ValueError(
            "`image` must have rank 3 (height, width, channels) or 4 (batch, ...). "
            f"Received: shape={tuple(image.shape)}"
        )
    image = tf.cast(image, tf.float32)
    shape = tf.shape(image)
    height, width = shape[HEIGHT_AXIS], shape[WIDTH_AXIS]

    if mode == "crop":
        top, left, crop_height, crop_width = _crop_box(height, width, target_height, target_width)
        image = tf.image.crop_to_bounding_box(image, top, left, crop_height, crop_width)
        out = tf.image.resize(image, (target_height, target_width), antialias=True)
    elif mode == "pad":
        fit_height, fit_width = _fit_size(height, width, target_height, target_width)
        image = tf.image.resize(image, tf.stack([fit_height, fit_width]), antialias=True)
        out = tf.image.pad_to_bounding_box(
            image,
            (target_height - fit_height) // 2,
            (target_width - fit_width) // 2,
            target_height,
            target_width,
        )
    else:
        out = tf.image.resize(image, (target_height, target_width), antialias=True)
    static = out.shape.as_list()
    static[HEIGHT_AXIS], static[WIDTH_AXIS] = target_height, target_width
    out.set_shape(static)
    return out


@keras.saving.register_keras_serializable(package="mmcnn")
class ImageConverter(keras.layers.Layer):
    """Turns encoded image bytes or raw pixels into fixed-size float32 pixels.

    This is the image model's converter: it has no weights, uses only
    TensorFlow ops (safe in `tf.data` and in an exported graph), and is what
    an export puts in front of the model to accept raw image bytes. Values
    stay in 0..255 (scaling is the adapter's business).

    Args:
        image_size: `(height, width)` of the output.
        channels: 1 (grey) or 3 (RGB) output channels. Other channel counts
            are converted (grey is repeated, RGB uses luma weights, alpha is
            dropped).
        resize_mode: `"crop"` (aspect-preserving centre crop),
            `"pad"` (aspect-preserving zero padding) or `"stretch"`.
            See `resize_image`.
        input_format: `"pixels"` (numeric images) or `"bytes"` (encoded PNG,
            JPEG, BMP, GIF or WebP files as `tf.string`; EXIF orientation is
            applied, see `decode_image`).
        **kwargs: base layer arguments (`name`, ...).

    Input shape:
        `"pixels"`: `(batch, h, w, c)` or `(h, w, c)`, any real dtype, any
        `h, w`, `c` in 1..4.
        `"bytes"`: `(batch,)` or scalar `tf.string`.

    Output shape:
        `(batch, height, width, channels)` (or without `batch`), float32, 0..255.

    Example:
    >>> converter = ImageConverter(image_size=(32, 32), channels=1)
    >>> converter(np.zeros((2, 28, 40, 3), "uint8")).shape
    TensorShape([2, 32, 32, 1])
    """

    def __init__(self, image_size=(32, 32), channels=3, resize_mode="crop", input_format="pixels", **kwargs):
        super().__init__(**kwargs)
        self.image_size = _check_image_size(image_size)
        self.channels = _check_channels(channels)
        self.resize_mode = _check_resize_mode(resize_mode, "resize_mode")
        if input_format not in INPUT_FORMATS:
            raise ValueError(
                f"`input_format` must be one of {INPUT_FORMATS}. Received: input_format={input_format!r}"
            )
        self.input_format = input_format
        # Strings and integer pixels must reach `call` as they are.
        accept_raw_inputs(self)
        self.built = True

    def _convert_one(self, data):
        return resize_image(decode_image(data, self.channels), self.image_size, self.resize_mode)

    def call(self, inputs):
        inputs = tf.convert_to_tensor(inputs)
        if self.input_format == "bytes":
            if inputs.dtype != tf.string:
                raise ValueError(
                    "ImageConverter(input_format='bytes') expects tf.string inputs. "
                    f"Received: dtype={inputs.dtype.name}"
                )
            if inputs.shape.rank == 0:
                return self._convert_one(inputs)
            # Each file has its own size, so decode and resize one at a time.
            return tf.map_fn(
                self._convert_one,
                inputs,
                fn_output_signature=tf.TensorSpec((*self.image_size, self.channels), tf.float32),
            )
        if inputs.dtype == tf.string:
            raise ValueError(
                "ImageConverter(input_format='pixels') expects numeric images; "
                "use input_format='bytes' for encoded files."
            )
        if inputs.shape.rank not in (3, 4):
            raise ValueError(
                "ImageConverter(input_format='pixels') expects (batch, h, w, c) or "
                f"(h, w, c) images. Received: shape={tuple(inputs.shape)}"
            )
        # Channels first: converting to grey before resizing does less work.
        image = convert_channels(tf.cast(inputs, tf.float32), self.channels)
        return resize_image(image, self.image_size, self.resize_mode)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.input_format == "bytes":
            batch = input_shape[:1]
        else:
            batch = input_shape[:-3]
        return (*batch, *self.image_size, self.channels)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": self.image_size,
                "channels": self.channels,
                "resize_mode": self.resize_mode,
                "input_format": self.input_format,
            }
        )
        return config


_LOADERS = {}


def bytes_loader(image_size, channels, resize_mode):
    """A `tf.function`: one encoded image (a scalar string) -> float32 `(height, width, channels)`.

    One traced graph per setting, shared by every caller (`load_image_file`,
    `ImageClassifier.preprocess` on bytes): run eagerly, the dozen small ops of
    decode + resize cost several milliseconds per image in dispatch alone."""
    image_size = tuple(image_size)
    key = (image_size, channels, resize_mode)
    if key not in _LOADERS:
        _LOADERS[key] = tf.function(
            lambda data: resize_image(decode_image(data, channels), image_size, resize_mode),
            input_signature=[tf.TensorSpec([], tf.string)],
        )
    return _LOADERS[key]


def load_image_file(path, image_size=(32, 32), channels=3, resize_mode="crop", max_pixels=DEFAULT_MAX_PIXELS):
    """Loads one image file as the model's input, with the in-graph functions.

    Uses `decode_image` and `resize_image`, so a file loaded here matches the
    same file decoded by `ImageConverter(input_format="bytes")` or in
    `tf.data` (EXIF orientation included). The extension must be one of
    `IMAGE_EXTENSIONS`, as for training files.

    Args:
        path: the image file.
        image_size: `(height, width)` of the result.
        channels: 1 or 3.
        resize_mode: `"crop"`, `"pad"` or `"stretch"`.
        max_pixels: refuse headers declaring more pixels than this.

    Returns:
        numpy float32 array `(height, width, channels)`, values 0..255.

    Raises:
        ImageError: naming the path, if the file is missing, empty, not an
            image, not a supported format, too large or cannot be decoded.
    """
    image_size = _check_image_size(image_size)
    channels = _check_channels(channels)
    _check_resize_mode(resize_mode, "resize_mode")
    data, fmt = _read_checked(path, max_pixels)
    return _decode_checked(path, data, fmt, bytes_loader(image_size, channels, resize_mode)).numpy()
