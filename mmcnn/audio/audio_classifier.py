"""AudioClassifier: 1-D receptive fields over spectrogram frames (time).

Model graph: float32 waveform `(batch, samples)` -> waveform augmentation (training
only) -> `LogMelSpectrogram` `(batch, frames, mel_bins)` -> `SpecAugment` (training
only) -> `AudioAdapter` -> shared `Backbone` -> `ClassifierHead`.

Clips of any length: training clips shorter than the model's clip are zero-padded around
the centre and longer ones are randomly cropped each epoch; at inference a clip is cut
into overlapping windows of the model's length and the window probabilities are averaged,
so a 10-second recording gets one answer (and, on request, per-window scores).
"""

import io
import os

import keras
import librosa
import numpy as np
import soundfile
import tensorflow as tf

from mmcnn.audio.audio_adapter import AudioAdapter
from mmcnn.audio.audio_augmentation import BackgroundNoise, RandomGain, RandomTimeShift, SpecAugment
from mmcnn.audio.audio_converter import LogMelSpectrogram
from mmcnn.audio.audio_data import AUDIO_EXTENSIONS, from_dataframe, from_directory
from mmcnn.audio.audio_loading import checked_waveform, fit_length, load_audio
from mmcnn.audio.audio_serving import AUDIO_FRONT_END, audio_edge_metadata, audio_endpoints, audio_settings
from mmcnn.data import DataError
from mmcnn.models.classifier import Classifier
from mmcnn.models.pipeline import predict_in_batches

AUGMENTATION_POLICIES = ("none", "spec", "light", "standard")
FEATURES = ("log_mel", "mfcc")

_TRAINING = dict(learning_rate=3e-3, epochs=20, batch_size=64, patience=8, weight_decay=1e-4)
PRESETS = {
    # A small, fast net for tests and quick looks.
    "tiny": dict(
        rank=1,
        stem=16,
        stem_kernel=5,
        stages=[{"filters": 16, "pooling": "max"}, {"filters": 32, "pooling": "max"}],
        head_dropout=0.0,
        **{**_TRAINING, "epochs": 10},
    ),
    # The default: time convolutions with the mel bins as channels; see
    # bench/results/audio.md for its accuracy on unseen voices.
    "small": dict(
        rank=1,
        stem=64,
        stem_kernel=5,
        stages=[
            {"filters": 64, "pooling": "max"},
            {"filters": 128, "blocks": 2, "pooling": "max"},
            {"filters": 128, "blocks": 2},
        ],
        head_dropout=0.3,
        **_TRAINING,
    ),
    # Residual time convolutions with strided downsampling.
    "resnet": dict(
        rank=1,
        stem=64,
        stem_kernel=5,
        block="residual",
        stages=[
            {"filters": 64, "blocks": 2},
            {"filters": 128, "blocks": 2, "strides": 2},
            {"filters": 128, "blocks": 2, "strides": 2},
        ],
        head_dropout=0.3,
        **_TRAINING,
    ),
    # For comparison: the spectrogram as a one-channel image (2-D windows over time x mel).
    "spectrogram_2d": dict(
        rank=2,
        stem=16,
        stem_kernel=3,
        stages=[
            {"filters": 32, "pooling": "max"},
            {"filters": 64, "pooling": "max"},
            {"filters": 128, "pooling": "max"},
        ],
        head_dropout=0.3,
        **_TRAINING,
    ),
}


