"""Image files: the supported formats, and checking and reading a file before it is decoded.

Python helpers that run before training or at predict time:

- `validate_image_file` decodes each file with the very decoder `tf.data`
  will use, so that a file it accepts cannot stop a training run later.
- `check_image_header` makes the cheap checks (existence, extension, format,
  declared size) from the header alone.

`load_image_file` (in `image_converter`, which traces its in-graph functions
for it) reads a file with the same checks. Bad files raise `ImageError`, a
`ValueError` whose message starts with the path. This module imports nothing
from mmcnn, so that the converter can import it.
"""

import io
import os
import warnings

import numpy as np
import tensorflow as tf

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
