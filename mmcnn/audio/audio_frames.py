"""In-graph framing of waveforms of any length into the model's fixed-length windows.

The TensorFlow twin of `mmcnn.audio.audio_loading.frame_windows`: same window
starts, same centred zero padding of short clips, so that an exported audio
model aggregates exactly the windows that `AudioClassifier.predict` does.
"""

import tensorflow as tf

from mmcnn.audio.audio_loading import check_framing

SAMPLE_AXIS = -1


def window_starts(length, num_samples, hop):
    """Start sample of each window for a clip of `length` samples (after padding), in-graph.

    Windows start every `hop` samples and one more window is aligned with the
    end of the clip when the regular ones stop short of it; `range(0, L - N, hop)`
    followed by `L - N` is exactly that list, duplicates excluded.

    Args:
        length: scalar int32 tensor, clip length (at least `num_samples`).
        num_samples: window length.
        hop: samples between window starts.

    Returns:
        int32 tensor `(windows,)`.
    """
    last = length - num_samples
    return tf.concat([tf.range(0, last, hop, dtype=tf.int32), tf.reshape(last, [1])], axis=0)


def frame_windows(waveforms, num_samples, hop):
    """Cuts a batch of equally long waveforms into overlapping fixed-length windows, in-graph.

    A clip not longer than `num_samples` becomes one window, zero-padded around
    the centre (an odd extra sample of padding goes to the end), as
    `fit_length(mode="center")`; a longer clip gives windows every `hop`
    samples plus one aligned with its end, as `frame_windows`.

    Args:
        waveforms: float tensor `(batch, samples)` or `(samples,)`; `samples`
            may be unknown until run time.
        num_samples: window length (the model's clip length in samples).
        hop: samples between window starts, `1 <= hop <= num_samples`.

    Input shape:
        `(batch, samples)` or `(samples,)`.

    Output shape:
        `(batch, windows, num_samples)` or `(windows, num_samples)`, where
        `windows` is the same for every clip of the batch.

    Example:
    >>> frame_windows(tf.range(10.0), num_samples=4, hop=4)[:, 0].numpy().tolist()
    [0.0, 4.0, 6.0]
    """
    num_samples, hop = check_framing(num_samples, hop)
    waveforms = tf.convert_to_tensor(waveforms)
    if waveforms.shape.rank not in (1, 2):
        raise ValueError(
            "`waveforms` must have rank 1 (samples,) or 2 (batch, samples). "
            f"Received: shape={tuple(waveforms.shape)}"
        )
    length = tf.shape(waveforms)[SAMPLE_AXIS]
    missing = tf.maximum(num_samples - length, 0)
    left = missing // 2
    paddings = [[0, 0]] * (waveforms.shape.rank - 1) + [[left, missing - left]]
    padded = tf.pad(waveforms, paddings)
    starts = window_starts(tf.maximum(length, num_samples), num_samples, hop)
    indices = starts[:, None] + tf.range(num_samples, dtype=tf.int32)[None, :]
    windows = tf.gather(padded, indices, axis=waveforms.shape.rank - 1)
    static = waveforms.shape.as_list()[:-1] + [None, num_samples]
    windows.set_shape(static)
    return windows