def augmentation_layers(policy="standard", seed=0, spectrogram=True):
    """The augmentation layers of a named policy, split around the converter.

    Policies:
    - `"none"`: no layers.
    - `"spec"`: SpecAugment only, two time and two frequency masks (up to 10
      frames / 8 bins): the waveform reaches the log-mel untouched, so `fit`
      computes the log-mel once per clip and caches it (`cached_feature_layer`).
    - `"light"`: time shift up to 10 % (roll), gain -6..+6 dB; one time and one
      frequency mask (up to 8 frames / 6 bins).
    - `"standard"`: time shift up to 10 % (zeros), gain -10..+6 dB, white noise
      at 10-40 dB SNR; two time and two frequency masks (up to 10 frames / 8 bins).

    Every layer is the identity unless called with `training=True`.

    Args:
        policy: `"none"`, `"spec"`, `"light"` or `"standard"`.
        seed: integer seed; layer `i` gets `seed + i`.
        spectrogram: whether to return the SpecAugment layers.

    Returns:
        `(waveform_layers, spectrogram_layers)`: lists of layers, applied to
        the waveform before and to the spectrogram after the converter.
    """
    if policy not in AUGMENTATION_POLICIES:
        raise ValueError(
            f"`augmentation` must be one of {AUGMENTATION_POLICIES}. Received: augmentation={policy!r}"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"`seed` must be an integer or None. Received: seed={seed!r}")

    def s(i):
        return None if seed is None else seed + i

    if policy == "none":
        return [], []
    if policy == "spec":
        return [], [SpecAugment(2, 10, 2, 8, seed=s(0), name="spec_augment")] if spectrogram else []
    if policy == "light":
        wave = [
            RandomTimeShift(0.1, mode="roll", seed=s(0), name="time_shift"),
            RandomGain(-6.0, 6.0, seed=s(1), name="gain"),
        ]
        spec = [SpecAugment(1, 8, 1, 6, seed=s(2), name="spec_augment")]
    else:
        wave = [
            RandomTimeShift(0.1, mode="zeros", seed=s(0), name="time_shift"),
            RandomGain(-10.0, 6.0, seed=s(1), name="gain"),
            BackgroundNoise(10.0, 40.0, seed=s(2), name="noise"),
        ]
        spec = [SpecAugment(2, 10, 2, 8, seed=s(3), name="spec_augment")]
    return wave, spec if spectrogram else []


# The FFT window of `n_fft="auto"` and of `n_fft=None`, in seconds. 64 ms with 128 mel bands
# was chosen on three real sets, against 32 ms with 64 bands (the default before, which files
# saved then store as `n_fft=None, n_mels=64`): drum hits of unseen kits 0.808 against 0.737
# test accuracy (validation 0.940 against 0.926), Sonic Pi's samples 0.627 against 0.578
# (separate runs, same splits and seeds), espeak-ng speech a tie at 1.000 (3 seeds on the first two;
# bench/results/small_audio_drums_mels_fft.md, small_audio_sonic_pi_candidates.md, audio_mels_fft.md).
FFT_SECONDS = {"auto": 0.064, None: 0.032}


