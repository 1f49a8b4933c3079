"""The classifier task: converter -> adapter -> backbone -> head, trained once for all modalities.

A modality classifier (image, audio, text) is a short subclass that names its
model input, its front layers (converter, augmentation, adapter), its presets,
and how raw user inputs become model inputs. Everything else (compile
defaults, fit, evaluate, predict, save, load) lives here.
"""

import inspect
import logging
import os

import keras
import numpy as np
import tensorflow as tf

from mmcnn._version import __version__
from mmcnn.data import DataError, LabeledData
from mmcnn.export.endpoints import model_input_endpoint
from mmcnn.layers import ClassifierHead
from mmcnn.models import registry
from mmcnn.models.backbone import Backbone
from mmcnn.models.metrics import classification_report
from mmcnn.training import (
    apply_random_map,
    check_keras_file,
    epoch_dataset,
    keras_file_metadata,
    save_model_atomic,
    steps_per_epoch,
    training_callbacks,
)

logger = logging.getLogger("mmcnn")

DEFAULT_CACHE_BYTES = 2 * 1024**3
STEPS_PER_EXECUTION = 8
SHUFFLE_BUFFER = 20000  # examples, when the decoded data set is cached in memory
STREAMING_SHUFFLE_BUFFER = 1024  # examples, when it is too large to cache


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

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # The modality's layers must be registered before the graph is rebuilt: import its package
        # (and only that one) through the registry.
        registry.import_modality(config.get("metadata"))
        return super().from_config(config, custom_objects=custom_objects)


