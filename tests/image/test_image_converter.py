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
    ImageConverter,
    ImageError,
    decode_image,
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


def test_rgba_drops_alpha():
    rgba = random_pixels(4, 5, 4)
    out = decode(encode(Image.fromarray(rgba, "RGBA"), "PNG"), channels=3)
    np.testing.assert_array_equal(out, rgba[..., :3])


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
        "pic.tif": (
            encode(Image.fromarray(random_pixels(8, 8)), "TIFF"),
            "TensorFlow cannot decode this TIFF",
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
