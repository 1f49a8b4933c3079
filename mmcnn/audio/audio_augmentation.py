"""Random audio augmentation layers (waveform and spectrogram), active only in training.

Every layer draws its randomness from a `keras.random.SeedGenerator`, so a given `seed`
reproduces the same sequence of augmentations, and every layer returns its input unchanged
when `training` is false or not given (as `keras.layers.Dropout`), so inference, `predict`
and exported models never augment.

The waveform layers (`RandomTimeShift`, `RandomGain`, `BackgroundNoise`) run in front of the
float32 `LogMelSpectrogram` and are float32 too, whatever the dtype policy: under a mixed
policy Keras would otherwise round the waveform to the compute dtype (bfloat16 keeps 8 bits
of mantissa) before the STFT sees it.
"""

import keras
import numpy as np
import tensorflow as tf

# Layouts: waveforms (batch, samples); spectrograms (batch, frames, bins).
SAMPLE_AXIS = 1
TIME_AXIS = 1
BIN_AXIS = 2

TIME_SHIFT_MODES = ("roll", "zeros")
NOISE_TYPES = ("white", "pink")
MASK_VALUES = ("mean",)


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _non_negative_int(name, value):
    if not _is_int(value) or value < 0:
        raise ValueError(f"`{name}` must be a non-negative integer. Received: {name}={value!r}")


def _check_range(low_name, low, high_name, high):
    for name, value in ((low_name, low), (high_name, high)):
        if not _is_number(value):
            raise ValueError(f"`{name}` must be a number. Received: {name}={value!r}")
    if low > high:
        raise ValueError(
            f"`{low_name}` must not exceed `{high_name}`. Received: {low_name}={low}, {high_name}={high}"
        )


def _check_rank(layer, input_shape, rank, layout):
    if len(input_shape) != rank:
        raise ValueError(
            f"`{layer}` expects a {rank}D input {layout}. Received: input_shape={tuple(input_shape)}"
        )