class Classifier:
    """Base of `ImageClassifier`, `AudioClassifier` and `TextClassifier`.

    Subclasses set `modality`, `presets`, `default_preset` and implement
    `_model_input`, `_front_layers`, `_input_dataset` and `preprocess`.
    Their `__init__` arguments are stored as attributes of the same names;
    `get_config()` returns them.
    """

    modality = None
    presets = {}
    default_preset = None
    # The modality's readers of labelled data (`mmcnn.<modality>.from_directory` /
    # `from_dataframe`), for `read_data`; None where the modality has none.
    from_directory = None
    from_dataframe = None
    # File types `mmcnn predict FOLDER` looks for (lower-case extensions with the dot).
    input_extensions = ()
    # Tests of distributed training turn this off to compare runs batch by batch.
    _shuffle_training = True

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A class that names its modality registers itself (`mmcnn.models.registry`).
        if cls.__dict__.get("modality"):
            registry.register_classifier(cls)

    def __init__(
        self,
        num_classes=None,
        class_names=None,
        preset=None,
        augmentation="standard",
        learning_rate=None,
        epochs=None,
        batch_size=None,
        seed=0,
    ):
        if preset is None:
            preset = self.default_preset
        if preset not in self.presets:
            raise ValueError(f"`preset` must be one of {sorted(self.presets)}. Received: preset={preset!r}")
        if class_names is not None:
            class_names = [str(c) for c in class_names]
            if num_classes is not None and num_classes != len(class_names):
                raise ValueError(
                    f"`num_classes` ({num_classes}) disagrees with len(class_names) "
                    f"({len(class_names)}). Received: class_names={class_names}"
                )
            num_classes = len(class_names)
        if num_classes is not None and (not isinstance(num_classes, int) or num_classes < 2):
            raise ValueError(f"`num_classes` must be an integer >= 2. Received: num_classes={num_classes!r}")
        self.num_classes = num_classes
        self.class_names = class_names
        self.preset = preset
        self.augmentation = augmentation
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self._model = None

    # ----------------------------------------------------------------- config
    @property
    def preset_config(self):
        """The preset's settings: stages, block, head, training defaults."""
        return dict(self.presets[self.preset])

    def get_config(self):
        names = []
        for cls in type(self).__mro__:
            if "__init__" in cls.__dict__:
                names += [
                    n
                    for n in inspect.signature(cls.__dict__["__init__"]).parameters
                    if n not in ("self", "kwargs") and n not in names
                ]
            if cls is Classifier:
                break
        return {name: getattr(self, name) for name in names}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def setting(self, name):
        """A training setting (`learning_rate`, `epochs`, `batch_size`, ...): the
        constructor's argument when one was given, else the preset's default.

        Example:
        >>> import mmcnn
        >>> mmcnn.image.ImageClassifier(num_classes=2, preset="tiny", epochs=3).setting("epochs")
        3
        """
        value = getattr(self, name)
        return self.preset_config[name] if value is None else value

    # ------------------------------------------------------------------ model
    @property
    def model(self):
        """The Keras model: model input -> class probabilities."""
        if self._model is None:
            self.build()
        return self._model

    @property
    def rank(self):
        return self.preset_config.get("rank", 1)

    def build(self):
        """Builds the Keras model (needs `num_classes`)."""
        if self.num_classes is None:
            raise ValueError(
                f"{type(self).__name__} needs `num_classes` or `class_names` before it "
                "can be built; pass them, or call fit() with labelled data"
            )
        if self.class_names is None:
            self.class_names = [str(i) for i in range(self.num_classes)]
        keras.utils.set_random_seed(self.seed)
        preset = self.preset_config
        inputs = self._model_input()
        x = inputs
        for layer in self._front_layers():
            x = layer(x)
        if preset.get("stages"):
            x = Backbone(
                preset["stages"],
                rank=self.rank,
                block=preset.get("block", "conv"),
                pad_mode=preset.get("pad_mode", "zeros"),
                name="backbone",
            )(x)
        outputs = ClassifierHead(
            self.num_classes,
            rank=self.rank,
            pooling=preset.get("head_pooling", "avg"),
            dropout=preset.get("head_dropout", 0.0),
            hidden_units=preset.get("head_hidden_units"),
            name="head",
        )(x)
        self._model = ClassifierModel(
            inputs, outputs, name=f"{self.modality}_classifier", metadata=self._metadata()
        )
        return self._model

    def _metadata(self):
        config = self.get_config()
        config["class_names"] = self.class_names
        config["num_classes"] = self.num_classes
        return {
            "modality": self.modality,
            # For people reading the file; loading finds the class through the registry.
            "classifier": f"{type(self).__module__}.{type(self).__qualname__}",
            "class_names": self.class_names,
            "config": config,
            "mmcnn_version": __version__,
            "tensorflow_version": tf.__version__,
        }

    # Hooks for modality subclasses -------------------------------------------
    def _model_input(self):
        raise NotImplementedError

    def _front_layers(self):
        """Layers from the model input to the backbone (converter, augmentation, adapter)."""
        raise NotImplementedError

    def _prepare_for_training(self, data):
        """Called by the first `fit` before the model is built (text learns its vocabulary)."""

    def _input_dataset(self, data, training=False):
        """Unbatched `tf.data.Dataset` of model inputs, deterministic, in `data` order.

        `training` says the examples are for training: they may keep what a random
        `_training_map` needs (e.g. whole long audio clips, cropped later)."""
        raise NotImplementedError

    def _training_map(self, seed):
        """Optional random per-example map applied after caching in training (e.g. random crop)."""
        return None

    def _element_nbytes(self):
        """Bytes one cached model input takes (to decide whether the cache fits in memory)."""
        return 0

    def preprocess(self, inputs):
        """Raw user inputs (files, bytes, arrays, strings) -> a batch of model inputs.

        What `predict` feeds the Keras model (`clf.model`); each modality says
        which raw inputs it takes."""
        raise NotImplementedError

    # ------------------------------------------------------------------- data
    def make_dataset(
        self,
        data,
        training=False,
        batch_size=None,
        cache_bytes=DEFAULT_CACHE_BYTES,
        epochs=None,
        first_epoch=0,
    ):
        """Batched `(model_input, label)` dataset: decode in parallel, cache when it fits,
        shuffle (training), batch, prefetch.

        With `training` and `epochs`, one dataset holds epochs `first_epoch .. epochs - 1`
        (for `fit(..., steps_per_epoch=...)`), and epoch `e`'s order and random map come
        from `(seed, e)` alone, so a resumed run sees the batches an uninterrupted one
        would (`mmcnn.training.epoch_dataset`)."""
        if not isinstance(data, LabeledData):
            raise TypeError(
                f"expected LabeledData (from mmcnn.<modality>.from_directory/from_dataframe/"
                f"from_arrays); received {type(data).__name__}"
            )
        batch_size = batch_size or self.setting("batch_size")
        cached = len(data) * self._element_nbytes() <= cache_bytes
        shuffle_buffer = SHUFFLE_BUFFER
        if training and not cached and self._shuffle_training:
            # Streaming: a shuffle buffer of decoded examples is what would fill memory.
            # Permute the (cheap) inputs once, so that classes listed folder by folder are
            # mixed, and shuffle decoded examples in a small window.
            data = data.subset(np.random.default_rng(self.seed).permutation(len(data)))
            shuffle_buffer = STREAMING_SHUFFLE_BUFFER
        ds = tf.data.Dataset.zip(
            (self._input_dataset(data, training=training), tf.data.Dataset.from_tensor_slices(data.labels))
        )
        if cached:
            ds = ds.cache()
        if training and epochs is not None and self._shuffle_training:
            return epoch_dataset(
                ds,
                len(data),
                batch_size,
                epochs,
                seed=self.seed,
                first_epoch=first_epoch,
                random_map=self._training_map(self.seed),
                shuffle_buffer=shuffle_buffer,
            )
        if training and self._shuffle_training:
            ds = ds.shuffle(min(len(data), shuffle_buffer), seed=self.seed, reshuffle_each_iteration=True)
        if training:
            random_map = self._training_map(self.seed)
            if random_map is not None:
                ds = apply_random_map(ds, random_map, self.seed)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    def prepare(self, data):
        """Takes the class names from `data` and builds the model, as the first `fit` would.

        For looking at (or compiling) the model before training: the text
        classifier learns its vocabulary from `data` here. Returns the model."""
        self._check_classes(data, "data")
        if self._model is None:
            self._prepare_for_training(data)
            self.build()
        return self._model

    def input_from_file(self, path):
        """The raw input `predict` takes for a file: the path itself, unless the modality reads it
        here (text classifiers read the file's text)."""
        return path

    def example_nbytes(self):
        """Bytes one decoded model input takes (what `make_dataset` weighs against `cache_bytes`)."""
        return self._element_nbytes()

    @classmethod
    def read_data(cls, path, class_names=None, on_error="skip", verbose=1, **kwargs):
        """A class-per-folder directory or a CSV manifest as this modality's `LabeledData`.

        What `mmcnn train --train PATH` reads, through the modality's
        `from_directory` / `from_dataframe`."""
        path = os.fspath(path)
        if os.path.isdir(path):
            reader, what = cls.from_directory, "class-per-folder directories"
        elif path.lower().endswith(".csv"):
            reader, what = cls.from_dataframe, "CSV manifests"
        else:
            raise ValueError(f"{path}: expected a class-per-folder directory or a .csv manifest")
        if reader is None:
            raise ValueError(f"{path}: {cls.__name__} ({cls.modality}) does not read {what}")
        return reader(path, class_names=class_names, on_error=on_error, verbose=verbose, **kwargs)

    def _check_classes(self, data, what):
        if self.class_names is None:
            self.class_names = list(data.class_names)
            self.num_classes = len(self.class_names)
        elif list(data.class_names) != list(self.class_names):
            raise DataError(
                f"{what} has classes {data.class_names}, but the classifier was made for {self.class_names}"
            )

    # ------------------------------------------------------------------ train
    def compile(self, steps_per_epoch=None, epochs=None, multi_step=True):
        """Compiles with the defaults: AdamW, cosine-decayed learning rate, cross-entropy.

        `multi_step` runs several training steps per call of the compiled step
        (see `steps_per_execution`)."""
        lr = self.setting("learning_rate")
        if steps_per_epoch and epochs:
            lr = keras.optimizers.schedules.CosineDecay(
                0.0,
                decay_steps=max(1, steps_per_epoch * epochs - steps_per_epoch // 2),
                warmup_target=lr,
                warmup_steps=max(1, steps_per_epoch // 2),
                alpha=0.01,
            )
        self.model.compile(
            optimizer=keras.optimizers.AdamW(
                learning_rate=lr, weight_decay=self.preset_config.get("weight_decay", 1e-4)
            ),
            loss=self._loss(),
            metrics=self._metrics(),
            steps_per_execution=steps_per_execution(steps_per_epoch) if multi_step else 1,
        )

    def _loss(self):
        """The training loss (labels are class ids)."""
        return keras.losses.SparseCategoricalCrossentropy()

    def _metrics(self):
        return ["accuracy"]

    def fit(
        self,
        data,
        validation_data=None,
        epochs=None,
        batch_size=None,
        validation_split=None,
        callbacks=(),
        class_weight=None,
        early_stopping=True,
        backup_dir=None,
        verbose="auto",
        strategy=None,
    ):
        """Trains on `data` (a `LabeledData`).

        Args:
            data: training data from `from_directory`, `from_dataframe` or `from_arrays`.
            validation_data: optional `LabeledData` for early stopping and best-epoch restore.
            epochs: number of epochs (default: the preset's).
            batch_size: batch size (default: the preset's).
            validation_split: without `validation_data`, hold out this stratified
                fraction of `data` for validation.
            callbacks: extra Keras callbacks.
            class_weight: `None`, `"balanced"` or a dict class id -> weight.
            early_stopping: stop when validation loss stops improving and
                restore the best epoch's weights.
            backup_dir: folder for `keras.callbacks.BackupAndRestore`: an
                interrupted run resumes from its last completed epoch.
            verbose: Keras verbosity.
            strategy: `None` (one device) or a `tf.distribute.MirroredStrategy`
                / `MultiWorkerMirroredStrategy` (see `mmcnn.distribute`). The
                model, optimizer and metrics are then created under its scope
                (so pass it to the first `fit`); `batch_size` is per replica
                and the global batch is `batch_size * num_replicas`; the
                learning rate is not scaled with the replica count. Each
                worker keeps its own resume state under `backup_dir`.

        Returns:
            The Keras `History`.
        """
        self._check_classes(data, "training data")
        if validation_data is None and validation_split:
            data, validation_data = data.split(validation_split, seed=self.seed)
        if validation_data is not None:
            self._check_classes(validation_data, "validation data")
        if strategy is not None:
            return self._fit_distributed(
                data,
                validation_data,
                epochs,
                batch_size,
                callbacks,
                class_weight,
                early_stopping,
                backup_dir,
                verbose,
                strategy,
            )
        if self._model is None:
            self._prepare_for_training(data)
            self.build()
        epochs = epochs or self.setting("epochs")
        batch_size = batch_size or self.setting("batch_size")
        val_ds = (
            self.make_dataset(validation_data, batch_size=batch_size) if validation_data is not None else None
        )
        steps = steps_per_epoch(len(data), batch_size)
        if not self.model.compiled:
            self.compile(steps_per_epoch=steps, epochs=epochs)
        # The backup is checked before the dataset is made: it says which epoch to start from.
        callbacks, first_epoch = self._fit_callbacks(
            callbacks, early_stopping and val_ds is not None, backup_dir, with_first_epoch=True
        )
        train_ds = self.make_dataset(
            data, training=True, batch_size=batch_size, epochs=epochs, first_epoch=first_epoch
        )
        class_weight = self._class_weight(data, class_weight)
        # shuffle=False: make_dataset already shuffles (Keras would only warn that it ignores it).
        return self.model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=epochs,
            steps_per_epoch=steps,
            callbacks=callbacks,
            class_weight=class_weight,
            verbose=verbose,
            shuffle=False,
        )

    def _fit_distributed(
        self,
        data,
        validation_data,
        epochs,
        batch_size,
        callbacks,
        class_weight,
        early_stopping,
        backup_dir,
        verbose,
        strategy,
    ):
        """`fit` under a `tf.distribute` strategy (see `mmcnn.distribute`)."""
        from mmcnn import distribute

        if self._model is None:
            self._prepare_for_training(data)
            with strategy.scope():
                self.build()
        distribute.check_model_strategy(self._model, strategy)
        if distribute.num_replicas(strategy) > 1:
            distribute.synchronize_batch_norm(self._model)
        epochs = epochs or self.setting("epochs")
        batch_size = batch_size or self.setting("batch_size")  # per replica
        class_weight = self._class_weight(data, class_weight)
        train_ds, class_weight = distribute.distributed_dataset(
            self, data, strategy, batch_size, training=True, class_weight=class_weight
        )
        val_ds = (
            distribute.distributed_dataset(self, validation_data, strategy, batch_size, training=False)[0]
            if validation_data is not None
            else None
        )
        if not self.model.compiled:
            with strategy.scope():
                # One step per call: Keras 3.15's multi-step loop fails under tf.distribute
                # ("You must feed a value for placeholder" in its has_next check).
                self.compile(
                    steps_per_epoch=distribute.steps_per_epoch(len(data), batch_size, strategy),
                    epochs=epochs,
                    multi_step=False,
                )
        callbacks = self._fit_callbacks(
            callbacks,
            early_stopping and val_ds is not None,
            backup_dir and distribute.backup_path(backup_dir, strategy),
        )
        with distribute.cluster_errors(strategy), distribute.keras_multi_worker_workaround(strategy):
            return self.model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=epochs,
                callbacks=callbacks,
                class_weight=class_weight,
                verbose=verbose,
                shuffle=False,
            )

    def _fit_callbacks(self, callbacks, early_stopping, backup_dir, with_first_epoch=False):
        callbacks = list(callbacks)
        if early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=self.preset_config.get("patience", 5),
                    restore_best_weights=True,
                )
            )
        # Divergence check, then the backup (checked now; it also saves the early-stopping and
        # checkpoint state), then per-epoch seeds for the model's random layers, then the rest.
        callbacks, first_epoch = training_callbacks(self.seed, callbacks, backup_dir)
        return (callbacks, first_epoch) if with_first_epoch else callbacks

    @staticmethod
    def _class_weight(data, class_weight):
        if class_weight == "balanced":
            counts = data.class_counts().astype(float)
            class_weight = {i: float(len(data) / (len(counts) * c)) for i, c in enumerate(counts) if c}
        return class_weight

    # --------------------------------------------------------------- evaluate
    def predict_proba(self, inputs, batch_size=64):
        """Class probabilities `(n, num_classes)` for raw inputs."""
        x = self.preprocess(inputs)
        return np.asarray(self.model.predict(x, batch_size=batch_size, verbose=0))

    def evaluate(self, data, batch_size=None):
        """Accuracy, macro-F1, per-class precision/recall/F1 and confusion matrix on `data`."""
        self._check_classes(data, "evaluation data")
        probs = self.model.predict(self.make_dataset(data, batch_size=batch_size), verbose=0)
        report = classification_report(data.labels, np.argmax(probs, axis=-1), self.class_names)
        report["skipped"] = len(data.skipped)
        return report

    def predict(self, inputs, batch_size=64, top_k=1):
        """Predicted class names and probabilities for raw inputs.

        Returns:
            dict with `labels` (top class name per input), `class_ids`,
            `probabilities` (`(n, num_classes)` array), `top_k` (per input a
            list of `(name, probability)`) and `class_names`.
        """
        probs = self.predict_proba(inputs, batch_size=batch_size)
        ids = np.argmax(probs, axis=-1)
        order = np.argsort(-probs, axis=-1)[:, :top_k]
        return {
            "labels": [self.class_names[i] for i in ids],
            "class_ids": ids,
            "probabilities": probs,
            "top_k": [[(self.class_names[j], float(p[j])) for j in row] for row, p in zip(order, probs)],
            "class_names": list(self.class_names),
        }

    # -------------------------------------------------------------- save/load
    def save(self, path):
        """Saves the model, its class names and settings to a `.keras` file, all or nothing."""
        model = self.model  # builds it first, which fixes the class names
        model.metadata = self._metadata()
        save_model_atomic(model, path)  # a failed write keeps the previous file

    @classmethod
    def from_model(cls, model):
        """A classifier around a loaded `ClassifierModel`."""
        metadata = getattr(model, "metadata", None) or {}
        modality = metadata.get("modality")
        if not modality:
            raise ValueError(f"model {model.name!r} carries no mmcnn classifier metadata")
        target = registry.get_classifier(modality)
        if cls is not Classifier and not issubclass(target, cls):
            raise ValueError(f"the model is a {modality} classifier, not a {cls.__name__}")
        clf = target.from_config(metadata["config"])
        clf._model = model
        return clf

    @classmethod
    def load(cls, path):
        """Loads a classifier saved with `save` (safe mode: no code runs from the file)."""
        # The model's modality first (its package registers its layers), then the check, which
        # names the file; Keras's safe mode refuses the same entries.
        registry.import_modality(keras_file_metadata(path))
        check_keras_file(path, allowed=keras.saving.get_custom_objects())
        model = keras.saving.load_model(os.fspath(path))
        return cls.from_model(model)

    # ----------------------------------------------------------------- export
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

    def export(self, path, overwrite=False):
        """Writes a SavedModel that takes raw input (`serving_endpoints`); see `mmcnn.export`."""
        from mmcnn.export import export_classifier

        return export_classifier(self, path, overwrite=overwrite)


def steps_per_execution(steps_per_epoch, most=STEPS_PER_EXECUTION):
    """Training steps per call of the compiled step function.

    Several steps per call gave 1.79x the training throughput of the default
    image preset on 2 CPU cores (bench/RESULTS.md, "What moves it"). Keras runs
    every call's steps in full, so the count must divide the epoch: otherwise
    the last call of an epoch would take batches of the next one (the epoch
    boundaries that make a resumed run reproducible would slip).
    """
    if not steps_per_epoch:
        return 1
    return max(d for d in range(1, most + 1) if steps_per_epoch % d == 0)


def load(path):
    """Loads any mmcnn classifier from a `.keras` file."""
    return Classifier.load(path)
