"""The classifier task: converter -> adapter -> backbone -> head, trained once for all modalities.

A modality classifier (image, audio, text) is a short subclass that names its
model input, its front layers (converter, augmentation, adapter), its presets,
and how raw user inputs become model inputs (the hooks of `ModalityHooks`,
`mmcnn/models/hooks.py`). `Classifier` is the public face: configuration,
build, and fit / evaluate / predict / save / load / export, which delegate to
`building`, `saving`, `pipeline`, `fitting`, `compile_defaults`, `thresholds`,
`predictions`, `precision`, `file_scoring`, `mmcnn.data.reading` and
`mmcnn.explain.calibration`.
"""

import os

import numpy as np

from mmcnn.data import LabeledData
from mmcnn.data.reading import read_data
from mmcnn.export.endpoints import embedding_model
from mmcnn.models import building, fitting, pipeline, predictions, registry, saving, thresholds, transfer
from mmcnn.models.classifier_model import ClassifierModel
from mmcnn.models.compile_defaults import compile_classifier
from mmcnn.models.hooks import ModalityHooks
from mmcnn.models.pipeline import DEFAULT_CACHE_BYTES
from mmcnn.models.precision import check_precision, float32_copy

# `ClassifierModel` was defined here; code that imports it from here keeps working.
__all__ = ["Classifier", "ClassifierModel", "load"]