class _RandomAudioLayer(keras.layers.Layer):
    """Shared plumbing: seed generator, the training switch, shape passthrough."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and not _is_int(seed):
            raise ValueError(f"`seed` must be None or an integer. Received: seed={seed!r}")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def call(self, inputs, training=None):
        if not training:
            return inputs
        return tf.cast(self._augment(tf.cast(inputs, tf.float32)), inputs.dtype)

    def _augment(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape

    def _uniform(self, shape, minval, maxval):
        return keras.random.uniform(
            shape, minval=minval, maxval=maxval, dtype="float32", seed=self.seed_generator
        )

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


class _RandomWaveformLayer(_RandomAudioLayer):
    """A waveform augmentation: float32 in, computation and out, whatever the dtype policy."""

    @property
    def input_dtype(self):
        # Keras casts float inputs to this before `call`: keep the waveform float32.
        return "float32"

    def call(self, inputs, training=None):
        inputs = tf.cast(inputs, tf.float32)
        if not training:
            return inputs
        return self._augment(inputs)

    def compute_output_spec(self, inputs, training=None):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="float32")


@keras.saving.register_keras_serializable(package="mmcnn")
class SpecAugment(_RandomAudioLayer):
    """SpecAugment time and frequency masking (Park et al., 2019).

    Each example gets its own masks: `time_masks` bands of `0..max_time_width`
    consecutive frames and `freq_masks` bands of `0..max_freq_width`
    consecutive bins, at uniformly random positions (masks may overlap). Masked
    cells are set to `mask_value`. Identity unless `training=True`.

    Args:
        time_masks: Integer, number of time masks per example.
        max_time_width: Integer, widest time mask in frames (clipped to the
            number of frames).
        freq_masks: Integer, number of frequency masks per example.
        max_freq_width: Integer, widest frequency mask in bins (clipped to the
            number of bins).
        mask_value: Float, or `"mean"` for the mean of each example's input
            (a neutral value whatever the scale of the features, e.g. dB).
        seed: Integer or `None`, seed of the random masks.

    Input shape:
        3D tensor `(batch, frames, bins)`.

    Output shape:
        Same as the input.

    Example:

    >>> layer = SpecAugment(time_masks=2, max_time_width=5, seed=0)
    >>> features = np.ones((2, 26, 40), "float32")
    >>> tuple(layer(features, training=True).shape)
    (2, 26, 40)
    """

    def __init__(
        self,
        time_masks=2,
        max_time_width=10,
        freq_masks=2,
        max_freq_width=8,
        mask_value="mean",
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        _non_negative_int("time_masks", time_masks)
        _non_negative_int("max_time_width", max_time_width)
        _non_negative_int("freq_masks", freq_masks)
        _non_negative_int("max_freq_width", max_freq_width)
        if isinstance(mask_value, str):
            valid_mask_value = mask_value in MASK_VALUES
        else:
            valid_mask_value = _is_number(mask_value)
        if not valid_mask_value:
            raise ValueError(
                f"`mask_value` must be a number or one of {MASK_VALUES}. Received: mask_value={mask_value!r}"
            )
        self.time_masks = time_masks
        self.max_time_width = max_time_width
        self.freq_masks = freq_masks
        self.max_freq_width = max_freq_width
        self.mask_value = mask_value

    def build(self, input_shape):
        _check_rank("SpecAugment", input_shape, 3, "(batch, frames, bins)")
        super().build(input_shape)

    def _augment(self, inputs):
        shape = tf.shape(inputs)
        batch, frames, bins = shape[0], shape[1], shape[2]
        time_mask = self._band_mask(batch, frames, self.time_masks, self.max_time_width)
        freq_mask = self._band_mask(batch, bins, self.freq_masks, self.max_freq_width)
        mask = tf.logical_or(time_mask[:, :, None], freq_mask[:, None, :])
        if self.mask_value == "mean":
            fill = tf.reduce_mean(inputs, axis=[TIME_AXIS, BIN_AXIS], keepdims=True)
        else:
            fill = tf.constant(float(self.mask_value), tf.float32)
        return tf.where(mask, fill * tf.ones_like(inputs), inputs)

    def _band_mask(self, batch, length, count, max_width):
        """Boolean `(batch, length)`, true inside any of `count` random bands."""
        if count == 0 or max_width == 0:
            return tf.zeros(tf.stack([batch, length]), tf.bool)
        length_f = tf.cast(length, tf.float32)
        max_width_f = tf.minimum(float(max_width), length_f)
        # floor(u * (max + 1)) is uniform over 0..max.
        width = tf.floor(self._uniform(tf.stack([batch, count]), 0.0, 1.0) * (max_width_f + 1.0))
        width = tf.minimum(width, max_width_f)
        start = tf.floor(self._uniform(tf.stack([batch, count]), 0.0, 1.0) * (length_f - width + 1.0))
        start = tf.minimum(start, length_f - width)
        positions = tf.cast(tf.range(length), tf.float32)[None, None, :]
        inside = tf.logical_and(positions >= start[:, :, None], positions < (start + width)[:, :, None])
        return tf.reduce_any(inside, axis=1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "time_masks": self.time_masks,
                "max_time_width": self.max_time_width,
                "freq_masks": self.freq_masks,
                "max_freq_width": self.max_freq_width,
                "mask_value": self.mask_value,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="mmcnn")
class RandomTimeShift(_RandomWaveformLayer):
    """Shifts each waveform in time by a random number of samples.

    The shift of each example is uniform in
    `[-max_fraction * samples, max_fraction * samples]` (rounded to whole
    samples; positive shifts move the sound later). `mode="roll"` wraps the
    samples that fall off one end around to the other; `mode="zeros"` drops
    them and fills the gap with silence. Identity unless `training=True`.

    Args:
        max_fraction: Float in `[0, 1]`, largest shift as a fraction of the
            clip length.
        mode: `"roll"` or `"zeros"`.
        seed: Integer or `None`, seed of the random shifts.

    Input shape:
        2D tensor `(batch, samples)`.

    Output shape:
        Same as the input, float32 (whatever the dtype policy; see the module docstring).

    Example:

    >>> layer = RandomTimeShift(max_fraction=0.1, mode="zeros", seed=0)
    >>> tuple(layer(np.ones((2, 4000), "float32"), training=True).shape)
    (2, 4000)
    """

    def __init__(self, max_fraction=0.1, mode="roll", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not _is_number(max_fraction) or not 0 <= max_fraction <= 1:
            raise ValueError(
                f"`max_fraction` must be a number in [0, 1]. Received: max_fraction={max_fraction!r}"
            )
        if mode not in TIME_SHIFT_MODES:
            raise ValueError(f"`mode` must be one of {TIME_SHIFT_MODES}. Received: mode={mode!r}")
        self.max_fraction = max_fraction
        self.mode = mode

    def build(self, input_shape):
        _check_rank("RandomTimeShift", input_shape, 2, "(batch, samples)")
        super().build(input_shape)

    def _augment(self, inputs):
        shape = tf.shape(inputs)
        batch, samples = shape[0], shape[1]
        max_shift = tf.floor(self.max_fraction * tf.cast(samples, tf.float32))
        shift = tf.cast(tf.round(self._uniform(tf.reshape(batch, [1]), -1.0, 1.0) * max_shift), tf.int32)
        # Output sample i comes from input sample i - shift.
        source = tf.range(samples)[None, :] - shift[:, None]
        if self.mode == "roll":
            return tf.gather(inputs, tf.math.floormod(source, samples), batch_dims=1)
        valid = tf.logical_and(source >= 0, source < samples)
        gathered = tf.gather(inputs, tf.clip_by_value(source, 0, samples - 1), batch_dims=1)
        return tf.where(valid, gathered, tf.zeros_like(gathered))

    def get_config(self):
        config = super().get_config()
        config.update({"max_fraction": self.max_fraction, "mode": self.mode})
        return config


@keras.saving.register_keras_serializable(package="mmcnn")
class RandomGain(_RandomWaveformLayer):
    """Multiplies each waveform by a random gain drawn uniformly in decibels.

    Identity unless `training=True`.

    Args:
        min_gain_db: Float, lowest gain in dB.
        max_gain_db: Float, highest gain in dB.
        seed: Integer or `None`, seed of the random gains.

    Input shape:
        2D tensor `(batch, samples)` (any rank works; the gain is per example).

    Output shape:
        Same as the input, float32 (whatever the dtype policy; see the module docstring).

    Example:

    >>> layer = RandomGain(min_gain_db=-6.0, max_gain_db=6.0, seed=0)
    >>> tuple(layer(np.ones((2, 4000), "float32"), training=True).shape)
    (2, 4000)
    """

    def __init__(self, min_gain_db=-6.0, max_gain_db=6.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        _check_range("min_gain_db", min_gain_db, "max_gain_db", max_gain_db)
        self.min_gain_db = min_gain_db
        self.max_gain_db = max_gain_db

    def _augment(self, inputs):
        batch = tf.shape(inputs)[:1]
        gain_db = self._uniform(batch, float(self.min_gain_db), float(self.max_gain_db))
        gain = tf.pow(10.0, gain_db / 20.0)
        gain = tf.reshape(gain, tf.concat([batch, tf.ones([tf.rank(inputs) - 1], tf.int32)], 0))
        return inputs * gain

    def get_config(self):
        config = super().get_config()
        config.update({"min_gain_db": self.min_gain_db, "max_gain_db": self.max_gain_db})
        return config


@keras.saving.register_keras_serializable(package="mmcnn")
class BackgroundNoise(_RandomWaveformLayer):
    """Adds white or pink noise at a random signal-to-noise ratio.

    For each example an SNR is drawn uniformly in `[min_snr_db, max_snr_db]`
    and generated noise is scaled so that
    `10 * log10(mean(signal ** 2) / mean(noise ** 2))` equals it exactly. The
    noise is made in graph (no stored clips, so the layer stays serialisable):
    white is Gaussian; pink is white noise shaped to a `1 / f` power spectrum.
    A silent example stays silent. Identity unless `training=True`.

    Args:
        min_snr_db: Float, lowest SNR in dB.
        max_snr_db: Float, highest SNR in dB.
        noise_type: `"white"` or `"pink"`.
        seed: Integer or `None`, seed of the noise and SNRs.

    Input shape:
        2D tensor `(batch, samples)`.

    Output shape:
        Same as the input, float32 (whatever the dtype policy; see the module docstring).

    Example:

    >>> layer = BackgroundNoise(min_snr_db=10.0, max_snr_db=20.0, seed=0)
    >>> tuple(layer(np.ones((2, 4000), "float32"), training=True).shape)
    (2, 4000)
    """

    def __init__(self, min_snr_db=5.0, max_snr_db=30.0, noise_type="white", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        _check_range("min_snr_db", min_snr_db, "max_snr_db", max_snr_db)
        if noise_type not in NOISE_TYPES:
            raise ValueError(
                f"`noise_type` must be one of {NOISE_TYPES}. Received: noise_type={noise_type!r}"
            )
        self.min_snr_db = min_snr_db
        self.max_snr_db = max_snr_db
        self.noise_type = noise_type

    def build(self, input_shape):
        _check_rank("BackgroundNoise", input_shape, 2, "(batch, samples)")
        super().build(input_shape)

    def _augment(self, inputs):
        shape = tf.shape(inputs)
        batch, samples = shape[0], shape[1]
        noise = keras.random.normal(shape, dtype="float32", seed=self.seed_generator)
        if self.noise_type == "pink":
            noise = self._pink(noise, samples)
        snr_db = self._uniform(tf.reshape(batch, [1]), float(self.min_snr_db), float(self.max_snr_db))
        signal_power = tf.reduce_mean(tf.square(inputs), axis=SAMPLE_AXIS)
        noise_power = tf.reduce_mean(tf.square(noise), axis=SAMPLE_AXIS)
        target_power = signal_power / tf.pow(10.0, snr_db / 10.0)
        scale = tf.sqrt(tf.math.divide_no_nan(target_power, noise_power))
        return inputs + noise * scale[:, None]

    @staticmethod
    def _pink(white, samples):
        spectrum = tf.signal.rfft(white, fft_length=tf.reshape(samples, [1]))
        bins = tf.shape(spectrum)[1]
        # Amplitude ~ 1/sqrt(f) gives power ~ 1/f; the DC bin gets the first
        # non-zero bin's weight instead of an infinite one.
        frequency = tf.maximum(tf.cast(tf.range(bins), tf.float32), 1.0)
        spectrum *= tf.cast(tf.math.rsqrt(frequency), tf.complex64)[None, :]
        return tf.signal.irfft(spectrum, fft_length=tf.reshape(samples, [1]))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "min_snr_db": self.min_snr_db,
                "max_snr_db": self.max_snr_db,
                "noise_type": self.noise_type,
            }
        )
        return config
