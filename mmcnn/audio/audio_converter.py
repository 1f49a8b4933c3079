"""In-graph log-mel / MFCC front end for waveforms.

The numbers match librosa (`librosa.feature.melspectrogram` + `librosa.power_to_db`,
`librosa.feature.mfcc`, `librosa.feature.delta`) so that features computed offline with
librosa and features computed inside an exported model agree.
"""

import keras
import librosa
import numpy as np
import scipy.signal
import tensorflow as tf

# Width of the Savitzky-Golay window used for deltas, librosa's default.
DELTA_WIDTH = 9

# Output layout (batch, frames, features).
TIME_AXIS = 1
FEATURE_AXIS = 2
_PER_EXAMPLE_AXES = [TIME_AXIS, FEATURE_AXIS]

_FEATURES = ("log_mel", "mfcc")
_NORMALIZE = (None, "per_example")
_PAD_MODES = ("constant", "reflect")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _positive_int(name, value):
    if not _is_int(value) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")


def _delta_coefficients(order):
    # Savitzky-Golay derivative filter, exactly what librosa.feature.delta uses
    # (polyorder == deriv == order); use="dot" gives correlation order.
    return scipy.signal.savgol_coeffs(DELTA_WIDTH, polyorder=order, deriv=order, use="dot").astype("float32")


