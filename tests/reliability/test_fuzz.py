"""Property-based fuzzing: arbitrary bytes end in a result or an mmcnn error naming the input.

Never a crash, a hang or a foreign exception type. Examples are kept few (deadline off) so
each test takes seconds; mutated real files reach deeper into the decoders than pure noise.
"""

import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf
from bad_files import jpeg_bytes, noise_pixels, png_bytes, tone, write_wav
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmcnn.audio.audio_loading import AudioError, load_audio
from mmcnn.data import DataError, read_manifest
from mmcnn.image.image_converter import ImageError, load_image_file, validate_image_file
from mmcnn.text import TextTokenizer

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SCRATCH = tempfile.mkdtemp(prefix="mmcnn-fuzz-")


def write(name, data):
    path = os.path.join(SCRATCH, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def mutated(seeds):
    """Real files with random byte flips, cuts and insertions, or pure noise."""

    @st.composite
    def strategy(draw):
        base = draw(st.sampled_from(seeds))
        data = bytearray(base)
        for _ in range(draw(st.integers(0, 6))):
            if not data:
                break
            action = draw(st.sampled_from(["flip", "cut", "insert"]))
            at = draw(st.integers(0, len(data) - 1))
            if action == "flip":
                data[at] = draw(st.integers(0, 255))
            elif action == "cut":
                del data[at : at + draw(st.integers(1, 64))]
            else:
                data[at:at] = draw(st.binary(min_size=1, max_size=16))
        return bytes(data)

    return st.one_of(strategy(), st.binary(max_size=512))


def _gif(pixels):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="GIF")
    return buffer.getvalue()


IMAGES = [
    png_bytes(noise_pixels(0, (12, 10))),
    jpeg_bytes(noise_pixels(1, (12, 10))),
    _gif(noise_pixels(2, (6, 6))),
]


@FUZZ
@given(data=mutated(IMAGES))
def test_image_decoder_on_arbitrary_bytes(data):
    path = write("fuzz.png", data)
    try:
        validate_image_file(path)
    except ImageError as error:
        assert path in str(error)
        with pytest.raises(ImageError, match="fuzz.png"):
            load_image_file(path, image_size=(8, 8), channels=1)
        return
    # Accepted: it must then decode in the graph, as training would.
    image = load_image_file(path, image_size=(8, 8), channels=1)
    assert image.shape == (8, 8, 1) and np.isfinite(image).all()


def _wav_seed(**kwargs):
    path = os.path.join(SCRATCH, "seed.wav")
    write_wav(path, tone(0.05, **kwargs), rate=kwargs.get("rate", 16000))
    with open(path, "rb") as f:
        return f.read()


WAVS = [_wav_seed(), _wav_seed(rate=8000, channels=2)]


@FUZZ
@given(data=mutated(WAVS))
def test_audio_decoder_on_arbitrary_bytes(data):
    path = write("fuzz.wav", data)
    try:
        wave = load_audio(path, sample_rate=16000)
    except AudioError as error:
        assert path in str(error)
        return
    assert wave.ndim == 1 and wave.dtype == np.float32 and np.isfinite(wave).all()
    # A 3 KB file cannot honestly hold more than a few seconds at 16 kHz.
    assert len(wave) <= 16000 * 60, f"{len(wave)} samples from {len(data)} bytes"


CSV_SEED = b'path,label\na.png,x\nb.png,y\n"c,d.png",x\n'


@FUZZ
@given(data=st.one_of(mutated([CSV_SEED]), st.binary(max_size=300)))
def test_manifest_parser_on_arbitrary_bytes(data):
    path = write("fuzz.csv", data)
    try:
        inputs, labels, rows = read_manifest(path, "path", check_files=True)
    except DataError as error:
        assert path in str(error)
        return
    assert len(inputs) == len(labels) == len(rows)
    assert all(isinstance(label, str) and label.strip() for label in labels)


@pytest.fixture(scope="module")
def tokenizers():
    corpus = ["the cat sat on the mat", "ünïcödé words here", "数字 and 123 numbers"]
    made = {}
    for mode in ("word", "unicode_script", "wordpiece", "char", "byte"):
        tokenizer = TextTokenizer(mode=mode, max_tokens=16, min_frequency=1, vocabulary_size=200)
        tokenizer.adapt(corpus)
        made[mode] = tokenizer
    return made


def test_tokenizer_on_arbitrary_bytes(tokenizers):
    @FUZZ
    @given(
        texts=st.lists(
            st.one_of(st.binary(max_size=300), st.text(max_size=100).map(str.encode)), min_size=1, max_size=4
        )
    )
    def check(texts):
        batch = tf.constant(texts, dtype=tf.string)
        for mode, tokenizer in tokenizers.items():
            ids = tokenizer(batch).numpy()
            assert ids.shape == (len(texts), 16), mode
            assert ids.min() >= 0 and ids.max() < tokenizer.vocabulary_size, mode

    check()
