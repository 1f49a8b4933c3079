"""Randomness from `(seed, epoch)` alone: the epoch's data order and map, the model's seed generators.

`tf.data`'s own `shuffle(seed=..., reshuffle_each_iteration=True)` draws each
epoch's order from how many iterators the dataset has made *in this process*,
so after a restart epoch 5 would get epoch 1's order; `epoch_dataset` derives
epoch `e`'s order and random map from `(seed, e)` only.
"""

import inspect
import logging
import math

import tensorflow as tf

from mmcnn._keras_compat import flatten_layers, layer_seed_generators
from mmcnn.layers import validation as v

logger = logging.getLogger("mmcnn")

# Large odd multipliers (from splitmix64) keep (seed, epoch, stream) triples apart.
_MIX_A = 0x9E3779B97F4A7C15
_MIX_B = 0xBF58476D1CE4E5B9
_MASK63 = (1 << 63) - 1
_MASK64 = (1 << 64) - 1


def epoch_seed(seed, epoch, stream=0):
    """A 63-bit integer seed derived from `(seed, epoch, stream)` only.

    Args:
        seed: the run's integer seed.
        epoch: 0-based epoch.
        stream: which random stream (0: shuffle, 1: data map, 2 + i: the model's
            i-th seed generator).

    Returns:
        Python int in `[0, 2**63)`.

    Example:
    >>> epoch_seed(0, 1) == epoch_seed(0, 1) != epoch_seed(0, 2)
    True
    """
    value = 0
    for part in (seed, epoch, stream):
        value = _mix64(value ^ (int(part) & _MASK64))
    return value & _MASK63


def _mix64(value):
    # splitmix64's finaliser: a bijection of 64-bit integers that spreads every input bit.
    value = (value + _MIX_A) & _MASK64
    value = ((value ^ (value >> 30)) * _MIX_B) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


def epoch_dataset(
    dataset, size, batch_size, epochs, seed=0, first_epoch=0, random_map=None, shuffle_buffer=20000
):
    """Batches for epochs `first_epoch .. epochs - 1`, each shuffled from `(seed, epoch)`.

    Meant for `model.fit(..., steps_per_epoch=steps_per_epoch(size, batch_size))`:
    Keras then reads one iterator across epochs, and epoch `e` holds the same
    batches whether the run started at epoch 0 or resumed at `e`. Each epoch
    ends with its own partial batch (no batch mixes two epochs).

    Args:
        dataset: unbatched `(input, label)` dataset in a fixed order (cache it
            before: it is read once per epoch).
        size: number of elements in `dataset`.
        batch_size: batch size.
        epochs: total number of epochs of the run.
        seed: the run's integer seed.
        first_epoch: 0-based epoch to start from (a resumed run's).
        random_map: optional `fn(x, y, seed) -> (x, y)` applied after the
            shuffle, where `seed` is a per-element int64 `(2,)` tensor for
            stateless ops (`tf.random.stateless_uniform(..., seed=seed)`),
            derived from `(seed, epoch, position)`. A function of two arguments
            is applied as `fn(x, y)` (its randomness is then not reproducible
            across a resume).
        shuffle_buffer: the most elements the shuffle buffer holds.

    Returns:
        A batched, prefetched `tf.data.Dataset`.

    Example:
    >>> ds = epoch_dataset(tf.data.Dataset.range(4).map(lambda i: (i, i)), 4, 4, epochs=3, seed=1)
    >>> resumed = epoch_dataset(tf.data.Dataset.range(4).map(lambda i: (i, i)), 4, 4, epochs=3,
    ...                         seed=1, first_epoch=1)
    >>> [b[0].tolist() for b in ds.as_numpy_iterator()][1:] == \\
    ...     [b[0].tolist() for b in resumed.as_numpy_iterator()]
    True
    """
    for name, value in (("size", size), ("batch_size", batch_size), ("epochs", epochs)):
        v.check_count(name, value)
    v.check_count("first_epoch", first_epoch, allow_zero=True)
    buffer = int(min(size, shuffle_buffer))
    legacy_map = random_map is not None and _positional_arity(random_map) == 2
    if legacy_map:
        logger.warning(
            "epoch_dataset: %s takes (x, y) and draws its own random numbers; they "
            "are not reproducible across a resume. Take (x, y, seed) and use "
            "stateless ops.",
            getattr(random_map, "__name__", random_map),
        )

    def one_epoch(epoch):
        # Python-int seeds: TensorFlow's seed handling cannot take a tensor once a global
        # seed is set (keras.utils.set_random_seed), so each epoch is its own dataset.
        shuffled = dataset.shuffle(buffer, seed=epoch_seed(seed, epoch, 0), reshuffle_each_iteration=False)
        if legacy_map:
            shuffled = shuffled.map(random_map, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        elif random_map is not None:
            map_seed = tf.constant(epoch_seed(seed, epoch, 1), tf.int64)
            shuffled = shuffled.enumerate().map(
                lambda i, xy: random_map(xy[0], xy[1], tf.stack([map_seed, i])),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
        return shuffled.batch(batch_size)

    epoch_numbers = list(range(first_epoch, epochs))
    if not epoch_numbers:
        return dataset.batch(batch_size).take(0)
    steps = steps_per_epoch(size, batch_size)
    # One flat dataset that reads `steps` batches from epoch 0's dataset, then from epoch 1's...
    choice = tf.data.Dataset.range(len(epoch_numbers)).flat_map(
        lambda k: tf.data.Dataset.from_tensors(k).repeat(steps)
    )
    ds = tf.data.Dataset.choose_from_datasets(
        [one_epoch(e) for e in epoch_numbers], choice, stop_on_empty_dataset=True
    )
    return ds.prefetch(tf.data.AUTOTUNE)


def apply_random_map(dataset, random_map, seed=0):
    """Applies a `fn(x, y, seed)` (or legacy `fn(x, y)`) random map outside `epoch_dataset`.

    For pipelines that Keras re-iterates every epoch (no `steps_per_epoch`): the
    per-element seeds come from `tf.data.Dataset.random(seed)`, which draws new
    numbers on each iteration, so the map differs from epoch to epoch.
    """
    if _positional_arity(random_map) == 2:
        return dataset.map(random_map, num_parallel_calls=tf.data.AUTOTUNE)
    seeds = tf.data.Dataset.random(seed=int(seed), rerandomize_each_iteration=True).batch(2)
    return tf.data.Dataset.zip(dataset, seeds).map(
        lambda xy, element_seed: random_map(xy[0], xy[1], element_seed), num_parallel_calls=tf.data.AUTOTUNE
    )


def steps_per_epoch(size, batch_size):
    """Batches in one epoch of `size` elements (the last one partial)."""
    return int(math.ceil(size / batch_size))


def _positional_arity(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 3
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def seed_generators(model):
    """Every `keras.random.SeedGenerator` of `model` and its sub-layers, in a fixed order."""
    found, seen = [], set()
    for layer in flatten_layers(model, include_self=True):
        for generator in layer_seed_generators(layer):
            if id(generator) not in seen:
                seen.add(id(generator))
                found.append(generator)
    return found