class AudioClassifier(Classifier):
    """Audio classifier: waveform -> log-mel -> time adapter -> backbone -> head.

    Args:
        num_classes: number of classes (or give `class_names`, or let `fit`
            take them from the data).
        sample_rate: sample rate (Hz) of the model input; files are resampled to it.
        clip_seconds: length of the clip the model sees. Shorter clips are
            zero-padded; longer clips are randomly cropped in training and
            framed into overlapping windows at inference.
        window_hop_seconds: hop between inference windows (default: half a clip).
        features: `"log_mel"` (default) or `"mfcc"`.
        n_mels: mel bands of the spectrogram (default 128; 64 before the
            change of `FFT_SECONDS`, which files saved then keep).
        n_mfcc: cepstral coefficients kept with `features="mfcc"`.
        deltas: 0, 1 or 2 orders of deltas appended to the features.
        hop_length: samples between spectrogram frames (default: 10 ms).
        n_fft: FFT size in samples; `"auto"` (default): the power of two
            nearest 64 ms at `sample_rate` (1024 at 16 kHz); `None`: nearest
            32 ms (the default of files saved before; see `FFT_SECONDS`).
        class_names: ordered class names.
        preset: `"tiny"`, `"small"` (default), `"resnet"` or `"spectrogram_2d"`
            (the spectrogram as a one-channel image, for comparison).
        augmentation: `"none"`, `"spec"` (SpecAugment only), `"light"` or `"standard"` (default).
        learning_rate, epochs, batch_size: training settings (default: the preset's).
        seed: seed of initialisation, shuffling, cropping and augmentation.
        precision: `"auto"` (default: `mixed_bfloat16` where the machine computes
            bfloat16 natively, else `float32`; `mmcnn.models.precision`), `"float32"`,
            `"mixed_bfloat16"` or `"mixed_float16"`.
        multi_label: several labels per example (docs/multilabel.md): a sigmoid
            head, binary cross-entropy and per-class thresholds chosen on the
            validation split. Default False; the first `fit` sets it when the
            data is multi-label (a manifest with `;`-separated labels).
        init_from: a run directory or `.keras` file of an audio classifier to
            start from (a warm start, `mmcnn.models.transfer`): its adapter and
            backbone weights are copied, and its head when the classes are the
            same. The sample rate, clip length, spectrogram settings and preset
            must match.
        freeze_epochs: epochs with the copied layers frozen before all are
            trained (default: up to 3, at most half the epochs, when the head
            is new; 0 when it was kept).
        fine_tune_learning_rate: learning rate once everything trains
            (default: `learning_rate` when the head is new, a tenth of it
            when it was kept).

    Example:
    >>> clf = AudioClassifier(num_classes=2, clip_seconds=0.25, preset="tiny")
    >>> clf.model.input_shape, clf.model.output_shape
    ((None, 4000), (None, 2))
    """

    modality = "audio"
    input_axes = ("frames", "mel_bins")
    # What a warm start's source must share: the log-mel front end and the clip it sees.
    transfer_settings = (
        "sample_rate",
        "clip_seconds",
        "features",
        "n_mels",
        "n_mfcc",
        "deltas",
        "hop_length",
        "n_fft",
    )
    from_directory = staticmethod(from_directory)
    from_dataframe = staticmethod(from_dataframe)
    input_extensions = AUDIO_EXTENSIONS
    presets = PRESETS
    default_preset = "small"
    preprocessor_layer = "log_mel"

    @classmethod
    def tune_space(cls, settings):
        """The default space of `mmcnn tune audio` (`mmcnn.tune.space`; `settings`: the fixed arguments).

        Width and depth through the preset, the learning rate around the
        presets' 3e-3, the batch size, the augmentation policy, the mel bands,
        and the hop between frames: 5, 10 or 20 ms at the sample rate."""
        rate = settings.get("sample_rate", 16000)
        return {
            "preset": {"values": ["tiny", "small", "resnet"]},
            "learning_rate": {"min": 1e-3, "max": 1e-2, "log": True},
            "batch_size": {"values": [32, 64]},
            "augmentation": {"values": list(AUGMENTATION_POLICIES)},
            "n_mels": {"values": [48, 64, 96, 128]},
            "hop_length": {"values": [max(1, round(rate * ms / 1000)) for ms in (5, 10, 20)]},
        }

    def __init__(
        self,
        num_classes=None,
        sample_rate=16000,
        clip_seconds=1.0,
        window_hop_seconds=None,
        features="log_mel",
        n_mels=128,
        n_mfcc=20,
        deltas=0,
        hop_length=None,
        n_fft="auto",
        augmentation="standard",
        **kwargs,
    ):
        super().__init__(num_classes=num_classes, augmentation=augmentation, **kwargs)
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
            raise ValueError(
                f"`sample_rate` must be a positive integer (Hz). Received: sample_rate={sample_rate!r}"
            )
        if isinstance(clip_seconds, bool) or not isinstance(clip_seconds, (int, float)) or clip_seconds <= 0:
            raise ValueError(
                f"`clip_seconds` must be a positive number. Received: clip_seconds={clip_seconds!r}"
            )
        if window_hop_seconds is not None and (
            isinstance(window_hop_seconds, bool)
            or not isinstance(window_hop_seconds, (int, float))
            or not 0 < window_hop_seconds <= clip_seconds
        ):
            raise ValueError(
                "`window_hop_seconds` must be None or a number in (0, clip_seconds="
                f"{clip_seconds}]. Received: window_hop_seconds={window_hop_seconds!r}"
            )
        if features not in FEATURES:
            raise ValueError(f"`features` must be one of {FEATURES}. Received: features={features!r}")
        augmentation_layers(augmentation, self.seed)  # validates the policy and the seed
        self.sample_rate = sample_rate
        self.clip_seconds = clip_seconds
        self.window_hop_seconds = window_hop_seconds
        self.features = features
        self.n_mels = n_mels
        self.n_mfcc = n_mfcc
        self.deltas = deltas
        self.hop_length = hop_length
        self.n_fft = n_fft
        # The converter validates the spectrogram arguments and fails naming the argument.
        self._converter = self._make_converter()
        self._converter.build((None, self.num_samples))

    # ------------------------------------------------------------------ sizes
    @property
    def num_samples(self):
        """Samples in one model input (`clip_seconds` at `sample_rate`)."""
        return max(1, int(round(self.clip_seconds * self.sample_rate)))

    @property
    def window_hop(self):
        """Samples between inference windows."""
        seconds = self.window_hop_seconds or self.clip_seconds / 2
        return max(1, min(self.num_samples, int(round(seconds * self.sample_rate))))

    @property
    def fft_size(self):
        """The FFT size in samples: `n_fft` when it is a number, else the power of two nearest
        the window `FFT_SECONDS` gives `"auto"` or `None` at `sample_rate`."""
        if self.n_fft is None or self.n_fft == "auto":
            return 2 ** int(round(np.log2(FFT_SECONDS[self.n_fft] * self.sample_rate)))
        return self.n_fft  # anything else: the converter checks it, naming `n_fft`

    def setting(self, name):
        """`Classifier.setting`; `n_fft` is the FFT size in samples (`fft_size`), so that a warm
        start compares the spectrograms two models compute, not how each was asked for."""
        if name == "n_fft":
            return self.fft_size
        return super().setting(name)

    def _make_converter(self):
        hop = self.hop_length or max(1, int(round(0.010 * self.sample_rate)))
        n_fft = self.fft_size
        return LogMelSpectrogram(
            sample_rate=self.sample_rate,
            n_fft=n_fft,
            hop_length=hop,
            n_mels=self.n_mels,
            normalize="per_example",
            features=self.features,
            n_mfcc=self.n_mfcc,
            deltas=self.deltas,
            name="log_mel",
        )

    # ------------------------------------------------------------------ model
    def model_input(self):
        return keras.Input((self.num_samples,), name="waveform")

    def front_layers(self):
        preset = self.preset_config
        wave_aug, spec_aug = augmentation_layers(self.augmentation, self.seed)
        adapter = AudioAdapter(preset["stem"], preset.get("stem_kernel", 5), rank=self.rank, name="adapter")
        return [*wave_aug, self._make_converter(), *spec_aug, adapter]

    def example_nbytes(self):
        return self.num_samples * 4

    def crops_in_training(self, data):
        """Clips longer than the model's are cropped at random every epoch (`training_map`)."""
        return any(len(w) > self.num_samples for w in data.inputs)

    # ------------------------------------------------------------------- data
    def input_dataset(self, data, training=False):
        rate = getattr(data, "sample_rate", None)
        if rate is not None and rate != self.sample_rate:
            raise DataError(
                f"the data was decoded at {rate} Hz but the classifier expects "
                f"{self.sample_rate} Hz; load it with sample_rate={self.sample_rate}"
            )
        if data.kind != "arrays":
            raise DataError(
                "AudioClassifier reads LabeledData from mmcnn.audio.from_directory, "
                f"from_dataframe or from_arrays; received kind={data.kind!r}"
            )
        n = self.num_samples
        waves = [np.asarray(w, dtype="float32") for w in data.inputs]
        # Training keeps long clips whole (randomly cropped after the cache, each epoch);
        # validation and evaluation need the fixed length at once.
        if not training or all(len(w) <= n for w in waves):
            return tf.data.Dataset.from_tensor_slices(
                np.stack([fit_length(w, n, mode="center") for w in waves])
                if waves
                else np.zeros((0, n), "float32")
            )
        # At least `n` samples each, longer ones whole: a ragged batch of clips.
        waves = [fit_length(w, n, mode="center") if len(w) < n else w for w in waves]
        ragged = tf.RaggedTensor.from_row_lengths(np.concatenate(waves), [len(w) for w in waves])
        return tf.data.Dataset.from_tensor_slices(ragged)

    def training_map(self, seed):
        n = self.num_samples

        # Stateless: an element's crop depends on (seed, epoch, position) only, so it changes
        # every epoch (a seeded stateful op restarts with each epoch's new iterator) and is the
        # same after a resume (mmcnn.training.epoch_dataset).
        def random_crop(wave, label, element_seed):
            excess = tf.shape(wave)[0] - n
            offset = tf.random.stateless_uniform([], element_seed, 0, excess + 1, dtype=tf.int32)
            return tf.ensure_shape(wave[offset : offset + n], [n]), label

        return random_crop

    # ---------------------------------------------------------------- inputs
    def _load_waveforms(self, inputs):
        """Raw inputs -> list of 1-D float32 waveforms (any length) at the model's rate.

        Accepts a file path, encoded audio bytes (a format libsndfile reads),
        a 1-D waveform, a 2-D array `(n, samples)`, or a list mixing these.
        Arrays must already be at `sample_rate`; files and bytes are decoded,
        resampled and mixed down.
        """
        if isinstance(inputs, (str, bytes, os.PathLike)):
            inputs = [inputs]
        elif isinstance(inputs, (np.ndarray, tf.Tensor)):
            array = np.asarray(inputs, dtype="float32")
            if array.ndim == 1:
                inputs = [array]
            elif array.ndim == 2:
                inputs = list(array)
            else:
                raise ValueError(
                    "waveform arrays must be 1-D (samples,) or 2-D (n, samples). "
                    f"Received shape {array.shape}"
                )
        elif len(inputs) and all(isinstance(v, (int, float, np.number)) for v in inputs):
            inputs = [np.asarray(inputs, dtype="float32")]  # one waveform given as a list
        waves = []
        for i, item in enumerate(inputs):
            if isinstance(item, bytes):
                wave = self._decode_bytes(item, f"inputs[{i}]")
            elif isinstance(item, (str, os.PathLike)):
                # A quiet recording still gets an answer at predict time.
                wave = load_audio(item, sample_rate=self.sample_rate, reject_silent=False)
            else:
                wave = checked_waveform(item, f"inputs[{i}]")
            waves.append(wave)
        return waves

    def _decode_bytes(self, encoded, where):
        try:
            samples, rate = soundfile.read(io.BytesIO(encoded), dtype="float32", always_2d=True)
        except Exception as error:  # noqa: BLE001 - any decoder failure is a data error
            raise ValueError(f"{where}: cannot decode the audio bytes ({error})") from error
        if samples.size == 0:
            raise ValueError(f"{where}: the audio bytes hold no samples")
        wave = librosa.to_mono(np.ascontiguousarray(samples.T))
        if rate != self.sample_rate:
            wave = librosa.resample(wave, orig_sr=rate, target_sr=self.sample_rate)
        return np.asarray(wave, dtype="float32")

    def preprocess(self, inputs):
        """Raw inputs -> a `(n, num_samples)` batch (each clip centre-padded or cropped)."""
        return np.stack(
            [fit_length(w, self.num_samples, mode="center") for w in self._load_waveforms(inputs)]
        )

    def _window_starts(self, length):
        # The same windows as `frame_windows`: every `hop`, plus one flush with the end.
        n, hop = self.num_samples, self.window_hop
        if length <= n:
            return np.zeros(1, dtype=int)
        starts = list(range(0, length - n + 1, hop))
        if starts[-1] + n < length:
            starts.append(length - n)
        return np.asarray(starts)

    # ------------------------------------------------------------- inference
    def embed(self, inputs, batch_size=64):
        """The pooled feature vector of clips of any length: the mean over each clip's windows.

        Windows as `predict_windows` cuts them; a clip of the model's length is
        one window, and its embedding is the export's `embedding` signature's.

        Returns:
            float32 array `(n, features)`.
        """
        waves = self._load_waveforms(inputs)
        n = self.num_samples
        windows, counts = [], []
        for wave in waves:
            starts = self._window_starts(len(wave))
            counts.append(len(starts))
            windows.extend(fit_length(wave[s : s + n], n, mode="center") for s in starts)
        if not windows:
            return np.zeros((0, self._embed_batch(np.zeros((1, n), "float32")).shape[1]), "float32")
        embeddings = self._embed_batch(np.stack(windows), batch_size)
        bounds = np.cumsum([0] + counts)
        return np.stack([embeddings[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])])

    def predict_windows(self, inputs, batch_size=64):
        """Per-window class probabilities of clips of any length.

        Each clip is cut into windows of `clip_seconds`, `window_hop_seconds`
        apart (a clip not longer than one window is zero-padded into one).

        Returns:
            dict with `probabilities` (per clip, a `(windows, num_classes)`
            array), `window_starts` (per clip, window start times in seconds)
            and `class_names`.
        """
        waves = self._load_waveforms(inputs)
        n = self.num_samples
        windows, starts = [], []
        for wave in waves:
            clip_starts = self._window_starts(len(wave))
            starts.append(clip_starts)
            windows.extend(fit_length(wave[s : s + n], n, mode="center") for s in clip_starts)
        probs = predict_in_batches(self.model, np.stack(windows), batch_size)
        bounds = np.cumsum([0] + [len(s) for s in starts])
        return {
            "probabilities": [probs[a:b] for a, b in zip(bounds[:-1], bounds[1:])],
            "window_starts": [s / self.sample_rate for s in starts],
            "class_names": list(self.class_names),
        }

    def predict_proba(self, inputs, batch_size=64):
        """Class probabilities `(n, num_classes)`: the mean over each clip's windows."""
        windows = self.predict_windows(inputs, batch_size=batch_size)["probabilities"]
        return np.stack([w.mean(axis=0) for w in windows])

    def predict(self, inputs, batch_size=64, top_k=1, return_windows=False):
        """Predicted class names and probabilities for raw inputs of any length.

        Args:
            inputs: a file path, a 1-D waveform, a 2-D array `(n, samples)`, or
                a list of paths and 1-D waveforms of any lengths (arrays at
                `sample_rate`).
            batch_size: windows per model call.
            top_k: how many `(name, probability)` pairs per clip in `top_k`.
            return_windows: also return `windows` (per clip, the
                `(windows, num_classes)` probabilities that were averaged) and
                `window_starts` (seconds).

        Returns:
            dict as `Classifier.predict`, plus the window scores on request.
        """
        waves = self._load_waveforms(inputs)  # decode files once for both passes
        result = super().predict(waves, batch_size=batch_size, top_k=top_k)
        if return_windows:
            windows = self.predict_windows(waves, batch_size=batch_size)
            result["windows"] = windows["probabilities"]
            result["window_starts"] = windows["window_starts"]
        return result

    # Export hooks --------------------------------------------------------------
    def serving_endpoints(self):
        """`serving_default` (waveforms of any length), `wav` (WAV bytes), `features` (clips)."""
        return audio_endpoints(self)

    def serving_metadata(self):
        return {"preprocessing": audio_settings(self)}

    # On-device files take float32 waveform windows `(1, num_samples)`: the default edge endpoint.
    def web_settings(self):
        """The page reads WAV files at the model's sample rate (`edge_metadata`'s framing)."""
        return {}

    def edge_metadata(self):
        return audio_edge_metadata(self)

    def edge_float_layers(self):
        """The log-mel front end stays float in int8 files."""
        return (AUDIO_FRONT_END,)

    # Explain hook --------------------------------------------------------------
    def explanation_views(self, batch, cam):
        """Grad-CAM maps over the log-mel `(frames, mel_bins)` and a per-frame `curves` entry.

        A time map (1-D presets: the mel bins are channels) is resized to the frames
        and spread over the bins; a 2-D map (`"spectrogram_2d"`) is resized to the
        spectrogram and its curve is the mean over the bins. `frame_seconds` is the
        hop between frames.
        """
        from mmcnn.explain import normalize_maps, resize_map

        converter = self.model.get_layer(AUDIO_FRONT_END)
        spectrograms = np.asarray(converter(np.asarray(batch, dtype="float32")), dtype="float32")
        frames, bins = spectrograms.shape[1:3]
        maps, curves = [], []
        for cam_map in cam["maps"]:
            if cam_map.ndim == 1:
                curve = resize_map(cam_map, (frames,))
                maps.append(np.repeat(curve[:, None], bins, axis=1))
            else:
                maps.append(resize_map(cam_map, (frames, bins)))
                curve = normalize_maps(maps[-1].mean(axis=1)[None])[0]
            curves.append(curve)
        return {
            "maps": maps,
            "backgrounds": list(spectrograms),
            "curves": curves,
            "frame_seconds": converter.hop_length / converter.sample_rate,
        }

    def evaluate(self, data, batch_size=None, model_file=None, scores=None, return_probabilities=False):
        """Scores on `data`; clips longer than one window are scored by their mean window
        probabilities, as `predict` does (given `scores`, one window per clip, are then not
        used). With `model_file`, see `evaluate_model_file`."""
        if model_file is not None or all(len(w) <= self.num_samples for w in data.inputs):
            return super().evaluate(
                data, batch_size, model_file, scores=scores, return_probabilities=return_probabilities
            )
        self._check_classes(data, "evaluation data")
        probs = self.predict_proba(list(data.inputs), batch_size=batch_size or 64)
        report = self.scores_report(data, probs)
        return (report, probs) if return_probabilities else report
