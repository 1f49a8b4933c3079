"""Image converter: encoded bytes or pixels -> fixed-size float32 pixels.

Two halves that must agree:

- in-graph functions (`decode_image`, `resize_image`) and the `ImageConverter`
  layer built on them. Only TensorFlow ops: safe inside `tf.data` and inside an
  exported SavedModel that takes raw image bytes.
- Python helpers for files (`validate_image_file`, `load_image_file`) that run
  before training or at predict time. `validate_image_file` decodes each file
  with the very decoder `tf.data` will use, so that a file it accepts cannot
  stop a training run later.

Layout: images are channels-last, `(height, width, channels)` or
`(batch, height, width, channels)`, float32 with values in 0..255.
"""

import io
import os
import warnings

import keras
import numpy as np
import tensorflow as tf

HEIGHT_AXIS = -3
WIDTH_AXIS = -2
CHANNEL_AXIS = -1

RESIZE_MODES = ("crop", "pad", "stretch")
INPUT_FORMATS = ("pixels", "bytes")
CHANNEL_COUNTS = (1, 3)

# ITU-R 601-2 luma, the weights PIL's `convert("L")` uses, so that a colour
# file converted here matches the same file converted by PIL.
_LUMA_WEIGHTS = (0.299, 0.587, 0.114)

# The one list of image formats mmcnn reads, for folder scanning, manifests and
# `predict` alike: those `tf.io.decode_image` decodes (TensorFlow 2.21), so that
# training, `predict` and an export's bytes signature agree. TIFF and HEIC are not
# among them (no in-graph decoder); they are refused, not half-supported.
IMAGE_FORMATS = {
    ".bmp": "BMP",
    ".gif": "GIF",
    ".jpeg": "JPEG",
    ".jpg": "JPEG",
    ".png": "PNG",
    ".webp": "WEBP",
}
IMAGE_EXTENSIONS = tuple(sorted(IMAGE_FORMATS))
# PIL's names for what TF decodes (MPO: a phone's multi-picture JPEG).
_DECODABLE_PIL_FORMATS = ("BMP", "GIF", "JPEG", "MPO", "PNG", "WEBP")

# 64 megapixels: far above any training image, far below what would exhaust
# memory (a 64 MP RGB image is 192 MB as uint8, 768 MB as float32).
DEFAULT_MAX_PIXELS = 64_000_000


