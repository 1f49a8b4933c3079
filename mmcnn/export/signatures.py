"""The serving signatures of each modality: raw input in, probabilities and class out.

Every signature returns, per example, `probabilities` (float32
`(batch, num_classes)`), `class_id` (int64 `(batch,)`, the top class; ties go
to the lowest id, as `numpy.argmax`) and `class_name` (string `(batch,)`).
The first signature of each list is `serving_default`.

| modality | `serving_default` | second | `features` |
|---|---|---|---|
| image | `image_bytes`: string `(batch,)` PNG/JPEG/BMP/GIF | `pixels`: float32 `(batch, h, w, c)` any size | `pixels` at model size |
| audio | `waveform`: float32 `(batch, samples)` any length | `wav`: string `(batch,)` WAV files | `waveform` clips of model length |
| text | `texts`: string `(batch,)` | - | `token_ids`: int32 `(batch, max_tokens)` |
"""

import collections

import keras
import tensorflow as tf

from mmcnn.export.audio_frames import frame_windows

Endpoint = collections.namedtuple("Endpoint", ["name", "fn", "input_signature", "description"])

OUTPUT_KEYS = ("probabilities", "class_id", "class_name")


def _outputs(probabilities, class_names):
    class_id = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
    return {
        "probabilities": probabilities,
        "class_id": class_id,
        "class_name": tf.gather(tf.constant(class_names, dtype=tf.string), class_id),
    }


def _spec(shape, dtype, name):
    return tf.TensorSpec(shape, dtype, name=name)


# ---------------------------------------------------------------------- image
def image_endpoints(clf):
    """`serving_default` (encoded bytes), `pixels` (any size) and `features` (model size)."""
    from mmcnn.image.image_converter import ImageConverter

    model, names = clf.model, list(clf.class_names)
    height, width = clf.image_size
    settings = dict(image_size=tuple(clf.image_size), channels=clf.channels, resize_mode=clf.resize_mode)
    # The very converters `ImageClassifier.predict` uses for bytes and arrays.
    from_bytes = ImageConverter(**settings, input_format="bytes", name="bytes_converter")
    from_pixels = ImageConverter(**settings, input_format="pixels", name="pixels_converter")

    def serve_bytes(image_bytes):
        return _outputs(model(from_bytes(image_bytes), training=False), names)

    def serve_pixels(pixels):
        return _outputs(model(from_pixels(pixels), training=False), names)

    def serve_features(pixels):
        return _outputs(model(pixels, training=False), names)

    return [
        Endpoint(
            "serving_default",
            serve_bytes,
            [_spec([None], tf.string, "image_bytes")],
            "encoded PNG, JPEG, BMP or GIF files, one per example; decoded, converted to "
            f"{clf.channels} channel(s) and resized ({clf.resize_mode}) to {height}x{width} "
            "in the graph",
        ),
        Endpoint(
            "pixels",
            serve_pixels,
            [_spec([None, None, None, None], tf.float32, "pixels")],
            "float pixels (batch, height, width, channels), values 0..255, any size and "
            "1-4 channels; converted and resized in the graph",
        ),
        Endpoint(
            "features",
            serve_features,
            [_spec([None, height, width, clf.channels], tf.float32, "pixels")],
            f"the model's own input: float pixels (batch, {height}, {width}, {clf.channels}), values 0..255",
        ),
    ]


def image_settings(clf):
    return {
        "image_size": list(clf.image_size),
        "channels": clf.channels,
        "resize_mode": clf.resize_mode,
        "pixel_range": [0, 255],
    }


# ---------------------------------------------------------------------- audio
def audio_window(clf):
    """`(sample_rate, window_samples, hop_samples)` of an audio classifier's framed predict."""
    for name in ("sample_rate", "num_samples", "window_hop"):
        if getattr(clf, name, None) is None:
            raise ValueError(
                f"{type(clf).__name__} lacks `{name}`: an audio export needs the "
                "sample rate, the clip length and the hop between inference windows"
            )
    if clf.model.input_shape[-1] != clf.num_samples:
        raise ValueError(
            f"the model takes clips of {clf.model.input_shape[-1]} samples but "
            f"`num_samples` says {clf.num_samples}"
        )
    return int(clf.sample_rate), int(clf.num_samples), int(clf.window_hop)


