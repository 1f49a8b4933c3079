"""The hooks a modality fills, in one documented block: the base class of `Classifier`.

`Classifier` inherits these defaults; a modality classifier (image, audio,
text, board, or a test's own) overrides the ones it needs. docs/DESIGN.md
("The task") says what each is for.
"""

import warnings

import numpy as np

from mmcnn._keras_compat import first_inbound_node
from mmcnn.export.endpoints import model_input_endpoint
from mmcnn.models.backbone import Backbone
from mmcnn.models.compile_defaults import default_loss

# The hooks' underscore names before they became public, old -> new (kept working for one release).
OLD_HOOK_NAMES = {
    "_model_input": "model_input",
    "_front_layers": "front_layers",
    "_backbone_layer": "backbone_layer",
    "_pretrained_layers": "pretrained_layers",
    "_transfer_prepare": "prepare_transfer",
    "_adapt_transfer_weight": "adapt_transfer_weight",
    "_prepare_for_training": "prepare_for_training",
    "_input_dataset": "input_dataset",
    "_training_map": "training_map",
    "_element_nbytes": "example_nbytes",
    "_loss": "training_loss",
    "_metrics": "training_metrics",
    "_explanation_views": "explanation_views",
}


class ModalityHooks:
    """What a modality says about itself: each method has a default or raises `NotImplementedError`.

    Required: `model_input`, `front_layers`, `input_dataset` and `preprocess`
    (with `Classifier`'s class attributes `modality`, `presets`, `default_preset`).

    A subclass written against the old underscore names (`OLD_HOOK_NAMES`) still works for one
    release: its method is used under the new name, with a `DeprecationWarning` naming both.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for old, new in OLD_HOOK_NAMES.items():
            if old in cls.__dict__ and new not in cls.__dict__:
                warnings.warn(
                    f"{cls.__qualname__}.{old} is the old name of the modality hook `{new}`; "
                    f"rename it to `{new}` (the old name stops working in the next release)",
                    DeprecationWarning,
                    stacklevel=2,
                )
                setattr(cls, new, cls.__dict__[old])

    # ----------------------------------------------------------------------------------- the model
    def model_input(self):
        raise NotImplementedError

    def front_layers(self):
        """Layers from the model input to the backbone (converter, augmentation, adapter)."""
        raise NotImplementedError

    def backbone_layer(self):
        """The layer between the front layers and the head, named `"backbone"` (None: none).

        Default: the shared `Backbone` of the preset's `stages`."""
        preset = self.preset_config
        if not preset.get("stages"):
            return None
        return Backbone(
            preset["stages"],
            rank=self.rank,
            block=preset.get("block", "conv"),
            pad_mode=preset.get("pad_mode", "zeros"),
            name="backbone",
        )

    def pretrained_layers(self):
        """Names of layers built with given weights (a user's backbone): frozen first, like a warm start's."""
        return ()

    def auto_augmentation(self, examples_per_class):
        """The policy `augmentation="auto"` stands for, given the training examples per class
        (None when the model is built before any data); modalities that accept `"auto"` define it."""
        raise NotImplementedError(f"{type(self).__name__} has no augmentation='auto'")

    # ---------------------------------------------------------------------------------- warm start
    def prepare_transfer(self, source):
        """Called by `build` with the loaded `init_from` classifier, before the layers are made
        (the text classifier takes the source's vocabulary here)."""

    def adapt_transfer_weight(self, layer_name, variable_path, value, target_value):
        """A warm start's source variable made to fit this model where it differs in a well-defined
        way (grey -> RGB stem, a relearned vocabulary's embedding rows): the array to copy, or None
        to copy `value` as it is (a shape that still differs fails, naming both shapes)."""
        return None

    @classmethod
    def used_modalities(cls, config):
        """Other modalities whose layers a model of this class (with constructor arguments
        `config`) holds: loading imports their packages first. Default: none."""
        return ()

    # ---------------------------------------------------------------------------------------- data
    @classmethod
    def reader_options(cls, settings):
        """Arguments of the modality's data readers (`from_dataframe`) taken from its constructor
        `settings` (what `mmcnn train` reads the data with; the table classifier's `columns`).
        Default: none."""
        return {}

    def prepare_for_training(self, data):
        """Called by the first `fit` before the model is built (text learns its vocabulary)."""

    def input_dataset(self, data, training=False):
        """Unbatched `tf.data.Dataset` of model inputs, deterministic, in `data` order.

        `training` says the examples are for training: they may keep what a random
        `training_map` needs (e.g. whole long audio clips, cropped later)."""
        raise NotImplementedError

    def training_map(self, seed):
        """Optional random per-example map applied after caching in training (e.g. random crop)."""
        return None

    def example_nbytes(self):
        """Bytes one decoded model input takes (what `make_dataset` weighs against `cache_bytes`)."""
        return 0

    # The name of the model's preprocessor: the layer that turns its raw input into features
    # (log-mel, tokenizer) with no trainable weights and nothing random; None: none.
    preprocessor_layer = None

    def crops_in_training(self, data):
        """Whether `training_map` draws a different input from an example of `data` at every
        epoch (audio clips longer than the model's window are cropped at random): such inputs
        cannot go through the preprocessor once and be cached. Default False."""
        return False

    def cached_feature_layer(self, data):
        """The name of the model layer whose outputs `fit(data, cache_features=True)` computes
        once per example and caches in place of the inputs, or None (the whole model runs at
        every step).

        The default is the modality's `preprocessor_layer` where the model's input reaches it
        untouched (no augmentation before it) and `crops_in_training(data)` is False."""
        name = self.preprocessor_layer
        if name is None or self.crops_in_training(data):
            return None
        names = {layer.name for layer in self.model.layers}
        if name not in names:
            return None
        layer = self.model.get_layer(name)
        if layer.trainable_weights:
            raise ValueError(
                f"{type(self).__name__}.preprocessor_layer names {name!r}, which has trainable weights: "
                "a preprocessor's outputs are computed once and cached, so it must have none"
            )
        inputs = first_inbound_node(layer).input_tensors
        return name if len(inputs) == 1 and inputs[0] is self.model.inputs[0] else None

    def preprocess(self, inputs):
        """Raw user inputs (files, bytes, arrays, strings) -> a batch of model inputs.

        What `predict` feeds the Keras model (`clf.model`); each modality says
        which raw inputs it takes."""
        raise NotImplementedError

    def input_from_file(self, path):
        """The raw input `predict` takes for a file: the path itself, unless the modality reads it
        here (text classifiers read the file's text)."""
        return path

    def manifest_inputs(self, path):
        """`mmcnn predict`'s inputs from a CSV manifest: a list of `(source, raw input)`, or None
        for the default (the `path` column, relative to the manifest; `text` for text models)."""
        return None

    def check_input_file(self, path):
        """The cheap check (header, declared size) a file passes before `file_dataset` decodes it;
        raises `ValueError` naming the file. Default: none."""

    # ------------------------------------------------------------------------------------ training
    def training_loss(self):
        """The training loss (labels are class ids), with the preset's `label_smoothing` (default 0)."""
        return default_loss(self.preset_config)

    def training_metrics(self):
        return ["accuracy"]

    # ------------------------------------------------------------------------------------- explain
    def explanation_views(self, batch, cam):
        """Hook: `mmcnn.explain.grad_cam`'s result for a `preprocess`ed batch -> a dict with `maps`
        (at the input's resolution), `backgrounds` (what each map is drawn over) and any extras.
        Default: the maps at the feature maps' resolution, nothing to draw them over."""
        return {"maps": list(cam["maps"]), "backgrounds": [None] * len(cam["maps"])}

    # -------------------------------------------------------------------------------------- export
    def serving_endpoints(self):
        """The endpoints an export serves: a list of `mmcnn.export.Endpoint`, `serving_default` first.

        Each endpoint's function takes raw input tensors and returns
        `mmcnn.export.serving_outputs(probabilities, class_names)`. The default
        serves the model's own input; a modality overrides it to take raw input
        (image bytes, waveforms, texts)."""
        return [model_input_endpoint(self)]

    def serving_metadata(self):
        """Entries for an export's `mmcnn.json`: `preprocessing` (what a client does to raw
        input), `serving_requires` (packages loading needs besides TensorFlow), and any
        other entries the modality records."""
        return {}

    def serving_input(self):
        """The raw input this modality takes as one input of a multi-input export (a table's
        column, `mmcnn.multimodal`), and how it becomes the model input: `(tf.TensorSpec, fn)`.

        `fn` maps a batch of raw inputs to a batch of model inputs inside the exported graph,
        and must not fail on the missing marker (an empty string, or an all-NaN example),
        whose result is masked out. Default: the model's own input; NaN becomes 0."""
        import tensorflow as tf

        spec = self.model_input()
        dtype = tf.as_dtype(spec.dtype)

        def make(raw):
            if dtype.is_floating:
                return tf.where(tf.math.is_nan(raw), tf.zeros_like(raw), raw)
            return raw

        return tf.TensorSpec([None, *spec.shape[1:]], dtype), make

    def edge_endpoint(self):
        """The input of on-device files (LiteRT, ONNX): an `Endpoint` whose `fn` maps one tensor,
        batch 1, as close to raw input as built-in ops allow, to float32 probabilities
        `(1, num_classes)`. Default: the model's own input."""
        from mmcnn.export.edge import model_input_edge_endpoint

        return model_input_edge_endpoint(self)

    def edge_inputs(self, batch):
        """A batch of model inputs (what `preprocess` and `make_dataset` give) -> a NumPy batch of
        `edge_endpoint` inputs (calibration, and scoring converted files). Default: the same values."""
        return np.asarray(batch)

    def edge_metadata(self):
        """What a device app needs to make the edge input from raw input; stored inside the files."""
        return {}

    def edge_float_layers(self):
        """Names of layers that int8 quantization must keep float (default: none)."""
        return ()

    def web_endpoint(self):
        """The endpoint the web page's ONNX file runs (`mmcnn export --format web`); default
        `edge_endpoint()`."""
        return self.edge_endpoint()

    def web_settings(self):
        """What the web page needs, besides the ONNX file's document, to make the model's input
        from raw input in JavaScript: a JSON-ready dict (its `"preprocessing"` entry, if any,
        updates the document's), or None where the page has no reader for this modality's input
        (the default). Raises `ValueError` for a model whose input the page cannot reproduce."""
        return None
