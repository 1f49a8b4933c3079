"""The `EpochSeeds` callback: the model's random layers re-seeded from `(seed, epoch)`."""

import keras
import numpy as np

from mmcnn.training.seeds import epoch_seed, seed_generators


class EpochSeeds(keras.callbacks.Callback):
    """Re-seeds the model's random layers from `(seed, epoch)` at the start of each epoch.

    Augmentation layers and dropout draw from `keras.random.SeedGenerator`s
    whose state advances with every batch and is not saved by
    `save_weights`; setting it per epoch makes epoch `e`'s random numbers the
    same in an uninterrupted and in a resumed run.

    Args:
        seed: the run's integer seed.
    """

    def __init__(self, seed=0):
        super().__init__()
        self.seed = int(seed)

    def on_epoch_begin(self, epoch, logs=None):
        for i, generator in enumerate(seed_generators(self.model)):
            state = generator.state
            value = np.array([epoch_seed(self.seed, epoch, 2 + i), 0])
            state.assign(value.astype(keras.backend.standardize_dtype(state.dtype)))