class ImageError(ValueError):
    """A file that cannot be used as an image; the message names the file.

    Attributes:
        path: the offending file, as given.
        reason: why it was refused, without the path.
    """

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


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
    as colour. Alpha is dropped (not composited over a background). Grey to RGB
    repeats the grey value; RGB to grey uses the ITU-R 601-2 luma weights (as PIL).

    Args:
        image: float tensor `(..., height, width, c)`, `c` in 1..4 (may be
            unknown until run time, as after `tf.io.decode_image`).
        channels: 1 or 3.

    Returns:
        The same tensor with `channels` channels, same dtype.
    """
    channels = _check_channels(channels)
    static = image.shape[CHANNEL_AXIS]

    def grey():
        g = image[..., :1]
        return tf.concat([g, g, g], axis=CHANNEL_AXIS) if channels == 3 else g

    def colour():
        rgb = image[..., :3]
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


# --- EXIF orientation, in-graph ------------------------------------------------
#
# Cameras and phones store pixels as the sensor saw them and record how to turn
# them upright in the EXIF orientation tag (0x0112). TensorFlow's decoders ignore
# it, so it is read here with string ops (only TF ops: safe inside tf.data and an
# exported graph). Absent or malformed EXIF means orientation 1, never an error.
# Every op costs about half a microsecond per image in tf.data, so the work is cut
# to what the file needs: one format's search, then the parsing only where an EXIF
# block was found.

EXIF_ORIENTATION_TAG = 0x0112

# JPEG's APP1 and PNG's eXIf sit at the start of the file: searched for in the first
# 64 KiB. WebP writers put the EXIF chunk after the image data: searched for in the
# last 256 KiB (and only when the VP8X header says there is one).
_EXIF_SEARCH_LIMIT = 65536
_EXIF_WEBP_TAIL = 262144
# IFD0 entries looked at; the orientation tag is among the first few in practice.
_EXIF_MAX_ENTRIES = 64
_NONE = -1


def _bytes_at(data, offset, count):
    """`count` bytes of `data` from `offset` as int64, zero-padded past the end."""
    size = tf.cast(tf.strings.length(data), tf.int64)
    offset = tf.clip_by_value(offset, 0, size)
    chunk = tf.strings.substr(data, offset, tf.constant(count, tf.int64))
    return tf.cast(tf.io.decode_raw(chunk, tf.uint8, fixed_length=count), tf.int64)


def _matches(b, text):
    return tf.reduce_all(tf.equal(b, tf.constant(list(text), tf.int64)))


def _find(data, pattern, start, length):
    """Offset of the first `pattern` in `data[start:start + length]`, or -1 (one op, no loop)."""
    size = tf.cast(tf.strings.length(data), tf.int64)
    start = tf.clip_by_value(start, 0, size)
    # The raw op: `tf.strings.split` wraps it in a dozen ragged-tensor ops.
    parts = tf.raw_ops.StringSplitV2(
        input=tf.reshape(tf.strings.substr(data, start, length), [1]), sep=pattern, maxsplit=1
    ).values
    found = start + tf.cast(tf.strings.length(parts[0]), tf.int64)
    return tf.where(tf.size(parts) > 1, found, tf.constant(_NONE, tf.int64))


def _exif_tiff_start(data):
    """Offset of the TIFF header of a JPEG's, PNG's or WebP's EXIF block, or -1."""
    size = tf.cast(tf.strings.length(data), tf.int64)
    magic = _bytes_at(data, tf.constant(0, tf.int64), 21)
    none = tf.constant(_NONE, tf.int64)
    zero = tf.constant(0, tf.int64)

    def jpeg():
        # FF E1, a two-byte length, "Exif\0\0", the TIFF header; the first "Exif\0\0"
        # must sit right after the APP1 marker, or there is none.
        at = _find(data, b"Exif\x00\x00", zero, _EXIF_SEARCH_LIMIT)
        marker = _bytes_at(data, at - 4, 4)
        # The segment's length must at least hold the signature and a TIFF header.
        length = marker[2] * 256 + marker[3]
        is_app1 = (at >= 6) & _matches(marker[:2], b"\xff\xe1") & (length >= 16)
        return tf.where(is_app1, at + 6, none)

    def png():
        # An eXIf chunk: length, type, then the TIFF header itself. PIL honours it
        # before or after the image data; so does this, within the first 64 KiB.
        at = _find(data, b"eXIf", zero, _EXIF_SEARCH_LIMIT)
        return tf.where(at >= 12, at + 4, none)

    def webp():
        # VP8X flags bit 3 says an EXIF chunk exists: "EXIF", a little-endian size,
        # then the TIFF header (some writers keep JPEG's "Exif\0\0" in front).
        has_exif = tf.bitwise.bitwise_and(magic[20], 0x08) > 0
        at = _find(data, b"EXIF", tf.maximum(size - _EXIF_WEBP_TAIL, 12), _EXIF_WEBP_TAIL)
        at = tf.where(has_exif, at, none)
        prefix = _bytes_at(data, at + 8, 6)
        skip = tf.where(_matches(prefix, b"Exif\x00\x00"), tf.constant(6, tf.int64), zero)
        return tf.where(at >= 0, at + 8 + skip, none)

    is_jpeg = _matches(magic[:2], b"\xff\xd8")
    is_png = _matches(magic[:8], b"\x89PNG\r\n\x1a\n")
    is_webp = _matches(magic[:4], b"RIFF") & _matches(magic[8:16], b"WEBPVP8X")
    # One branch runs per file (a branch costs a few microseconds in tf.data; the
    # ops of all three together would cost far more).
    index = tf.where(is_jpeg, 0, tf.where(is_png, 1, tf.where(is_webp, 2, 3)))
    return tf.switch_case(index, [jpeg, png, webp, lambda: none])


