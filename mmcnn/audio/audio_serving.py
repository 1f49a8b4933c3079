"""The audio classifier's serving endpoints: waveforms of any length, WAV files, model-length clips.

| endpoint | input |
|---|---|
| `serving_default` | `waveform`: float32 `(batch, samples)` at the model's rate, any length |
| `wav` | `wav_bytes`: string `(batch,)`, WAV files at the model's rate |
| `features` | `waveform` clips of the model's length |
| `embedding` | `waveform` clips of the model's length; also returns `embedding` (`Classifier.embed`) |

Long clips are cut into model-length windows (`frame_windows`) and the window
probabilities averaged, as `AudioClassifier.predict` does.
"""

import tensorflow as tf

from mmcnn.audio.audio_frames import frame_windows
from mmcnn.export.endpoints import Endpoint, embedding_endpoint, endpoint_outputs, tensor_spec


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
    outputs = endpoint_outputs(clf)  # multi-label: scores, predicted, labels
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
        return outputs(probabilities(waveform), names)

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
        return outputs(probs, names)

    def serve_features(waveform):
        return outputs(model(waveform, training=False), names)

    return [
        Endpoint(
            "serving_default",
            serve_waveform,
            [tensor_spec([None, None], tf.float32, "waveform")],
            f"float32 waveforms (batch, samples) at {sample_rate} Hz, any length (all rows of "
            f"one request share it); cut into {window}-sample windows every {hop} samples "
            "(frame_windows) and the window probabilities averaged",
        ),
        Endpoint(
            "wav",
            serve_wav,
            [tensor_spec([None], tf.string, "wav_bytes")],
            f"WAV files (16-bit PCM) at exactly {sample_rate} Hz, one per example, any "
            "length and channel count (mixed to mono); another sample rate fails with "
            "InvalidArgumentError",
        ),
        Endpoint(
            "features",
            serve_features,
            [tensor_spec([None, window], tf.float32, "waveform")],
            f"the model's own input: float32 clips (batch, {window}) at {sample_rate} Hz",
        ),
        embedding_endpoint(clf),
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


# On-device files (LiteRT, ONNX) ---------------------------------------------------
def audio_edge_metadata(clf):
    """How an app turns a recording into the file's input, and the log-mel settings inside it."""
    sample_rate, window, hop = audio_window(clf)
    converter = clf.model.get_layer(AUDIO_FRONT_END)
    return {
        "input": "waveform",
        "dtype": "float32",
        "shape": [1, window],
        "sample_rate": sample_rate,
        "window_samples": window,
        "hop_samples": hop,
        "window_seconds": window / sample_rate,
        "hop_seconds": hop / sample_rate,
        "channels": "mono (average the channels)",
        "sample_range": [-1.0, 1.0],
        "framing": (
            f"resample to {sample_rate} Hz; a clip of at most {window} samples is zero-padded around "
            f"the centre (an odd extra sample at the end) to {window}; a longer clip is cut into "
            f"windows starting every {hop} samples, plus one window ending at the clip's end; run "
            "each window and average the probabilities"
        ),
        "aggregation": "mean of window probabilities",
        "front_end": {
            key: converter.get_config().get(key)
            for key in ("sample_rate", "n_fft", "hop_length", "n_mels", "features", "normalize")
        },
        "front_end_inside": True,
    }


# The log-mel layer (named by AudioClassifier): its power spectrum spans many decades, which 8 bits
# cannot hold, so int8 files keep it float.
AUDIO_FRONT_END = "log_mel"
