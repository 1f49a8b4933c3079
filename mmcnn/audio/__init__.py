"""Audio: 1-D receptive fields over spectrogram frames (time)."""

from mmcnn.audio.audio_adapter import AddChannelAxis, AudioAdapter
from mmcnn.audio.audio_augmentation import BackgroundNoise, RandomGain, RandomTimeShift, SpecAugment
from mmcnn.audio.audio_classifier import AudioClassifier, augmentation_layers
from mmcnn.audio.audio_converter import LogMelSpectrogram
from mmcnn.audio.audio_data import (
    AUDIO_EXTENSIONS,
    cache_path,
    from_arrays,
    from_dataframe,
    from_directory,
    load_cached,
)
from mmcnn.audio.audio_loading import AudioError, fit_length, frame_windows, load_audio

__all__ = [
    "AUDIO_EXTENSIONS",
    "AddChannelAxis",
    "AudioAdapter",
    "AudioClassifier",
    "AudioError",
    "BackgroundNoise",
    "LogMelSpectrogram",
    "RandomGain",
    "RandomTimeShift",
    "SpecAugment",
    "augmentation_layers",
    "cache_path",
    "fit_length",
    "frame_windows",
    "from_arrays",
    "from_dataframe",
    "from_directory",
    "load_audio",
    "load_cached",
]