def _tiff_orientation(data, tiff):
    """The orientation value in the IFD0 of the TIFF header at `tiff`, or 1."""
    head = _bytes_at(data, tiff, 8)
    little, big = _matches(head[:4], b"II*\x00"), _matches(head[:4], b"MM\x00*")

    def uint(b):
        # Unsigned integers from bytes along the last axis, in the header's byte order.
        weights = tf.constant([256**i for i in range(b.shape[-1])], tf.int64)
        weights = tf.where(big, tf.reverse(weights, [0]), weights)
        return tf.reduce_sum(b * weights, axis=-1)

    ifd = tiff + uint(head[4:8])
    count = uint(_bytes_at(data, ifd, 2))
    entries = tf.reshape(_bytes_at(data, ifd + 2, 12 * _EXIF_MAX_ENTRIES), (_EXIF_MAX_ENTRIES, 12))
    # Per entry: tag (2 bytes), type (2), count (4), value (4, left-aligned).
    tags, types = uint(entries[:, 0:2]), uint(entries[:, 2:4])
    # A SHORT (type 3) is the first two value bytes; a LONG (type 4) all four.
    zeros = tf.zeros_like(types)
    values = tf.where(types == 3, uint(entries[:, 8:10]), tf.where(types == 4, uint(entries[:, 8:12]), zeros))
    valid = tf.range(_EXIF_MAX_ENTRIES, dtype=tf.int64) < count
    hits = valid & (tags == EXIF_ORIENTATION_TAG) & (values >= 1) & (values <= 8)
    first = tf.argmax(tf.cast(hits, tf.int32), output_type=tf.int64)
    found = (little | big) & (tiff >= 0) & tf.reduce_any(hits)
    return tf.where(found, tf.gather(values, first), tf.constant(1, tf.int64))


def exif_orientation(data):
    """The EXIF orientation (1-8) of an encoded image, in-graph.

    Reads tag 0x0112 from the EXIF block of a JPEG (APP1 segment, in the first
    64 KiB), PNG (`eXIf` chunk, in the first 64 KiB) or WebP (`EXIF` chunk),
    in either byte order, with string ops only (no `py_function`). Any other
    format, no EXIF, or EXIF that is malformed or holds a value outside 1-8
    gives 1 (upright); it never raises.

    Args:
        data: scalar `tf.string` tensor holding the encoded file's bytes.

    Returns:
        int32 scalar tensor in 1..8.

    Example:
    >>> import io, numpy as np
    >>> from PIL import Image
    >>> exif = Image.Exif()
    >>> exif[0x0112] = 6
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(np.zeros((4, 6), np.uint8)).save(buffer, "JPEG", exif=exif)
    >>> int(exif_orientation(tf.constant(buffer.getvalue())))
    6
    """
    data = tf.convert_to_tensor(data, tf.string)
    tiff = _exif_tiff_start(data)
    # Most files carry no EXIF block: they skip the parsing.
    return tf.cond(
        tiff >= 0,
        lambda: tf.cast(_tiff_orientation(data, tiff), tf.int32),
        lambda: tf.constant(1, tf.int32),
    )