@keras.saving.register_keras_serializable(package="mmcnn")
class LogMelSpectrogram(keras.layers.Layer):
    """Waveform to log-mel spectrogram (or MFCC), computed in graph.

    Steps, each matching librosa: centred STFT (the clip is padded by
    `n_fft // 2` on both sides with `pad_mode`) with a periodic Hann window of
    `win_length` samples centred in each `n_fft` frame; the power spectrogram
    `|X| ** power`; a Slaney-normalised mel filterbank (`librosa.filters.mel`
    with `htk=False, norm="slaney"`); decibels `10 * log10(max(S, amin) / ref)`
    clipped to `top_db` below the maximum of *each example* (never of the
    batch, so a clip's features do not depend on what it is batched with).
    Optionally an orthonormal DCT-II keeps `n_mfcc` cepstral coefficients
    (`features="mfcc"`), the features are standardised per example
    (`normalize="per_example"`), and first / second order deltas (librosa's
    `delta` with `width=9`, `mode="interp"`) are appended along the feature
    axis.

    The mel filterbank is a constant rebuilt from the config; the layer has no
    weights.

    A float32 front end under every dtype policy: the waveform is taken as
    float32 (Keras would otherwise round it to the compute dtype before
    `call`, e.g. to bfloat16 under `"mixed_bfloat16"`, which moved log-mel
    values by up to 0.84 dB on a test clip), and the STFT, the dB scale and
    the output are float32. The next layer with weights (the adapter's convolution) casts the
    features to its compute dtype.

    Args:
        sample_rate: Integer, sample rate of the input waveform in Hz.
        n_fft: Integer, FFT size (and frame length) in samples.
        win_length: Integer or `None`, length of the Hann window, at most
            `n_fft`. `None` means `n_fft`.
        hop_length: Integer, samples between successive frames.
        n_mels: Integer, number of mel bands.
        fmin: Float, lowest frequency of the mel filterbank in Hz.
        fmax: Float or `None`, highest frequency of the mel filterbank in Hz.
            `None` means `sample_rate / 2`.
        power: Float, exponent of the magnitude spectrogram (2.0 for power,
            1.0 for magnitude).
        top_db: Float or `None`, dynamic range kept below each example's
            maximum, in dB. `None` disables clipping.
        normalize: `None` or `"per_example"` (subtract the mean and divide by
            the standard deviation of each clip's features, before deltas).
        features: `"log_mel"` or `"mfcc"`.
        n_mfcc: Integer, number of MFCCs kept when `features="mfcc"`.
        deltas: 0, 1 or 2: how many orders of deltas to append.
        pad_mode: `"constant"` (zeros, librosa's default since 0.10) or
            `"reflect"`, the padding of the clip edges for the centred STFT.
            `"reflect"` needs clips longer than `n_fft // 2` samples.
        ref: Float or `"max"`, the reference power for 0 dB. `"max"` uses each
            example's own maximum (librosa's `ref=np.max`).
        amin: Float, floor on the power before the logarithm.

    Input shape:
        2D tensor `(batch, samples)`, float waveform at `sample_rate` (taken
        as float32).

    Output shape:
        3D float32 tensor `(batch, frames, feature_dim)` (whatever the dtype
        policy), where
        `frames = 1 + samples // hop_length` for even `n_fft` and
        `feature_dim = (n_mels or n_mfcc) * (1 + deltas)`.

    Example:

    >>> layer = LogMelSpectrogram(sample_rate=16000, n_mels=40, hop_length=160)
    >>> waveform = np.random.default_rng(0).normal(size=(2, 4000)).astype("float32")
    >>> tuple(layer(waveform).shape)
    (2, 26, 40)
    """

    def __init__(
        self,
        sample_rate=16000,
        n_fft=512,
        win_length=None,
        hop_length=160,
        n_mels=64,
        fmin=0.0,
        fmax=None,
        power=2.0,
        top_db=80.0,
        normalize=None,
        features="log_mel",
        n_mfcc=20,
        deltas=0,
        pad_mode="constant",
        ref=1.0,
        amin=1e-10,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _positive_int("sample_rate", sample_rate)
        if not _is_int(n_fft) or n_fft < 2:
            raise ValueError(f"`n_fft` must be an integer >= 2. Received: n_fft={n_fft!r}")
        if win_length is not None and (not _is_int(win_length) or not 1 <= win_length <= n_fft):
            raise ValueError(
                "`win_length` must be None or an integer between 1 and "
                f"n_fft={n_fft}. Received: win_length={win_length!r}"
            )
        _positive_int("hop_length", hop_length)
        _positive_int("n_mels", n_mels)
        nyquist = sample_rate / 2.0
        if not _is_number(fmin) or not 0 <= fmin < nyquist:
            raise ValueError(
                f"`fmin` must be a number in [0, sample_rate / 2 = {nyquist}). Received: fmin={fmin!r}"
            )
        if fmax is not None and (not _is_number(fmax) or not fmin < fmax <= nyquist):
            raise ValueError(
                f"`fmax` must be None or a number in (fmin={fmin}, sample_rate / 2 = "
                f"{nyquist}]. Received: fmax={fmax!r}"
            )
        if not _is_number(power) or power <= 0:
            raise ValueError(f"`power` must be a positive number. Received: power={power!r}")
        if top_db is not None and (not _is_number(top_db) or top_db <= 0):
            raise ValueError(f"`top_db` must be None or a positive number. Received: top_db={top_db!r}")
        if normalize not in _NORMALIZE:
            raise ValueError(f"`normalize` must be one of {_NORMALIZE}. Received: normalize={normalize!r}")
        if features not in _FEATURES:
            raise ValueError(f"`features` must be one of {_FEATURES}. Received: features={features!r}")
        _positive_int("n_mfcc", n_mfcc)
        if features == "mfcc" and n_mfcc > n_mels:
            raise ValueError(
                f"`n_mfcc` must not exceed n_mels={n_mels} for features='mfcc'. Received: n_mfcc={n_mfcc!r}"
            )
        if deltas not in (0, 1, 2) or isinstance(deltas, bool):
            raise ValueError(f"`deltas` must be 0, 1 or 2. Received: deltas={deltas!r}")
        if pad_mode not in _PAD_MODES:
            raise ValueError(f"`pad_mode` must be one of {_PAD_MODES}. Received: pad_mode={pad_mode!r}")
        if not (ref == "max" if isinstance(ref, str) else _is_number(ref) and ref > 0):
            raise ValueError(f"`ref` must be a positive number or 'max'. Received: ref={ref!r}")
        if not _is_number(amin) or amin <= 0:
            raise ValueError(f"`amin` must be a positive number. Received: amin={amin!r}")

        self.sample_rate = sample_rate
        self.n_fft = n_fft
        self.win_length = win_length
        self.hop_length = hop_length
        self.n_mels = n_mels
        self.fmin = fmin
        self.fmax = fmax
        self.power = power
        self.top_db = top_db
        self.normalize = normalize
        self.features = features
        self.n_mfcc = n_mfcc
        self.deltas = deltas
        self.pad_mode = pad_mode
        self.ref = ref
        self.amin = amin

        # Constants derived from the config (never saved as weights).
        window_length = n_fft if win_length is None else win_length
        window = scipy.signal.get_window("hann", window_length, fftbins=True)
        # librosa centres a shorter window inside the n_fft frame.
        self._window = librosa.util.pad_center(window, size=n_fft).astype("float32")
        # (freq_bins, n_mels) so that frames @ matrix gives mel bands.
        self._mel_matrix = np.ascontiguousarray(
            librosa.filters.mel(
                sr=sample_rate,
                n_fft=n_fft,
                n_mels=n_mels,
                fmin=fmin,
                fmax=fmax,
                htk=False,
                norm="slaney",
                dtype=np.float32,
            ).T
        )
        self._delta_coefficients = [_delta_coefficients(o) for o in range(1, deltas + 1)]
        self.supports_masking = False

    @property
    def feature_dim(self):
        base = self.n_mfcc if self.features == "mfcc" else self.n_mels
        return base * (1 + self.deltas)

    def num_frames(self, num_samples):
        """Number of output frames for a clip of `num_samples` samples."""
        return 1 + (num_samples + 2 * (self.n_fft // 2) - self.n_fft) // self.hop_length

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                "`LogMelSpectrogram` expects a 2D input (batch, samples). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        samples = input_shape[-1]
        if samples is not None:
            if self.pad_mode == "reflect" and samples <= self.n_fft // 2:
                raise ValueError(
                    "pad_mode='reflect' needs clips longer than n_fft // 2 = "
                    f"{self.n_fft // 2} samples. Received: input_shape={tuple(input_shape)}"
                )
            if samples + 2 * (self.n_fft // 2) < self.n_fft:
                raise ValueError(
                    f"Clips must have at least {self.n_fft % 2} samples. "
                    f"Received: input_shape={tuple(input_shape)}"
                )
            if self.deltas and self.num_frames(samples) < DELTA_WIDTH:
                raise ValueError(
                    f"deltas={self.deltas} needs at least {DELTA_WIDTH} frames, i.e. "
                    f"clips of at least {(DELTA_WIDTH - 1) * self.hop_length} samples. "
                    f"Received: input_shape={tuple(input_shape)}"
                )
        super().build(input_shape)

    @property
    def input_dtype(self):
        # Keras casts float inputs to this before `call`: keep the waveform float32.
        return "float32"

    def compute_output_shape(self, input_shape):
        samples = input_shape[-1]
        frames = None if samples is None else self.num_frames(samples)
        return (input_shape[0], frames, self.feature_dim)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="float32")

    def call(self, inputs):
        waveform = tf.cast(inputs, tf.float32)
        spectrum = self._power_spectrogram(waveform)
        # (batch, frames, freq) @ (freq, mels)
        mel = tf.einsum("btf,fm->btm", spectrum, tf.constant(self._mel_matrix))
        features = self._to_db(mel)
        if self.features == "mfcc":
            features = tf.signal.dct(features, type=2, norm="ortho")[..., : self.n_mfcc]
        if self.normalize == "per_example":
            mean, variance = tf.nn.moments(features, axes=_PER_EXAMPLE_AXES, keepdims=True)
            # A constant clip has zero spread; its standardised features are zeros.
            features = (features - mean) / tf.maximum(tf.sqrt(variance), 1e-6)
        if self.deltas:
            features = tf.concat(
                [features] + [self._delta(features, c) for c in self._delta_coefficients],
                axis=FEATURE_AXIS,
            )
        return features

    def _power_spectrogram(self, waveform):
        half = self.n_fft // 2
        padded = tf.pad(waveform, [[0, 0], [half, half]], mode=self.pad_mode.upper())
        frames = tf.signal.frame(padded, self.n_fft, self.hop_length, axis=-1)
        stft = tf.signal.rfft(frames * tf.constant(self._window), fft_length=[self.n_fft])
        # |X| (ComplexAbs) rather than re^2 + im^2: tf2onnx converts an RFFT only when ComplexAbs
        # reads it, and LiteRT has a built-in COMPLEX_ABS; the features move by ~2e-6 dB.
        magnitude = tf.abs(stft)
        return tf.square(magnitude) if self.power == 2.0 else tf.pow(magnitude, self.power)

    def _to_db(self, mel):
        log_spec = 10.0 * (tf.math.log(tf.maximum(mel, self.amin)) / np.log(10.0))
        if self.ref == "max":
            ref_power = tf.reduce_max(mel, axis=_PER_EXAMPLE_AXES, keepdims=True)
        else:
            ref_power = tf.constant(float(self.ref), tf.float32)
        log_spec -= 10.0 * (tf.math.log(tf.maximum(ref_power, self.amin)) / np.log(10.0))
        if self.top_db is not None:
            # Relative to each example's own maximum, not the batch maximum.
            peak = tf.reduce_max(log_spec, axis=_PER_EXAMPLE_AXES, keepdims=True)
            log_spec = tf.maximum(log_spec, peak - self.top_db)
        return log_spec

    def _delta(self, features, coefficients):
        """librosa.feature.delta(width=9, mode="interp") along the frame axis."""
        half = DELTA_WIDTH // 2
        length = tf.shape(features)[TIME_AXIS] - 2 * half
        valid = tf.add_n(
            [float(c) * features[:, k : k + length, :] for k, c in enumerate(coefficients) if c != 0.0]
        )
        # With polyorder == deriv the edge polynomial fit of mode="interp" has a
        # constant derivative, equal to the first / last full-window value.
        first = tf.repeat(valid[:, :1, :], half, axis=TIME_AXIS)
        last = tf.repeat(valid[:, -1:, :], half, axis=TIME_AXIS)
        return tf.concat([first, valid, last], axis=TIME_AXIS)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sample_rate": self.sample_rate,
                "n_fft": self.n_fft,
                "win_length": self.win_length,
                "hop_length": self.hop_length,
                "n_mels": self.n_mels,
                "fmin": self.fmin,
                "fmax": self.fmax,
                "power": self.power,
                "top_db": self.top_db,
                "normalize": self.normalize,
                "features": self.features,
                "n_mfcc": self.n_mfcc,
                "deltas": self.deltas,
                "pad_mode": self.pad_mode,
                "ref": self.ref,
                "amin": self.amin,
            }
        )
        return config
