"""`ClassifierModel`: the functional Keras model a `Classifier` owns, carrying its metadata.

Registered with Keras, so that a `.keras` file loads back as this class (and, through the
registry, as the same classifier: `mmcnn.load`).
"""

import contextlib

import keras

from mmcnn.models import registry


@keras.saving.register_keras_serializable(package="mmcnn")
class ClassifierModel(keras.Model):
    """A functional Keras model that carries its classifier's metadata.

    `metadata` holds the modality, the ordered class names and the
    classifier's constructor arguments, so that a `.keras` file loads back
    as the same classifier (`mmcnn.load`) and plain
    `keras.saving.load_model` still gives a working Keras model.
    """

    def __init__(self, *args, metadata=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.metadata = dict(metadata or {})

    def get_config(self):
        config = super().get_config()
        config["metadata"] = self.metadata
        return config

    def features_model(self, layer_name):
        """The model from its input to the output of its layer `layer_name` (shared layers)."""
        return keras.Model(self.input, self.get_layer(layer_name).output, name=f"{self.name}_features")

    @contextlib.contextmanager
    def inputs_at(self, layer_name):
        """Within the block, calling the model takes the output of its layer `layer_name` in
        place of the model input, and runs only the layers after it.

        `fit` uses it to train on features its data pipeline computed once and
        cached (`Classifier.cached_feature_layer`): `model.fit` inside the block
        trains the same variables, and callbacks, checkpoints and backups see
        and save the whole model. The compiled step functions are dropped on
        entry and exit, so that they are traced for the inputs of the moment;
        `predict` inside the block also takes features."""
        suffix = keras.Model(
            self.get_layer(layer_name).output, self.output, name=f"{self.name}_after_{layer_name}"
        )
        self._reset_step_functions()
        # Not a tracked attribute: the suffix model shares this model's layers.
        object.__setattr__(self, "_inputs_at", suffix)
        try:
            yield suffix
        finally:
            object.__setattr__(self, "_inputs_at", None)
            self._reset_step_functions()

    def _reset_step_functions(self):
        self.train_function = self.test_function = self.predict_function = None

    def __call__(self, *args, **kwargs):
        suffix = self.__dict__.get("_inputs_at")
        if suffix is not None:
            return suffix(*args, **kwargs)
        return super().__call__(*args, **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # The modality's layers must be registered before the graph is rebuilt: import its package
        # (and only that one) through the registry.
        registry.import_modality(config.get("metadata"))
        return super().from_config(config, custom_objects=custom_objects)