def apply_orientation(image, orientation):
    """Turns an image upright according to an EXIF orientation (1-8), in-graph.

    The same transposes as PIL's `ImageOps.exif_transpose`: 2 mirror, 3 rotate
    180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90
    counter-clockwise. Orientations 5-8 swap height and width.

    Args:
        image: tensor `(height, width, channels)`.
        orientation: int scalar tensor; values outside 2..8 leave the image as it is.

    Returns:
        The turned image `(height', width', channels)`, same dtype.
    """
    image = tf.convert_to_tensor(image)
    o = tf.cast(orientation, tf.int32)
    o = tf.where((o >= 1) & (o <= 8), o, 1)
    # Every orientation is an optional transpose followed by optional flips; a
    # data-dependent `perm` and list of axes avoid a branch per orientation.
    swap = o >= 5
    flip_rows = (o == 3) | (o == 4) | (o == 7) | (o == 8)
    flip_columns = (o == 2) | (o == 3) | (o == 6) | (o == 7)
    image = tf.transpose(image, tf.where(swap, [1, 0, 2], [0, 1, 2]))
    axes = tf.boolean_mask(tf.constant([0, 1]), tf.stack([flip_rows, flip_columns]))
    out = tf.reverse(image, axes)
    out.set_shape([None, None, image.shape[-1]])
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
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
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


def _loader(image_size, channels, resize_mode):
    # One traced graph per setting: run eagerly, the dozen small ops of
    # decode + resize cost several milliseconds per file in dispatch alone.
    key = (image_size, channels, resize_mode)
    if key not in _LOADERS:
        _LOADERS[key] = tf.function(
            lambda data: resize_image(decode_image(data, channels), image_size, resize_mode),
            input_signature=[tf.TensorSpec([], tf.string)],
        )
    return _LOADERS[key]


def _tf_error_text(error):
    # TF prefixes its messages with `{{function_node ...}}` and op names;
    # keep the decoder's own words.
    text = str(getattr(error, "message", error)).strip().splitlines()[0]
    if "}}" in text:
        text = text.rsplit("}}", 1)[1]
    return text.replace("[Op:DecodeImage]", "").strip()


def supported_formats_text():
    """`".bmp, .gif, .jpeg, .jpg, .png, .webp"`: the supported extensions, for messages."""
    return ", ".join(IMAGE_EXTENSIONS)


def unsupported_extension(path):
    """Why `path` is not read as an image, from its extension; None when it is supported.

    Example:
    >>> unsupported_extension("IMG_0001.HEIC")
    'not a supported image format (.heic); supported: .bmp, .gif, .jpeg, .jpg, .png, .webp'
    >>> unsupported_extension("cat.JPG") is None
    True
    """
    extension = os.path.splitext(os.fspath(path))[1].lower()
    if extension in IMAGE_FORMATS:
        return None
    shown = extension or "no extension"
    return f"not a supported image format ({shown}); supported: {supported_formats_text()}"


def _read_checked(path, max_pixels):
    """Reads a file's bytes after the cheap header checks; returns (bytes, PIL format)."""
    from PIL import Image, UnidentifiedImageError

    if not os.path.exists(path):
        raise ImageError(path, "file does not exist")
    if not os.path.isfile(path):
        raise ImageError(path, "not a regular file")
    reason = unsupported_extension(path)
    if reason is not None:
        raise ImageError(path, reason)
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise ImageError(path, "file is empty (zero bytes)")
    try:
        with warnings.catch_warnings():
            # The size check below is ours; PIL's own warning would be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                width, height = image.size
                fmt, mode = image.format, image.mode
    except Image.DecompressionBombError as e:
        raise ImageError(
            path, f"header declares an image too large to decode (possible decompression bomb): {e}"
        ) from None
    except UnidentifiedImageError:
        raise ImageError(path, "not an image (content is not a known image format)") from None
    except Exception as e:  # a damaged header raises whatever its plugin raises
        raise ImageError(path, f"unreadable image header: {type(e).__name__}: {e}") from None
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            path,
            f"header declares {width}x{height} = {width * height} pixels, more "
            f"than max_pixels={max_pixels} (possible decompression bomb); "
            "not decoded",
        )
    if width < 1 or height < 1:
        raise ImageError(path, f"header declares an empty image ({width}x{height})")
    if fmt not in _DECODABLE_PIL_FORMATS:
        # A TIFF renamed .png, say: the name passed, the content is what counts.
        raise ImageError(
            path,
            f"the content is {fmt}, not a supported image format ({supported_formats_text()}); "
            "convert it, e.g. to PNG",
        )
    if fmt == "BMP" and mode == "P":
        # TF decodes it without error but returns the palette indices as grey
        # levels: silently wrong pixels. (A grey-ramp palette reads as "L", fine.)
        raise ImageError(
            path,
            "colour-palette BMP: TensorFlow's BMP decoder returns palette "
            "indices instead of colours; save it as PNG or 24-bit BMP",
        )
    return data, fmt


