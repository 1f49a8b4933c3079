"""Tests for mmcnn.image.image_converter with real files written by PIL."""

import io
import struct
import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from mmcnn.image.image_converter import (
    IMAGE_EXTENSIONS,
    IMAGE_FORMATS,
    ImageConverter,
    ImageError,
    apply_orientation,
    convert_channels,
    decode_image,
    exif_orientation,
    load_image_file,
    resize_image,
    validate_image_file,
)
from mmcnn.testing import run_layer_test

RNG = np.random.default_rng(0)


def random_pixels(height, width, channels=3, seed=0):
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def encode(image, fmt, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def write(path, data):
    path.write_bytes(data)
    return path


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def huge_png_header(width, height):
    """A valid-looking PNG whose header declares width x height RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def decode(data, channels=3):
    return decode_image(tf.constant(data), channels).numpy()


# --- decoding ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["PNG", "BMP"])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_lossless_formats_decode_exactly(fmt, mode):
    pixels = random_pixels(5, 7, 3 if mode == "RGB" else 1)
    data = encode(Image.fromarray(pixels, mode), fmt)
    out = decode(data, channels=3)
    assert out.dtype == np.float32 and out.shape == (5, 7, 3)
    expected = pixels if mode == "RGB" else np.repeat(pixels[..., None], 3, axis=-1)
    np.testing.assert_array_equal(out, expected)


def test_jpeg_decodes_close_to_pil():
    # Smooth content, no chroma subsampling: both decoders agree closely (TF
    # uses libjpeg's fast integer IDCT, PIL the accurate one).
    ramp = np.add.outer(np.arange(16), np.arange(16)).astype(np.uint8) * 8
    data = encode(
        Image.fromarray(np.stack([ramp, ramp[::-1], 255 - ramp], -1)), "JPEG", quality=95, subsampling=0
    )
    out = decode(data, channels=3)
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)
    assert out.shape == (16, 16, 3)
    assert np.abs(out - reference).max() <= 8
    assert np.abs(out - reference).mean() <= 2.5


def test_gif_decodes_like_pil():
    data = encode(Image.fromarray(random_pixels(6, 9)).convert("P"), "GIF")
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)
    np.testing.assert_array_equal(decode(data, channels=3), reference)


def test_animated_gif_gives_first_frame():
    colours = [(200, 10, 10), (10, 200, 10), (10, 10, 200)]
    frames = [Image.new("RGB", (8, 6), c) for c in colours]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=50)
    out = decode(buffer.getvalue(), channels=3)
    assert out.shape == (6, 8, 3)
    np.testing.assert_array_equal(out, np.broadcast_to(np.float32(colours[0]), (6, 8, 3)))


def with_alpha(pixels):
    """`pixels` with an alpha channel: transparent, opaque and half-transparent columns."""
    pixels = pixels.reshape(*pixels.shape[:2], -1)
    alpha = np.tile(np.array([0, 255, 128, 0, 255], "uint8"), (pixels.shape[0], pixels.shape[1] // 5 + 1))
    return np.concatenate([pixels, alpha[:, : pixels.shape[1], None]], axis=-1)


def over_white(pixels, alpha):
    return 255.0 - (255.0 - pixels.astype("float32")) * (alpha.astype("float32")[..., None] / 255.0)


def test_alpha_is_composited_over_white_whatever_colour_it_hides():
    rgba = with_alpha(random_pixels(4, 10))
    out = decode(encode(Image.fromarray(rgba, "RGBA"), "PNG"), channels=3)
    np.testing.assert_allclose(out, over_white(rgba[..., :3], rgba[..., 3]), atol=1e-4)
    assert np.all(out[:, 0] == 255.0) and np.array_equal(out[:, 1], rgba[:, 1, :3].astype("float32"))
    grey = decode(encode(Image.fromarray(rgba, "RGBA"), "PNG"), channels=1)
    assert np.all(grey[:, 0] == 255.0)

    la = with_alpha(random_pixels(4, 10, 1))
    out = decode(encode(Image.fromarray(la, "LA"), "PNG"), channels=3)
    expected = over_white(la[..., :1], la[..., 1])
    np.testing.assert_allclose(out, np.repeat(expected, 3, axis=-1), atol=1e-4)


def test_pixel_arrays_with_alpha_are_composited_as_files_are():
    rgba = with_alpha(random_pixels(6, 10))
    from_bytes = ImageConverter((8, 8), 3, "pad", "bytes")(
        tf.constant([encode(Image.fromarray(rgba, "RGBA"), "PNG")])
    )
    from_pixels = ImageConverter((8, 8), 3, "pad", "pixels")(rgba[None])
    np.testing.assert_allclose(from_bytes, from_pixels, atol=1e-3)
    opaque = rgba.copy()
    opaque[..., 3] = 255
    np.testing.assert_array_equal(convert_channels(tf.constant(opaque, tf.float32), 3), opaque[..., :3])


def test_colour_to_grey_matches_pil_luma():
    rgb = random_pixels(8, 8)
    out = decode(encode(Image.fromarray(rgb), "PNG"), channels=1)
    reference = np.asarray(Image.fromarray(rgb).convert("L"), np.float32)[..., None]
    assert out.shape == (8, 8, 1)
    assert np.abs(out - reference).max() <= 0.5  # PIL rounds to integers


@pytest.mark.parametrize("fmt", ["BMP", "GIF"])
def test_grey_output_for_formats_tf_cannot_decode_as_grey(fmt):
    # tf.io.decode_image(channels=1) itself fails for BMP and GIF.
    grey = random_pixels(4, 4, 1)
    out = decode(encode(Image.fromarray(grey).convert("RGB"), fmt), channels=1)
    assert out.shape == (4, 4, 1)
    if fmt == "BMP":
        np.testing.assert_allclose(out[..., 0], grey, atol=1e-3)


def test_decode_in_tf_data_graph(tmp_path):
    paths = []
    for i, (h, w) in enumerate([(10, 20), (30, 15), (32, 32)]):
        paths.append(
            str(write(tmp_path / f"{i}.png", encode(Image.fromarray(random_pixels(h, w, seed=i)), "PNG")))
        )
    ds = tf.data.Dataset.from_tensor_slices(paths).map(
        lambda p: resize_image(decode_image(tf.io.read_file(p), 1), (16, 16), "pad")
    )
    shapes = [tuple(x.shape) for x in ds]
    assert shapes == [(16, 16, 1)] * 3


# --- resizing ----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["crop", "pad", "stretch"])
@pytest.mark.parametrize("shape", [(40, 20, 3), (2, 20, 45, 1), (32, 32, 3)])
def test_resize_shapes(mode, shape):
    image = RNG.uniform(0, 255, shape).astype(np.float32)
    out = resize_image(image, (32, 24), mode)
    assert tuple(out.shape) == shape[:-3] + (32, 24, shape[-1])
    assert out.dtype == tf.float32


@pytest.mark.parametrize("mode", ["crop", "pad", "stretch"])
def test_resize_same_size_is_identity(mode):
    image = RNG.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(resize_image(image, (32, 32), mode), image)


def test_crop_takes_centred_window():
    image = RNG.uniform(0, 255, (40, 80, 3)).astype(np.float32)
    np.testing.assert_array_equal(resize_image(image, (40, 40), "crop"), image[:, 20:60])


def test_pad_leaves_zero_borders():
    image = RNG.uniform(1, 255, (16, 32, 3)).astype(np.float32)
    out = resize_image(image, (32, 32), "pad").numpy()
    np.testing.assert_array_equal(out[:8], 0)
    np.testing.assert_array_equal(out[24:], 0)
    np.testing.assert_array_equal(out[8:24], image)
    tall = resize_image(np.full((40, 20, 1), 7.0, np.float32), (32, 32), "pad").numpy()
    np.testing.assert_array_equal(tall[:, :8], 0)
    np.testing.assert_array_equal(tall[:, 24:], 0)
    np.testing.assert_allclose(tall[:, 8:24], 7.0, rtol=1e-6)


def test_stretch_keeps_constant_image_constant():
    out = resize_image(np.full((17, 53, 3), 99.0, np.float32), (32, 32), "stretch")
    np.testing.assert_allclose(out, 99.0, rtol=1e-6)


def test_resize_batch_equals_one_at_a_time():
    images = RNG.uniform(0, 255, (3, 20, 45, 3)).astype(np.float32)
    for mode in ("crop", "pad", "stretch"):
        batch = resize_image(images, (32, 32), mode).numpy()
        for i in range(3):
            np.testing.assert_allclose(batch[i], resize_image(images[i], (32, 32), mode), atol=1e-3)


def test_resize_argument_errors():
    with pytest.raises(ValueError, match="mode"):
        resize_image(np.zeros((4, 4, 3)), (2, 2), "squash")
    with pytest.raises(ValueError, match="image_size"):
        resize_image(np.zeros((4, 4, 3)), (2, 0), "crop")
    with pytest.raises(ValueError, match="rank"):
        resize_image(np.zeros((4, 4)), (2, 2), "crop")


# --- ImageConverter ----------------------------------------------------------


def test_converter_bytes_equals_pixels_for_png():
    pixels = random_pixels(20, 45)
    data = encode(Image.fromarray(pixels), "PNG")
    for channels in (1, 3):
        for mode in ("crop", "pad", "stretch"):
            from_bytes = ImageConverter((32, 32), channels, mode, "bytes")(tf.constant([data]))
            from_pixels = ImageConverter((32, 32), channels, mode, "pixels")(pixels[None])
            np.testing.assert_allclose(from_bytes, from_pixels, atol=1e-4)


def test_converter_mixed_files_in_one_batch():
    files = [
        encode(Image.fromarray(random_pixels(10, 30)), "PNG"),
        encode(Image.fromarray(random_pixels(50, 20, 1)), "JPEG"),
        encode(Image.fromarray(random_pixels(32, 32, 4), "RGBA"), "PNG"),
        encode(Image.fromarray(random_pixels(7, 9)), "BMP"),
        encode(Image.fromarray(random_pixels(12, 12)).convert("P"), "GIF"),
    ]
    out = ImageConverter((32, 32), 3, "crop", "bytes")(tf.constant(files))
    assert tuple(out.shape) == (5, 32, 32, 3)
    assert out.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(out)) and float(tf.reduce_max(out)) <= 255.0


def test_converter_in_tf_data(tmp_path):
    paths = [
        str(
            write(
                tmp_path / f"{i}.jpg", encode(Image.fromarray(random_pixels(20 + 5 * i, 30, seed=i)), "JPEG")
            )
        )
        for i in range(4)
    ]
    converter = ImageConverter((16, 16), 3, "crop", "bytes")
    ds = tf.data.Dataset.from_tensor_slices(paths).map(tf.io.read_file).batch(2).map(converter)
    assert [tuple(x.shape) for x in ds] == [(2, 16, 16, 3)] * 2


def test_converter_in_functional_model_with_string_input():
    inputs = keras.Input(shape=(), dtype="string")
    outputs = ImageConverter((16, 16), 1, "pad", "bytes")(inputs)
    assert tuple(outputs.shape) == (None, 16, 16, 1)
    model = keras.Model(inputs, outputs)
    data = encode(Image.fromarray(random_pixels(8, 12)), "PNG")
    assert tuple(model(tf.constant([data, data])).shape) == (2, 16, 16, 1)


def test_converter_argument_errors():
    with pytest.raises(ValueError, match="image_size"):
        ImageConverter(image_size=(32,))
    with pytest.raises(ValueError, match="channels"):
        ImageConverter(channels=4)
    with pytest.raises(ValueError, match="resize_mode"):
        ImageConverter(resize_mode="fit")
    with pytest.raises(ValueError, match="input_format"):
        ImageConverter(input_format="jpeg")


def test_converter_layer_pixels():
    run_layer_test(
        ImageConverter,
        {"image_size": (16, 16), "channels": 1, "resize_mode": "pad", "input_format": "pixels"},
        RNG.uniform(0, 255, (2, 20, 28, 3)).astype(np.float32),
        expected_output_shape=(2, 16, 16, 1),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=0,
        run_training_step=False,
    )


def test_converter_layer_bytes():
    files = np.array(
        [encode(Image.fromarray(random_pixels(10 + i, 14, seed=i)), "PNG") for i in range(2)], dtype=object
    )
    run_layer_test(
        ImageConverter,
        {"image_size": (8, 8), "channels": 3, "resize_mode": "crop", "input_format": "bytes"},
        files,
        expected_output_shape=(2, 8, 8, 3),
        run_training_step=False,
    )


# --- files -------------------------------------------------------------------


def test_good_files_validate_and_load(tmp_path):
    good = {
        "rgb.png": encode(Image.fromarray(random_pixels(20, 30)), "PNG"),
        "grey.jpg": encode(Image.fromarray(random_pixels(40, 10, 1)), "JPEG"),
        "rgba.png": encode(Image.fromarray(random_pixels(8, 8, 4), "RGBA"), "PNG"),
        "pic.bmp": encode(Image.fromarray(random_pixels(9, 11)), "BMP"),
        "grey.bmp": encode(Image.fromarray(random_pixels(9, 11, 1)), "BMP"),
        "pic.gif": encode(Image.fromarray(random_pixels(9, 11)).convert("P"), "GIF"),
        # The content decides, not the name.
        "png_named.jpg": encode(Image.fromarray(random_pixels(6, 6)), "PNG"),
    }
    for name, data in good.items():
        path = write(tmp_path / name, data)
        assert validate_image_file(str(path)) is None
        image = load_image_file(str(path), (16, 16), 3, "pad")
        assert image.shape == (16, 16, 3) and image.dtype == np.float32


def test_load_image_file_matches_converter(tmp_path):
    data = encode(Image.fromarray(random_pixels(21, 37)), "PNG")
    path = write(tmp_path / "a.png", data)
    loaded = load_image_file(str(path), (32, 32), 1, "crop")
    converted = ImageConverter((32, 32), 1, "crop", "bytes")(tf.constant([data]))[0]
    np.testing.assert_allclose(loaded, converted, atol=1e-4)


def bad_files():
    png = encode(Image.fromarray(random_pixels(32, 32)), "PNG")
    jpeg = encode(Image.fromarray(random_pixels(32, 32)), "JPEG")
    gif = encode(Image.fromarray(random_pixels(32, 32)).convert("P"), "GIF")
    return {
        "truncated.jpg": (jpeg[: len(jpeg) // 2], "damaged JPEG"),
        "random.png": (np.random.default_rng(1).bytes(300), "not an image"),
        "truncated.png": (png[: len(png) // 2], "damaged PNG"),
        # PIL accepts these two; TF's decoder (the one tf.data uses) does not.
        "short_end.png": (png[:-2], "TensorFlow cannot decode"),
        "short_end.gif": (gif[:-2], "TensorFlow cannot decode"),
        "one_bit.bmp": (
            encode(Image.fromarray(random_pixels(8, 8, 1)).convert("1"), "BMP"),
            "TensorFlow cannot decode",
        ),
        "empty.png": (b"", "zero bytes"),
        # TF has no TIFF decoder: refused by name, and by content under another name.
        "pic.tif": (encode(Image.fromarray(random_pixels(8, 8)), "TIFF"), "not a supported image format"),
        "tiff_named.png": (
            encode(Image.fromarray(random_pixels(8, 8)), "TIFF"),
            "the content is TIFF, not a supported image format",
        ),
    }


def test_palette_bmp_refused(tmp_path):
    # TF decodes it without error, to palette indices: silently wrong pixels.
    data = encode(Image.fromarray(random_pixels(5, 7)).convert("P"), "BMP")
    indices = np.asarray(Image.open(io.BytesIO(data)))
    np.testing.assert_array_equal(
        tf.io.decode_image(data, channels=0, expand_animations=False)[..., 0], indices
    )
    path = write(tmp_path / "palette.bmp", data)
    with pytest.raises(ImageError, match="palette"):
        validate_image_file(str(path))


@pytest.mark.parametrize("name", sorted(bad_files()))
def test_bad_files_raise_image_error_naming_path(tmp_path, name):
    data, reason = bad_files()[name]
    path = write(tmp_path / name, data)
    with pytest.raises(ImageError, match=reason) as info:
        validate_image_file(str(path))
    assert str(path) in str(info.value) and info.value.path == str(path)
    assert isinstance(info.value, ValueError)
    # Everything refused here would also have stopped tf.data.
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(data, channels=3, expand_animations=False)
    with pytest.raises(ImageError, match=str(path).replace(".", r"\.")):
        load_image_file(str(path))


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageError, match="does not exist"):
        validate_image_file(str(tmp_path / "nope.png"))
    with pytest.raises(ImageError, match="not a regular file"):
        validate_image_file(str(tmp_path))


def test_decompression_bomb_refused_before_decoding(tmp_path):
    path = write(tmp_path / "bomb.png", huge_png_header(100_000, 100_000))
    with pytest.raises(ImageError, match="decompression bomb") as info:
        validate_image_file(str(path))
    assert str(path) in str(info.value)
    # Under PIL's own limit, ours decides (and names the declared size).
    path = write(tmp_path / "big.png", huge_png_header(9000, 9000))
    with pytest.raises(ImageError, match="9000x9000"):
        validate_image_file(str(path))
    with pytest.raises(ImageError, match="9000x9000"):
        load_image_file(str(path))
    small = write(tmp_path / "small.png", encode(Image.fromarray(random_pixels(32, 32)), "PNG"))
    with pytest.raises(ImageError, match="max_pixels=1000"):
        validate_image_file(str(small), max_pixels=1000)
    with pytest.raises(ValueError, match="max_pixels"):
        validate_image_file(str(small), max_pixels=0)


# --- EXIF orientation ----------------------------------------------------------


def exif_block(orientation, big_endian=True, count_entries=1):
    """A minimal EXIF block (`Exif\\0\\0` + TIFF header + IFD0 with the orientation tag)."""
    order = ">" if big_endian else "<"
    tiff = (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(order + "I", 8)
    ifd = struct.pack(order + "H", count_entries)
    # A tag before the orientation, as cameras write (0x010F: make), so the search is not trivially first.
    if count_entries == 2:
        ifd += struct.pack(order + "HHI", 0x010F, 2, 4) + b"Cam\x00"
    ifd += struct.pack(order + "HHIH", 0x0112, 3, 1, orientation) + b"\x00\x00"
    return b"Exif\x00\x00" + tiff + ifd + struct.pack(order + "I", 0)


def asymmetric_pixels(height=12, width=20):
    # Smooth (so JPEG keeps it) and different under every flip and rotation.
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [x * 255 // width, y * 255 // height, (x + 2 * y) * 255 // (width + 2 * height)], -1
    ).astype(np.uint8)


def oriented(fmt, orientation, big_endian=True, count_entries=1):
    kwargs = {"JPEG": {"quality": 95, "subsampling": 0}, "WEBP": {"lossless": True}}.get(fmt, {})
    return encode(
        Image.fromarray(asymmetric_pixels()),
        fmt,
        exif=exif_block(orientation, big_endian, count_entries),
        **kwargs,
    )


def upright_reference(data):
    from PIL import ImageOps

    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"), np.float32)


@pytest.mark.parametrize("big_endian", [True, False], ids=["MM", "II"])
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pil_exif_transpose(orientation, fmt, big_endian):
    data = oriented(fmt, orientation, big_endian, count_entries=1 + orientation % 2)
    assert int(exif_orientation(tf.constant(data))) == orientation
    out, reference = decode(data), upright_reference(data)
    assert out.shape == reference.shape == ((12, 20, 3) if orientation < 5 else (20, 12, 3))
    if fmt == "JPEG":  # TF's fast IDCT differs slightly from PIL's; a wrong turn differs by ~100
        assert np.abs(out - reference).max() <= 8 and np.abs(out - reference).mean() <= 2.5
    else:
        np.testing.assert_array_equal(out, reference)


def test_exif_written_by_pil_itself_is_read():
    exif = Image.Exif()
    exif[0x0112] = 8
    data = encode(Image.fromarray(asymmetric_pixels()), "JPEG", exif=exif, quality=95, subsampling=0)
    assert int(exif_orientation(tf.constant(data))) == 8
    assert decode(data).shape == upright_reference(data).shape == (20, 12, 3)


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_in_every_decode_path(tmp_path, orientation):
    # Training (tf.data over files), predict (load_image_file, bytes) and the export's bytes
    # signature (ImageConverter(input_format="bytes")) must see the same upright image.
    data = oriented("JPEG", orientation)
    path = write(tmp_path / "phone.jpg", data)
    expected = resize_image(upright_reference(data), (16, 16), "pad").numpy()
    training = next(
        iter(
            tf.data.Dataset.from_tensor_slices([str(path)]).map(
                lambda p: resize_image(decode_image(tf.io.read_file(p), 3), (16, 16), "pad")
            )
        )
    ).numpy()
    loaded = load_image_file(str(path), (16, 16), 3, "pad")
    exported = ImageConverter((16, 16), 3, "pad", "bytes")(tf.constant([data, data]))
    for out in (training, loaded, exported[0].numpy(), exported[1].numpy()):
        assert np.abs(out - expected).mean() <= 2.5
    np.testing.assert_allclose(training, loaded, atol=1e-4)
    np.testing.assert_allclose(exported[0], loaded, atol=1e-4)


def test_exif_orientation_in_a_saved_function(tmp_path):
    # No py_function: the orientation logic survives export as a plain graph.
    module = tf.Module()
    module.f = tf.function(
        lambda data: tf.map_fn(exif_orientation, data, fn_output_signature=tf.int32),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    tf.saved_model.save(module, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    batch = [oriented("JPEG", 6), oriented("PNG", 3, False), oriented("WEBP", 8)]
    assert loaded.f(tf.constant(batch)).numpy().tolist() == [6, 3, 8]


def malformed_exif_images():
    png = encode(Image.fromarray(asymmetric_pixels()), "PNG")
    jpeg = encode(Image.fromarray(asymmetric_pixels()), "JPEG", quality=95)
    good = oriented("JPEG", 6)
    exif_at = good.index(b"Exif\x00\x00")
    tiff_at = exif_at + 6

    def patched(offset, new):
        return good[:offset] + new + good[offset + len(new) :]

    return {
        "no EXIF (JPEG)": jpeg,
        "no EXIF (PNG)": png,
        "GIF": encode(Image.fromarray(asymmetric_pixels()).convert("P"), "GIF"),
        "BMP": encode(Image.fromarray(asymmetric_pixels()), "BMP"),
        "orientation 0": oriented("JPEG", 0),
        "orientation 9": oriented("JPEG", 9),
        "orientation 65535": oriented("JPEG", 65535),
        "bad byte order mark": patched(tiff_at, b"XX"),
        "IFD offset past the end": patched(tiff_at + 4, b"\x7f\xff\xff\xff"),
        "entry count past the end": patched(tiff_at + 8, b"\xff\xff"),
        "APP1 length past the end": patched(exif_at - 2, b"\xff\xff"),
        "APP1 length too small": patched(exif_at - 2, b"\x00\x01"),
        "cut inside the EXIF block": good[: tiff_at + 12],
        "only the JPEG signature": b"\xff\xd8",
        "empty": b"",
    }


def pil_orientation(data):
    """PIL's reading of the orientation (1 for none or out of range), or None if PIL cannot open it."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                value = image.getexif().get(0x0112, 1)
                image.load()
    except Exception:  # noqa: BLE001 - unreadable for PIL: validate_image_file refuses it
        return None
    return value if 1 <= value <= 8 else 1


@pytest.mark.parametrize("name", sorted(malformed_exif_images()))
def test_absent_or_malformed_exif_is_read_as_pil_does_never_an_error(name):
    data = malformed_exif_images()[name]
    value = int(exif_orientation(tf.constant(data)))
    expected = pil_orientation(data)
    # A length or an entry count that runs past the block is tolerated: the tag (6) is still there and
    # is read. Everything else malformed reads as "no orientation".
    assert value == (6 if name in ("entry count past the end", "APP1 length past the end") else 1)
    if expected is not None:  # where PIL opens the file, it reads the same orientation
        assert value == expected
    try:
        pixels = tf.io.decode_image(data, channels=3, expand_animations=False).numpy()
    except tf.errors.InvalidArgumentError:
        return  # not decodable at all: validate_image_file refuses it before training
    assert decode(data).shape in (pixels.shape, pixels.shape[1::-1] + (3,))


def test_apply_orientation_on_grey_and_unknown_values():
    image = tf.constant(asymmetric_pixels()[..., :1], tf.float32)
    np.testing.assert_array_equal(apply_orientation(image, tf.constant(6)), np.rot90(image.numpy(), k=-1))
    np.testing.assert_array_equal(apply_orientation(image, tf.constant(0)), image)
    np.testing.assert_array_equal(apply_orientation(image, tf.constant(12)), image)


# --- supported formats ---------------------------------------------------------


def test_one_list_of_formats_is_what_tensorflow_decodes():
    assert IMAGE_EXTENSIONS == (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".webp")
    for extension, fmt in IMAGE_FORMATS.items():
        data = encode(Image.fromarray(random_pixels(6, 5)), fmt)
        assert tf.io.decode_image(data, channels=3, expand_animations=False).shape == (6, 5, 3), extension
    # TIFF has no TensorFlow decoder, so it cannot be read by the exported graph: refused everywhere.
    with pytest.raises(tf.errors.InvalidArgumentError):
        tf.io.decode_image(encode(Image.fromarray(random_pixels(6, 5)), "TIFF"))


@pytest.mark.parametrize("name", ["photo.HEIC", "scan.tiff", "noext", "photo.JPG.txt"])
def test_unsupported_extensions_are_refused_naming_the_list(tmp_path, name):
    path = write(tmp_path / name, encode(Image.fromarray(random_pixels(6, 5)), "PNG"))
    for function in (validate_image_file, load_image_file):
        with pytest.raises(
            ImageError, match=r"not a supported image format .*\.bmp, \.gif, .*\.webp"
        ) as info:
            function(str(path))
        assert info.value.path == str(path)


def test_webp_and_upper_case_extensions_are_read(tmp_path):
    path = write(tmp_path / "a.WEBP", encode(Image.fromarray(random_pixels(6, 5)), "WEBP", lossless=True))
    validate_image_file(str(path))
    np.testing.assert_array_equal(load_image_file(str(path), (6, 5), 3, "stretch"), random_pixels(6, 5))