def audio_endpoints(clf):
    """`serving_default` (waveforms of any length), `wav` (WAV bytes) and `features` (clips)."""
    model, names = clf.model, list(clf.class_names)
    sample_rate, window, hop = audio_window(clf)
    num_classes = len(names)

    def probabilities(waveforms):
        # Every window of every clip in one model call; then the mean of each
        # clip's window probabilities, as AudioClassifier.predict.
        windows = frame_windows(waveforms, window, hop)
        shape = tf.shape(windows)
        probs = model(tf.reshape(windows, [-1, window]), training=False)
        return tf.reduce_mean(tf.reshape(probs, [shape[0], shape[1], num_classes]), axis=1)

    def serve_waveform(waveform):
        return _outputs(probabilities(waveform), names)

    def one_wav(data):
        audio, rate = tf.audio.decode_wav(data)
        # Resampling in the graph would not match the librosa resampler that
        # training used, so another rate is refused rather than guessed at.
        check = tf.debugging.assert_equal(
            rate,
            tf.constant(sample_rate, tf.int32),
            message=f"WAV sample rate differs from the model's {sample_rate} Hz; resample the "
            f"file to {sample_rate} Hz before sending it. WAV rate (Hz):",
        )
        with tf.control_dependencies([check]):
            mono = tf.reduce_mean(audio, axis=-1)  # librosa.to_mono: mean of the channels
        return probabilities(mono[None, :])[0]

    def serve_wav(wav_bytes):
        # Files have their own lengths: one at a time.
        probs = tf.map_fn(one_wav, wav_bytes, fn_output_signature=tf.TensorSpec([num_classes], tf.float32))
        return _outputs(probs, names)

    def serve_features(waveform):
        return _outputs(model(waveform, training=False), names)

    return [
        Endpoint(
            "serving_default",
            serve_waveform,
            [_spec([None, None], tf.float32, "waveform")],
            f"float32 waveforms (batch, samples) at {sample_rate} Hz, any length (all rows of "
            f"one request share it); cut into {window}-sample windows every {hop} samples "
            "(frame_windows) and the window probabilities averaged",
        ),
        Endpoint(
            "wav",
            serve_wav,
            [_spec([None], tf.string, "wav_bytes")],
            f"WAV files (16-bit PCM) at exactly {sample_rate} Hz, one per example, any "
            "length and channel count (mixed to mono); another sample rate fails with "
            "InvalidArgumentError",
        ),
        Endpoint(
            "features",
            serve_features,
            [_spec([None, window], tf.float32, "waveform")],
            f"the model's own input: float32 clips (batch, {window}) at {sample_rate} Hz",
        ),
    ]


def audio_settings(clf):
    sample_rate, window, hop = audio_window(clf)
    return {
        "sample_rate": sample_rate,
        "window_samples": window,
        "hop_samples": hop,
        "window_seconds": window / sample_rate,
        "hop_seconds": hop / sample_rate,
        "aggregation": "mean of window probabilities",
        "short_clips": "zero-padded around the centre to window_samples",
        "wav": "16-bit PCM; must be at sample_rate (not resampled); channels averaged",
    }


# ----------------------------------------------------------------------- text
def text_tokenizer(model):
    """The model's `TextTokenizer` when it is the layer right after the input, else None."""
    from mmcnn.text.text_converter import TextTokenizer

    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, TextTokenizer) and layer.input is model.inputs[0]:
            return layer
        return None
    return None


def text_endpoints(clf):
    """`serving_default` (raw texts) and, when the tokenizer is the first layer, `features` (ids)."""
    model, names = clf.model, list(clf.class_names)

    def serve_texts(texts):
        return _outputs(model(texts, training=False), names)

    endpoints = [
        Endpoint(
            "serving_default",
            serve_texts,
            [_spec([None], tf.string, "texts")],
            "raw UTF-8 texts, one per example; tokenized in the graph with the embedded vocabulary",
        )
    ]
    tokenizer = text_tokenizer(model)
    if tokenizer is not None:
        # The rest of the model after the tokenizer, sharing its weights.
        after_tokenizer = keras.Model(tokenizer.output, model.output, name="after_tokenizer")

        def serve_features(token_ids):
            return _outputs(after_tokenizer(token_ids, training=False), names)

        endpoints.append(
            Endpoint(
                "features",
                serve_features,
                [_spec([None, tokenizer.max_tokens], tf.int32, "token_ids")],
                f"token ids (batch, {tokenizer.max_tokens}) int32 as the embedded tokenizer makes "
                "them: 0 padding, 1 out-of-vocabulary",
            )
        )
    return endpoints


def text_settings(clf):
    tokenizer = text_tokenizer(clf.model)
    if tokenizer is None:
        return {"tokenizer": None}
    return {
        "tokenizer": "mmcnn.text.TextTokenizer (in the graph)",
        "mode": tokenizer.mode,
        "max_tokens": tokenizer.max_tokens,
        "vocabulary_size": tokenizer.vocabulary_size,
        "lowercase": tokenizer.lowercase,
        "normalization": tokenizer.normalization,
        "pad_id": 0,
        "oov_id": 1,
    }


ENDPOINTS = {"image": image_endpoints, "audio": audio_endpoints, "text": text_endpoints}
SETTINGS = {"image": image_settings, "audio": audio_settings, "text": text_settings}
