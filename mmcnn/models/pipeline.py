"""The input pipeline of a classifier: labelled data -> batched `tf.data`, and models run in batches.

`Classifier.make_dataset` delegates here. Each function takes the classifier
and reaches its modality through its hooks (`input_dataset`, `training_map`,
`example_nbytes`), so a modality's overrides (the image classifier's
`make_dataset`) stay in force.
"""

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from mmcnn.data import LabeledData
from mmcnn.training import apply_random_map, epoch_dataset

DEFAULT_CACHE_BYTES = 2 * 1024**3
SHUFFLE_BUFFER = 20000  # examples, when the decoded data set is cached in memory
FEATURE_BATCH = 256  # examples per call of the layers that compute cached features
STREAMING_SHUFFLE_BUFFER = 1024  # examples, when it is too large to cache


def predict_in_batches(model, x, batch_size=64):
    """`model.predict(x)` for inputs already in memory, one `predict_on_batch` per `batch_size` rows.

    `model.predict` sets up a data adapter, callbacks and a progress bar at
    every call, about 0.1 s on a 2-core CPU: that dominated `predict` on a few
    dozen inputs at a time, as `mmcnn predict` calls it (the audio default: 468
    clips/s in chunks of 64 through `model.predict`, 2,390 through this)."""
    # `x`: one batch, or a dict of batches for a model with several inputs (a table's columns).
    n = int(tf.nest.flatten(x)[0].shape[0])
    if n == 0:  # (model.predict fails on no inputs)
        return np.zeros((0, *model.output_shape[1:]), dtype="float32")
    batches = (
        tf.nest.map_structure(lambda v, start=start: v[start : start + batch_size], x)
        for start in range(0, n, batch_size)
    )
    return np.concatenate([np.asarray(model.predict_on_batch(batch)) for batch in batches])


def fits_cache(clf, data, cache_bytes=DEFAULT_CACHE_BYTES):
    """Whether `make_dataset` caches `data` decoded in memory (at most `cache_bytes`)."""
    return len(data) * clf.example_nbytes() <= cache_bytes


def make_dataset(
    clf,
    data,
    training=False,
    batch_size=None,
    cache_bytes=DEFAULT_CACHE_BYTES,
    epochs=None,
    first_epoch=0,
    features=None,
):
    """`Classifier.make_dataset` of `clf`: see there."""
    if not isinstance(data, LabeledData):
        raise TypeError(
            f"expected LabeledData (from mmcnn.<modality>.from_directory/from_dataframe/"
            f"from_arrays); received {type(data).__name__}"
        )
    batch_size = batch_size or clf.setting("batch_size")
    cached = fits_cache(clf, data, cache_bytes)
    shuffle_buffer = SHUFFLE_BUFFER if cached else STREAMING_SHUFFLE_BUFFER
    if training and clf._shuffle_training and len(data) > shuffle_buffer:
        # A shuffle buffer of decoded examples is bounded by memory. Data listed folder by
        # folder (or a manifest sorted by label) would then give batches of a few classes,
        # drifting through the classes within each epoch: permute the (cheap) inputs once,
        # from the seed, and shuffle the decoded examples in a window of that order.
        data = data.subset(np.random.default_rng(clf.seed).permutation(len(data)))
    labels = data.target_matrix() if clf.multi_label else data.labels
    ds = tf.data.Dataset.zip(
        (clf.input_dataset(data, training=training), tf.data.Dataset.from_tensor_slices(labels))
    )
    if features is not None:
        compute = clf.model.features_model(features)
        ds = (
            ds.batch(FEATURE_BATCH)
            .map(lambda x, y: (compute(x, training=False), y), num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
            .apply(tf.data.experimental.assert_cardinality(len(data)))
        )
    if cached:
        ds = ds.cache()
    random_map = clf.training_map(clf.seed) if training and features is None else None
    if training and epochs is not None and clf._shuffle_training:
        return epoch_dataset(
            ds,
            len(data),
            batch_size,
            epochs,
            seed=clf.seed,
            first_epoch=first_epoch,
            random_map=random_map,
            shuffle_buffer=shuffle_buffer,
        )
    if training and clf._shuffle_training:
        ds = ds.shuffle(min(len(data), shuffle_buffer), seed=clf.seed, reshuffle_each_iteration=True)
    if training:
        if random_map is not None:
            ds = apply_random_map(ds, random_map, clf.seed)
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def split_scores(clf, data, batch_size=None):
    """The model's outputs `(len(data), num_classes)` on a labelled split (`clf.make_dataset`)."""
    if not len(data):
        return np.zeros((0, clf.num_classes or len(clf.class_names)), "float32")
    return np.asarray(clf.model.predict(clf.make_dataset(data, batch_size=batch_size), verbose=0))


class SplitScores(NamedTuple):
    """The model's outputs (`split_scores`) on one labelled split, kept to be reused instead of
    predicting the split again: `fit` keeps those on its validation split as
    `Classifier.validation_scores`, and `mmcnn train` scores and reports with them."""

    data: LabeledData
    scores: np.ndarray