class Classifier(ModalityHooks):
    """Base of `ImageClassifier`, `AudioClassifier` and `TextClassifier`.

    Subclasses set `modality`, `presets`, `default_preset` and implement
    `model_input`, `front_layers`, `input_dataset` and `preprocess`.
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
    # Names of the axes of one preprocessed example, as the network sees it (no batch axis),
    # e.g. ("height", "width", "channels"), ("frames", "mel_bins"), ("tokens",).
    input_axes = None
    # Tests of distributed training turn this off to compare runs batch by batch.
    _shuffle_training = True
    # Constructor arguments (or preset entries) a warm start's source must share: see
    # `mmcnn.models.transfer.check_source`. The preset is always compared.
    transfer_settings = ()
    # The search sits above the models (it fits them): `mmcnn.tune` plugs its `tune` in here when
    # imported, and `import mmcnn` imports it, so that `tune` works with no upward import.
    _search = None

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
        init_from=None,
        freeze_epochs=None,
        fine_tune_learning_rate=None,
        precision="auto",
        multi_label=False,
    ):
        if preset is None:
            preset = self.default_preset
        if preset not in self.presets:
            raise ValueError(f"`preset` must be one of {sorted(self.presets)}. Received: preset={preset!r}")
        num_classes, class_names = building.check_classes_arguments(num_classes, class_names)
        if not isinstance(multi_label, bool):
            raise ValueError(f"`multi_label` must be True or False. Received: multi_label={multi_label!r}")
        self.num_classes = num_classes
        self.class_names = class_names
        # Multi-label (docs/multilabel.md): sigmoid head, binary cross-entropy, per-class
        # `thresholds` chosen on the validation split (None: 0.5 each); set by the first `fit`
        # from multi-label data.
        self.multi_label = multi_label
        self.thresholds = None
        self.preset = preset
        self.augmentation = augmentation
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.batch_size = batch_size
        self.seed = seed
        self.precision = check_precision(precision)
        # The Keras dtype policy the model was built with, and why (`resolve_precision`).
        self.precision_used = None
        # The epochs, batch size and patience of the last `fit`, and which were adapted to the
        # data's size (`mmcnn.models.schedule`); None before.
        self.schedule_used = None
        self.init_from = transfer.check_init_from(init_from)
        transfer.check_schedule(freeze_epochs, fine_tune_learning_rate)
        self.freeze_epochs = freeze_epochs
        self.fine_tune_learning_rate = fine_tune_learning_rate
        # Set by `build`: the layers that start from given weights, whether the head was kept, and
        # whether the next `fit` runs the warm-start schedule (`mmcnn.models.transfer`).
        self._warm_layers = []
        self._head_kept = False
        self._warm_pending = False
        self._embedding = None
        # What the last `calibrate` measured (`fit(calibrate=True)` calls it); None before.
        self.calibration = None
        # The last `fit`'s outputs on its validation split, for reuse (`pipeline.SplitScores`).
        self.validation_scores = None
        # Training examples per class the model was first built for (None: built before any data),
        # for what depends on the data's size (`augmentation="auto"`).
        self._examples_per_class = None
        self._model = None

    # ----------------------------------------------------------------- config
    @property
    def preset_config(self):
        """The preset's settings: stages, block, head, training defaults."""
        return dict(self.presets[self.preset])

    def get_config(self):
        return saving.classifier_config(self, Classifier)

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
            self._build_model()
        return self._model

    @property
    def rank(self):
        return self.preset_config.get("rank", 1)

    def _build_model(self):
        """`build()` under the dtype policy that `precision` resolves to on this machine."""
        return building.build_model(self)

    def build(self):
        """Builds the Keras model (needs `num_classes`) under the current Keras dtype policy.

        With `init_from`, the source's weights are copied in (`mmcnn.models.transfer`)."""
        return building.build(self)

    def _transfer_source(self):
        """The classifier `init_from` names, loaded (None without `init_from`)."""
        return building.transfer_source(self)

    def _metadata(self):
        return building.metadata(self)

    # ------------------------------------------------------------------- data
    def make_dataset(
        self,
        data,
        training=False,
        batch_size=None,
        cache_bytes=DEFAULT_CACHE_BYTES,
        epochs=None,
        first_epoch=0,
        features=None,
    ):
        """Batched `(model_input, label)` dataset: decode in parallel, cache when it fits,
        shuffle (training), batch, prefetch.

        With `training` and `epochs`, one dataset holds epochs `first_epoch .. epochs - 1`
        (for `fit(..., steps_per_epoch=...)`), and epoch `e`'s order and random map come
        from `(seed, e)` alone, so a resumed run sees the batches an uninterrupted one
        would (`mmcnn.training.epoch_dataset`).

        `features`: the name of a model layer (`cached_feature_layer`): the dataset
        then holds that layer's outputs, computed once by the layers up to it
        before the cache, in place of model inputs; no random map is applied."""
        return pipeline.make_dataset(
            self,
            data,
            training=training,
            batch_size=batch_size,
            cache_bytes=cache_bytes,
            epochs=epochs,
            first_epoch=first_epoch,
            features=features,
        )

    def prepare(self, data):
        """Takes the class names from `data` and builds the model, as the first `fit` would.

        For looking at (or compiling) the model before training: the text
        classifier learns its vocabulary from `data` here. Returns the model."""
        self._check_classes(data, "data")
        if self._model is None:
            self._build_for(data)
        return self._model

    def _build_for(self, data, scope=None):
        """The first build, from training data: the modality prepares for it (the text
        classifier learns its vocabulary) and the build may follow its size
        (`augmentation_policy`). `scope`: a `tf.distribute` strategy scope to build in."""
        return building.build_for(self, data, scope)

    def augmentation_policy(self):
        """The augmentation policy the model is (or will be) built with: `augmentation`, or
        for `"auto"` the modality's choice for the training data's size (`auto_augmentation`)."""
        if self.augmentation != "auto":
            return self.augmentation
        return self.auto_augmentation(self._examples_per_class)

    def file_dataset(self, paths):
        """Unbatched `tf.data.Dataset` of model inputs decoded from `paths`, in order, in parallel,
        as training decodes files; what `mmcnn predict` batches for many files. Raises
        `ValueError` where the modality's pipeline does not read files (it decodes in Python)."""
        paths = [os.fspath(p) for p in paths]
        data = LabeledData(paths, np.zeros(len(paths), "int32"), self.class_names, kind="files")
        return self.input_dataset(data, training=False)

    @classmethod
    def read_data(cls, path, class_names=None, on_error="skip", verbose=1, **kwargs):
        """A class-per-folder directory or a CSV manifest as this modality's `LabeledData`.

        What `mmcnn train --train PATH` reads, through the modality's
        `from_directory` / `from_dataframe`."""
        return read_data(cls, path, class_names=class_names, on_error=on_error, verbose=verbose, **kwargs)

    @classmethod
    def tune(cls, train, val=None, **kwargs):
        """Searches this classifier's settings on `train`, scored on `val` only (`mmcnn.tune.tune`)."""
        return Classifier._search(cls, train, val, **kwargs)

    def _check_classes(self, data, what):
        building.check_classes(self, data, what)

    # ------------------------------------------------------------------ train
    def compile(self, steps_per_epoch=None, epochs=None, multi_step=True, learning_rate=None):
        """Compiles with the defaults: AdamW, cosine-decayed learning rate, cross-entropy.

        `multi_step` runs several training steps per call of the compiled step
        (`mmcnn.models.compile_defaults.steps_per_execution`); `learning_rate` replaces the setting's
        peak rate (a warm start's fine-tuning phase)."""
        compile_classifier(
            self,
            steps_per_epoch=steps_per_epoch,
            epochs=epochs,
            multi_step=multi_step,
            learning_rate=learning_rate,
        )

    @property
    def monitor(self):
        """`(quantity, mode)` that early stopping and the run's best checkpoint follow.

        Validation loss for one label per example; for multi-label, the mean
        precision-recall AUC over classes (close to mAP): the loss is
        dominated by frequent classes and bottoms out before rare ones learn
        (bench/results/multilabel.md)."""
        return ("val_pr_auc", "max") if self.multi_label else ("val_loss", "min")

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
        calibrate=True,
        cache_features=True,
    ):
        """Trains on `data` (a `LabeledData`).

        Args:
            data: training data from `from_directory`, `from_dataframe` or `from_arrays`.
            validation_data: optional `LabeledData` for early stopping and best-epoch restore.
            epochs: number of epochs (default: the constructor's, else the
                preset's, raised on small data: `mmcnn.models.schedule`).
            batch_size: batch size (default: the constructor's, else the
                preset's, lowered on small data).
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
            calibrate: after training, fit the model's temperature on the
                validation data (`calibrate`); needs validation data. Not under
                a `strategy`: call `calibrate` on the trained classifier.
            cache_features: where the model starts with fixed layers (the audio
                log-mel without waveform augmentation, the text tokenizer:
                `cached_feature_layer`), compute their outputs once per example,
                cache them with the data, and train the layers after them
                (`ClassifierModel.inputs_at`). The saved model, checkpoints and
                exports are the whole model all the same; callbacks see it too,
                but a `predict` inside a callback gets features. Not under a
                `strategy`. False: the whole model runs at every step.

        Returns:
            The Keras `History`.
        """
        settings = fitting.FitSettings(
            epochs=epochs,
            batch_size=batch_size,
            callbacks=callbacks,
            class_weight=class_weight,
            early_stopping=early_stopping,
            backup_dir=backup_dir,
            verbose=verbose,
            strategy=strategy,
            calibrate=calibrate,
            cache_features=cache_features,
        )
        return fitting.fit(self, data, validation_data, validation_split, settings)

    def _fit_callbacks(self, callbacks, early_stopping, backup_dir, with_first_epoch=False):
        """`fit`'s callbacks (`mmcnn.models.fitting.fit_callbacks`)."""
        return fitting.fit_callbacks(self, callbacks, early_stopping, backup_dir, with_first_epoch)

    # -------------------------------------------------------------- calibrate
    @property
    def temperature(self):
        """The model's temperature `T` (1.0 for models saved before calibration existed)."""
        from mmcnn.explain import model_temperature

        return model_temperature(self.model)

    def _has_temperature(self):
        from mmcnn.explain import temperature_layer

        return temperature_layer(self.model) is not None

    def _set_temperature(self, value):
        from mmcnn.explain.calibration import set_model_temperature

        set_model_temperature(self.model, value)

    def calibrate(self, data, batch_size=None, probabilities=None):
        """Fits the model's temperature on `data` (the validation split) by minimising its
        negative log-likelihood (`mmcnn.explain.fit_temperature`, `T` within
        `TEMPERATURE_BOUNDS`); the most probable class of every input stays the same.

        With fewer than `MIN_CALIBRATION_EXAMPLES` (50) examples no temperature
        is fitted (one fitted on a few dozen examples describes the sample, and
        can be extreme): `T` is set to 1 and the log says why.

        Returns:
            dict (also kept as `self.calibration`) with `temperature`,
            `fitted_on` (how many examples it was fitted on; 0 when not
            fitted), `note` (why not, or that it stopped at a bound), and the
            expected calibration error and negative log-likelihood of `data`
            before and after: `ece_before`, `ece_after`, `nll_before`, `nll_after`.

        `probabilities`: the model's outputs on `data` at `T = 1`, when already
        computed (then `data` is not predicted again).
        """
        from mmcnn.explain.calibration import calibrate_classifier

        return calibrate_classifier(self, data, batch_size=batch_size, probabilities=probabilities)

    # ------------------------------------------------------------- thresholds
    def threshold_values(self):
        """The per-class decision thresholds of a multi-label classifier, float32 `(num_classes,)`:
        those `choose_thresholds` chose, else 0.5 each."""
        return thresholds.threshold_values(self)

    def choose_thresholds(self, data, batch_size=None, scores=None):
        """Chooses each class's threshold on `data` (the validation split) to maximise its F1
        (`mmcnn.models.metrics.best_thresholds`; a class without positives in `data` keeps 0.5).

        `fit` calls it for multi-label classifiers; the thresholds are kept in
        `thresholds`, the `.keras` file's metadata and every export.

        `scores`: the model's outputs on `data`, when already computed.

        Returns:
            list of `num_classes` floats.
        """
        return thresholds.choose_thresholds(self, data, batch_size=batch_size, scores=scores)

    def scores_report(self, data, probabilities):
        """`evaluate`'s report of `probabilities` (the model's outputs on `data`): the single-label
        `classification_report`, or `multilabel_report` at the classifier's thresholds."""
        return predictions.scores_report(self, data, probabilities)

    # ---------------------------------------------------------------- explain
    def explain(self, inputs, class_name=None, batch_size=32):
        """Grad-CAM: where in each input the evidence for a class lies (`mmcnn.explain`).

        Args:
            inputs: raw inputs, as `predict` takes them.
            class_name: `None` (each input's most probable class), one class
                name for all inputs, or one per input.
            batch_size: inputs per call.

        Returns:
            dict with `maps` (per input an array in [0, 1] at the input's
            resolution: `(height, width)` for images, `(frames, mel_bins)` for
            audio, `(tokens,)` for text), `class_names` (the class explained
            per input), `probabilities` `(n, num_classes)`, `top_k` (per input
            the 3 most probable `(name, probability)`), `backgrounds` (what
            each map lies over: pixels, log-mel, tokens), `feature_maps` (the
            maps at the feature maps' resolution), plus the modality's extras.
        """
        from mmcnn.explain import explain_classifier

        return explain_classifier(self, inputs, class_name=class_name, batch_size=batch_size)

    # --------------------------------------------------------------- evaluate
    def predict_proba(self, inputs, batch_size=64):
        """Class probabilities `(n, num_classes)` for raw inputs."""
        return pipeline.predict_in_batches(self.model, self.preprocess(inputs), batch_size)

    def evaluate(self, data, batch_size=None, model_file=None, scores=None, return_probabilities=False):
        """Accuracy, macro-F1, per-class precision/recall/F1 and confusion matrix on `data`.

        Multi-label: micro/macro F1, mean average precision and per-class
        precision/recall/F1/AP at the chosen thresholds (`multilabel_report`).

        With `model_file` (a `.tflite` or `.onnx` file exported from this
        classifier), scores that file in its own runtime instead: see
        `evaluate_model_file`.

        `scores`: the model's outputs on `data` when already computed (not predicted again);
        `return_probabilities`: returns `(metrics, probabilities the metrics come from)`."""
        if model_file is not None:
            return self.evaluate_model_file(data, model_file, batch_size=batch_size)
        return predictions.evaluate(self, data, batch_size, scores, return_probabilities)

    def embed(self, inputs, batch_size=64):
        """The pooled feature vector of each raw input, for similarity search and clustering.

        What the head receives, pooled as the head pools it (global average or
        max over the positions): the same values as the export's `embedding`
        signature. See docs/transfer.md for nearest-neighbour search.

        Args:
            inputs: raw inputs, as `predict` takes them.
            batch_size: inputs per model call.

        Returns:
            float32 array `(n, features)`.

        Example:
        >>> import numpy as np, mmcnn
        >>> clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
        >>> clf.embed(np.zeros((3, 16, 16), "uint8")).shape
        (3, 32)
        """
        return self._embed_batch(self.preprocess(inputs), batch_size)

    def _embed_batch(self, x, batch_size=64):
        """Embeddings of a batch of model inputs (what `preprocess` gives)."""
        if self._embedding is None or self._embedding[0] is not self.model:
            self._embedding = (self.model, embedding_model(self.model))
        return pipeline.predict_in_batches(self._embedding[1], x, batch_size).astype(np.float32, copy=False)

    def predict(self, inputs, batch_size=64, top_k=1):
        """Predicted class names and probabilities for raw inputs.

        Returns:
            dict with `labels` (top class name per input), `class_ids`,
            `probabilities` (`(n, num_classes)` array), `top_k` (per input a
            list of `(name, probability)`) and `class_names`. Multi-label:
            `labels` is per input the list of class names whose score reaches
            the class's threshold (`class_ids` their ids), `scores` (the same
            array as `probabilities`) the per-class scores, `predicted` the
            multi-hot int32 `(n, num_classes)`, `thresholds` the thresholds.
        """
        return predictions.prediction_result(self, self.predict_proba(inputs, batch_size=batch_size), top_k)

    # -------------------------------------------------------------- save/load
    def save(self, path):
        """Saves the model, its class names and settings to a `.keras` file, all or nothing."""
        saving.save(self, path)

    @classmethod
    def from_model(cls, model):
        """A classifier around a loaded `ClassifierModel`."""
        return saving.from_model(model, cls)

    @classmethod
    def load(cls, path):
        """Loads a classifier saved with `save` (safe mode: no code runs from the file)."""
        return cls.from_model(saving.load_model(path))

    # ----------------------------------------------------------------- export
    def export(
        self,
        path,
        format="saved_model",
        quantize=None,
        calibration_data=None,
        overwrite=False,
        check_data=None,
    ):
        """Writes the classifier in `format`; see `mmcnn.export` and `docs/serving.md`.

        Args:
            path: the SavedModel directory, `.tflite` or `.onnx` file.
            format: `"saved_model"` (default: raw-input signatures,
                `serving_endpoints`), `"litert"` (`mmcnn.export.export_litert`)
                or `"onnx"` (`mmcnn.export.export_onnx`); the last two take
                `edge_endpoint`'s input.
            quantize: LiteRT only: `None`, `"float16"`, `"dynamic"` or `"int8"`.
            calibration_data: LiteRT int8: a `LabeledData` (the training data).
            overwrite: replace an earlier export of the same format.
            check_data: LiteRT and ONNX: held-out examples (the validation
                split) the file must decide as the model does, else the export
                is refused (`mmcnn.export.agreement`); LiteRT's default is
                `calibration_data`.
        """
        from mmcnn.export.formats import export

        return export(
            self,
            path,
            format=format,
            quantize=quantize,
            calibration_data=calibration_data,
            overwrite=overwrite,
            check_data=check_data,
        )

    def float32_copy(self):
        """This classifier with its model in float32 and the same weights (itself if already so).

        Every export is written from it: a model trained in mixed bfloat16 or float16 gives
        exports that run alike on machines without native bfloat16 (and LiteRT's built-in
        kernels are float32 or integer only). The variables of a mixed-precision model are
        float32 already, so the weights carry over exactly."""
        return float32_copy(self)

    def evaluate_model_file(self, data, model_file, batch_size=None):
        """Scores a converted `.tflite` / `.onnx` file in its runtime, next to the Keras model.

        Both see the same rows: `make_dataset(data)` batches, turned into edge
        inputs (`edge_inputs`) and run one example at a time through the file.

        Returns:
            `evaluate`'s metrics of the file, plus `keras_accuracy` (what
            `evaluate(data)` gives the Keras model, exactly), `agreement` (share of equal top classes;
            multi-label: of equal predicted sets, the file at its own
            thresholds, and `keras_micro_f1`, `keras_mean_average_precision`),
            `max_abs_diff` (largest probability difference), `file_size_bytes`,
            `latency_ms_batch1` (median per example), `format` and `model_file`.
        """
        from mmcnn.models.file_scoring import evaluate_model_file

        return evaluate_model_file(self, data, model_file, batch_size=batch_size)


def load(path):
    """Loads any mmcnn classifier from a `.keras` file."""
    return Classifier.load(path)
