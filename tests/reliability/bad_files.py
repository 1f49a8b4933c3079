"""Real broken files for the reliability tests, generated on the spot (shared helpers)."""

import io
import os
import struct
import zlib

import numpy as np
import soundfile
from PIL import Image

RATE = 16000


def png_bytes(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(pixels):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def huge_png_header(width, height):
    """A PNG whose IHDR declares `width` x `height` pixels, with a tiny (wrong) body."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )


def noise_pixels(seed, size=(16, 16), base=128):
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(base, 30, size), 0, 255).astype("uint8")


def bad_images():
    """name -> (bytes, whether mmcnn must refuse it)."""
    pixels = noise_pixels(99)
    png, jpeg = png_bytes(pixels), jpeg_bytes(pixels)
    return {
        "truncated.jpg": (jpeg[: len(jpeg) // 2], True),
        "empty.png": (b"", True),
        "random.png": (np.random.default_rng(1).bytes(2000), True),
        "truncated.png": (png[: len(png) // 2], True),
        "enormous.png": (huge_png_header(100_000, 100_000), True),
        # The content decides, not the name: a PNG called .jpg is a good image.
        "png_named.jpg": (png, False),
    }


def write_wav(path, samples, rate=RATE, subtype="PCM_16"):
    soundfile.write(path, samples, rate, subtype=subtype)


def tone(seconds=0.25, rate=RATE, hz=440.0, channels=1):
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.5 * np.sin(2 * np.pi * hz * t)
    return wave if channels == 1 else np.stack([wave * (0.5 + 0.1 * c) for c in range(channels)], axis=1)


def bad_audio(folder):
    """Writes the awkward clips into `folder`; returns name -> whether mmcnn must refuse it."""
    folder = os.fspath(folder)
    write_wav(os.path.join(folder, "whole.wav"), tone(0.5))
    with open(os.path.join(folder, "whole.wav"), "rb") as f:
        whole = f.read()
    os.remove(os.path.join(folder, "whole.wav"))
    files = {
        # librosa decodes a cut WAV silently to fewer samples than its header declares.
        "truncated.wav": (whole[: len(whole) // 2], True),
        "header_only.wav": (whole[:44], True),
        "random.wav": (np.random.default_rng(2).bytes(3000), True),
    }
    for name, (data, _) in files.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    write_wav(os.path.join(folder, "silent.wav"), np.zeros(4000))
    write_wav(os.path.join(folder, "rate_11025.wav"), tone(0.25, rate=11025), rate=11025)
    write_wav(os.path.join(folder, "six_channels.wav"), tone(0.25, channels=6))
    return {
        **{name: refused for name, (_, refused) in files.items()},
        # Silence is data where it is labelled (keyword spotting's "silence" class).
        "silent.wav": False,
        "rate_11025.wav": False,
        "six_channels.wav": False,
    }


def texts():
    """name -> bytes of the awkward text files (all kept, repaired: see mmcnn/text/text_data.py)."""
    return {
        "invalid_utf8.txt": b"caf\xc3 ok \xff\xfe bytes",
        "empty.txt": b"",
        "ten_megabytes.txt": b"word " * (2 * 1024 * 1024),
    }


def image_tree(root, bad_names=None):
    """Two classes of good PNGs; the chosen bad images (default: all) in class `a`."""
    for c, base in (("a", 60), ("b", 190)):
        os.makedirs(root / c, exist_ok=True)
        for i in range(3):
            (root / c / f"good{i}.png").write_bytes(png_bytes(noise_pixels(i, base=base)))
    wanted = bad_images() if bad_names is None else {n: bad_images()[n] for n in bad_names}
    for name, (data, _) in wanted.items():
        (root / "a" / name).write_bytes(data)
    if bad_names is None:
        os.symlink(root / "a" / "gone.png", root / "a" / "dangling.png")
    return root


def refused_images(root):
    names = [n for n, (_, refused) in bad_images().items() if refused] + ["dangling.png"]
    return sorted(str(root / "a" / n) for n in names)
