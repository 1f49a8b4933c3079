"""EXIF orientation, in-graph: read the tag of an encoded file, turn its pixels upright.

Cameras and phones store pixels as the sensor saw them and record how to turn
them upright in the EXIF orientation tag (0x0112). TensorFlow's decoders ignore
it, so it is read here with string ops (only TF ops: safe inside `tf.data` and
an exported graph). Absent or malformed EXIF means orientation 1, never an
error. `decode_image` (in `image_converter`) applies both functions.

Layout: `apply_orientation` takes and returns one channels-last image
`(height, width, channels)`.
"""

import tensorflow as tf

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