def _decode_checked(path, data, fmt, convert=None):
    """Runs TF's decoder, raising ImageError naming the path.

    Without `convert` it only checks, with the single decode op that
    `decode_image` runs (the channel conversion after it cannot fail);
    eagerly that is several times faster than the whole function.
    """
    try:
        if convert is None:
            return tf.io.decode_image(data, channels=0, dtype=tf.uint8, expand_animations=False)
        return convert(tf.constant(data))
    except tf.errors.InvalidArgumentError as e:
        raise ImageError(path, f"TensorFlow cannot decode this {fmt} file: {_tf_error_text(e)}") from None


def check_image_header(path, max_pixels=DEFAULT_MAX_PIXELS):
    """The checks `load_image_file` makes before decoding: checks 1-4 of `validate_image_file`
    plus colour-palette BMPs, from the header only (no pixels decoded).

    Raises:
        ImageError: (a `ValueError`) whose message starts with the path and says why.
    """
    _read_checked(path, max_pixels)


def validate_image_file(path, max_pixels=DEFAULT_MAX_PIXELS):
    """Checks that a file is an image that training can decode.

    Meant for scanning a folder before training: a file this accepts decodes
    in `tf.data` with `decode_image`; a file it refuses would otherwise stop
    training mid-epoch. The name must have one of `IMAGE_EXTENSIONS` (the
    list folder scanning and `predict` use too); among those, the content
    decides: a PNG named `.jpg` is accepted (TF and PIL both sniff the format).

    Checks, cheapest first:
    1. the file exists and is a regular file;
    2. the extension is one of `IMAGE_EXTENSIONS` (`.heic`, `.tif` ... are
       refused, naming the supported ones), and the file is not empty;
    3. PIL recognises the header (random bytes are refused here) as a format
       of `IMAGE_FORMATS` (a TIFF renamed `.png` is refused here);
    4. the declared size is at most `max_pixels`, read from the header
       BEFORE any decoding (a decompression bomb is never decoded);
    5. PIL verifies the structure (e.g. PNG chunk checksums) and decodes all
       pixels (truncated files fail here);
    6. `tf.io.decode_image` decodes it, as `tf.data` will. TF is stricter than
       PIL in places (a PNG missing its last bytes, a truncated GIF trailer,
       1-bit BMPs), and this is the decoder
       that counts. Colour-palette BMPs are refused too: TF decodes them
       without error but to palette indices (wrong pixels).

    Args:
        path: the file.
        max_pixels: refuse images whose header declares more pixels than this
            (`None` for no limit of our own; PIL still refuses headers above
            its own `Image.MAX_IMAGE_PIXELS * 2`).

    Returns:
        None.

    Raises:
        ImageError: (a `ValueError`) whose message starts with the path and
            says why.
    """
    from PIL import Image

    if max_pixels is not None and (
        isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1
    ):
        raise ValueError(
            f"`max_pixels` must be a positive integer or None. Received: max_pixels={max_pixels!r}"
        )
    data, fmt = _read_checked(path, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            # `verify` leaves the image unusable; reopen to decode the pixels.
            with Image.open(io.BytesIO(data)) as image:
                image.load()
    except Exception as e:
        raise ImageError(path, f"damaged {fmt} file: {type(e).__name__}: {e}") from None
    _decode_checked(path, data, fmt)


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
    return _decode_checked(path, data, fmt, _loader(image_size, channels, resize_mode)).numpy()
