"""The in-graph framing of an audio export against `audio_loading.frame_windows`."""

import doctest

import numpy as np
import pytest
import tensorflow as tf

from mmcnn.audio import audio_frames
from mmcnn.audio.audio_frames import frame_windows
from mmcnn.audio.audio_loading import frame_windows as reference_frames


@pytest.mark.parametrize("num_samples,hop", [(4, 3), (4, 4), (5, 2), (6, 1), (7, 7)])
def test_same_windows_as_frame_windows_for_every_length(num_samples, hop):
    # Covers short clips (odd and even padding), exact length, regular and end-aligned windows.
    traced = tf.function(
        lambda x: frame_windows(x, num_samples, hop),
        input_signature=[tf.TensorSpec([None, None], tf.float32)],
    )
    for length in range(0, 4 * num_samples + 3):
        clip = np.arange(1, length + 1, dtype="float32")
        expected = reference_frames(clip, num_samples, hop)
        np.testing.assert_array_equal(frame_windows(clip, num_samples, hop).numpy(), expected)
        batch = np.stack([clip, -clip])
        got = traced(batch).numpy()
        np.testing.assert_array_equal(got[0], expected)
        np.testing.assert_array_equal(got[1], reference_frames(-clip, num_samples, hop))


def test_output_shape_is_static_where_known():
    windows = frame_windows(tf.zeros((3, 11)), num_samples=4, hop=2)
    assert windows.shape == (3, 5, 4)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(num_samples=0, hop=1), "`num_samples` must be a positive integer. Received: num_samples=0"),
        (dict(num_samples=4, hop=5), "`hop` must not exceed `num_samples`"),
        (dict(num_samples=4, hop=2.0), "`hop` must be a positive integer. Received: hop=2.0"),
    ],
)
def test_invalid_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        frame_windows(tf.zeros((2, 10)), **kwargs)


def test_rank_is_checked():
    with pytest.raises(ValueError, match="`waveforms` must have rank 1"):
        frame_windows(tf.zeros((2, 3, 10)), num_samples=4, hop=2)


def test_docstring_examples_run():
    results = doctest.testmod(audio_frames, verbose=False)
    assert results.attempted > 0 and results.failed == 0
