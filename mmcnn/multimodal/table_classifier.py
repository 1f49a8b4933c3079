"""`TableClassifier`: one model over a table of pictures, sounds, texts, numbers and categories.

Each column goes through its encoder (`mmcnn.multimodal.columns`): a media
column through its modality's receptive-field adapter and backbone, pooled; a
number through standardisation; a category through a lookup and an
embedding. `mmcnn.layers.Fusion` joins the columns' embeddings, with a
learned "missing" embedding wherever a row lacks a cell and column dropout in
training, so the model predicts from any subset of its columns. The head,
temperature, thresholds, training, calibration, saving and exports are the
`Classifier`'s, as for one modality.

The Keras model takes a dict: one input per column (named after it,
`columns.input_name`) and `present`, float32 `(batch, columns)`, 1 where the
row has the cell. The SavedModel export takes the raw cells instead, one
input per column (image bytes, waveforms, strings, numbers), a missing cell
given as an empty string or NaN.
"""

import json
import logging
import os

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from mmcnn.data.policy import DataError
from mmcnn.export.endpoints import Endpoint, endpoint_outputs
from mmcnn.layers import ClassifierHead, Fusion, Temperature
from mmcnn.models.classifier import Classifier
from mmcnn.models.classifier_model import ClassifierModel
from mmcnn.multimodal.column_sources import check_column_sources, copy_sources, source_settings, take_source
from mmcnn.multimodal.columns import PRESENT, column_encoder, input_name
from mmcnn.multimodal.table_data import TableData, as_table_data, from_dataframe, read_csv_frame
from mmcnn.multimodal.tables import TABLE_MODALITY, VALUE_KINDS, Table, _empty, _resolve, column_kinds

logger = logging.getLogger("mmcnn")

PRESETS = {
    "default": dict(
        rank=1,
        stages=[],
        fusion_units=64,
        head_dropout=0.2,
        learning_rate=1e-3,
        epochs=30,
        batch_size=32,
        patience=5,
        weight_decay=1e-4,
        # Smoothed targets keep the strongest column (the text) from driving the training rows to
        # certainty, and the validation loss (early stopping's) from climbing early: 3.0 points of
        # validation accuracy above no smoothing over 2 seeds on the Debian apps table
        # (bench/results/table_variants.md).
        label_smoothing=0.1,
    ),
}


def _check_columns(columns):
    if columns is None:
        return None
    if not isinstance(columns, dict) or not columns:
        raise ValueError(f"`columns` must be a dict {{column: kind}}. Received: columns={columns!r}")
    kinds = column_kinds()
    for column, kind in columns.items():
        if kind not in kinds or kind == TableClassifier.modality:
            raise ValueError(f"`columns` gives {column!r} the unknown kind {kind!r}; kinds: {kinds}")
    names = [input_name(column) for column in columns]
    clashes = sorted({name for name in names if names.count(name) > 1} | ({PRESENT} & set(names)))
    if clashes:
        raise ValueError(
            f"`columns` {list(columns)} give the input name(s) {clashes} more than once (or "
            f"{PRESENT!r}, which the model uses for its mask); rename those columns"
        )
    return {str(column): str(kind) for column, kind in columns.items()}


class TableClassifier(Classifier):
    """A classifier over a table's columns, each encoded for its kind and fused.

    Args:
        columns: `{column: kind}` (kinds: `"number"`, `"category"`, `"text"`,
            `"image"`, `"audio"`, ...) for some or all columns, or None. The
            first `fit` takes every column of its training data, with the
            kinds it was read with (`read_table` detects those not given;
            `mmcnn train table` reads the data with these).
        column_settings: `{column: {argument: value}}` for a media column's
            encoder: its modality classifier's constructor arguments
            (`{"photo": {"image_size": [64, 64], "preset": "tiny"}}`).
        fusion: `"concat"` (default), `"gated"` or `"attention"` (`Fusion`).
        fusion_units: the size each column's embedding is projected to
            (default: the preset's, 64).
        column_dropout: the rate at which whole cells are dropped in
            training, as if missing (default 0.1).
        single_column_rate: the rate of training rows that keep only one of
            their cells (at random), so that each column also learns to
            predict alone: late fusion's per-column losses (`Fusion`).
        num_classes, class_names, preset, learning_rate, epochs, batch_size,
            seed, precision, multi_label: as for every `Classifier`.
        init_from: `{column: run directory or .keras file}`: those columns'
            encoders start from a trained classifier of their modality (its
            settings become the column's, its weights are copied, and they are
            frozen for the first `freeze_epochs`, then fine-tuned at
            `fine_tune_learning_rate`, as a one-modality warm start is).
        freeze_epochs, fine_tune_learning_rate: the warm start's schedule.

    Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"hour": [6, 7, 20, 21] * 4,
    ...                       "note": ["dawn chorus", "early", "dusk", "night"] * 4,
    ...                       "label": ["lark", "lark", "owl", "owl"] * 4})
    >>> clf = TableClassifier(epochs=2, seed=0)
    >>> _ = clf.fit(from_dataframe(frame, verbose=0), verbose=0)
    >>> clf.columns, clf.predict(pd.DataFrame({"hour": [6, None]}))["probabilities"].shape
    ({'hour': 'number', 'note': 'category'}, (2, 2))
    """

    modality = TABLE_MODALITY
    presets = PRESETS
    default_preset = "default"
    input_axes = ("columns",)
    from_dataframe = staticmethod(from_dataframe)

    @classmethod
    def tune_space(cls, settings):
        """The default space of `mmcnn tune table` (`mmcnn.tune.space`; `settings`: the fixed arguments).

        How the columns are joined (`fusion`, its width, the column dropout), the
        learning rate around the preset's 1e-3 and the batch size. Each column's
        encoder keeps its `column_settings`."""
        return {
            "fusion": {"values": ["concat", "gated", "attention"]},
            "fusion_units": {"values": [32, 64, 128]},
            "column_dropout": {"min": 0.0, "max": 0.3, "step": 0.1},
            "learning_rate": {"min": 3e-4, "max": 3e-3, "log": True},
            "batch_size": {"values": [16, 32, 64]},
        }

    def __init__(
        self,
        columns=None,
        column_settings=None,
        fusion="concat",
        fusion_units=None,
        column_dropout=0.1,
        single_column_rate=0.0,
        init_from=None,
        **kwargs,
    ):
        # Each media column augments as its own settings say; the table adds none of its own.
        augmentation = kwargs.pop("augmentation", "none")
        if augmentation != "none":
            raise ValueError(
                "a table has no `augmentation` of its own: each media column augments as its "
                "`column_settings` say (`{'photo': {'augmentation': 'light'}}`). "
                f"Received: augmentation={augmentation!r}"
            )
        super().__init__(augmentation="none", **kwargs)
        self.init_from = check_column_sources(init_from)
        # The loaded source classifiers of a warm start, from `prepare_for_training` to `build`.
        self._sources = {}
        self.columns = _check_columns(columns)
        if column_settings is not None and not isinstance(column_settings, dict):
            raise ValueError(
                "`column_settings` must be a dict {column: {argument: value}}. "
                f"Received: column_settings={column_settings!r}"
            )
        # As JSON keeps them (tuples become lists), so that a loaded model's config is the same.
        self.column_settings = json.loads(
            json.dumps({str(k): dict(v) for k, v in (column_settings or {}).items()})
        )
        # Checks the fusion's arguments.
        Fusion(mode=fusion, column_dropout=column_dropout, single_column_rate=single_column_rate)
        self.fusion = fusion
        self.fusion_units = fusion_units
        self.column_dropout = column_dropout
        self.single_column_rate = single_column_rate
        self._encoders = None

    # ------------------------------------------------------------------ columns
    @classmethod
    def used_modalities(cls, config):
        """The modalities of the media columns (their encoders' layers are in the model)."""
        kinds = (config.get("columns") or {}).values()
        return sorted({kind for kind in kinds if kind not in ("number", "category")})

    @classmethod
    def reader_options(cls, settings):
        """The table is read with the given column kinds (`columns`); the others are detected."""
        columns = settings.get("columns")
        return {"columns": dict(columns)} if columns else {}

    @property
    def encoders(self):
        """`{column: encoder}` (`mmcnn.multimodal.columns`), made from `columns` when first asked."""
        if self._encoders is None:
            if self.columns is None:
                raise ValueError(
                    "TableClassifier has no columns yet: pass columns={column: kind}, or fit it on a table"
                )
            unknown = sorted(set(self.column_settings) - set(self.columns))
            if unknown:
                raise ValueError(
                    f"`column_settings` names column(s) {unknown} that are not in {list(self.columns)}"
                )
            self._encoders = {
                column: column_encoder(column, kind, self.column_settings.get(column), self.seed)
                for column, kind in self.columns.items()
            }
            if self._model is not None:  # a loaded model
                self._link_encoders()
        return self._encoders

    def _link_encoders(self):
        """Gives each media column's classifier its network in the model, as its `model` (what its
        export hooks read: the text tokenizer's settings)."""
        names = {layer.name for layer in self._model.layers}
        for encoder in self._encoders.values():
            if hasattr(encoder, "classifier") and f"{encoder.name}_encoder" in names:
                encoder.classifier._model = self._model.get_layer(f"{encoder.name}_encoder")

    def prepare_for_training(self, data):
        data = as_table_data(data)
        given = self.columns or {}
        lacking = [column for column in given if column not in data.columns]
        if lacking:
            raise DataError(f"the training data lacks column(s) {lacking}; its columns: {list(data.columns)}")
        differ = {c: (k, data.columns[c]) for c, k in given.items() if data.columns[c] != k}
        if differ:
            raise DataError(
                "the training data was read with other column kinds than `columns` gives "
                f"({', '.join(f'{c}: {k} here, {d} in the data' for c, (k, d) in differ.items())}); "
                "read it with from_dataframe(..., columns=...)"
            )
        # The given kinds, and the data's for the columns not given.
        self.columns = _check_columns(dict(data.columns))
        self.column_settings.update(source_settings(self.init_from or {}, self.columns, self.column_settings))
        self._encoders = None
        self._sources = {}
        for column, encoder in self.encoders.items():
            if column in (self.init_from or {}):
                self._sources[column] = take_source(encoder, self.init_from[column])
            else:
                encoder.prepare(data.values(column))
            if hasattr(encoder, "resolved_settings"):
                # What the data decided (an "auto" image size) is kept for the loaded model.
                self.column_settings[column] = encoder.resolved_settings()
        logger.info(
            "table columns: %s", ", ".join(f"{column} ({kind})" for column, kind in self.columns.items())
        )

    # -------------------------------------------------------------------- model
    def model_input(self):
        inputs = {encoder.name: encoder.keras_input() for encoder in self.encoders.values()}
        inputs[PRESENT] = keras.Input(shape=(len(self.columns),), dtype="float32", name=PRESENT)
        return inputs

    def front_layers(self):
        raise NotImplementedError("TableClassifier builds its model in build()")

    def backbone_layer(self):
        return None

    def build(self):
        """Encoders -> `Fusion` (masks, column dropout) -> head -> temperature."""
        if self.num_classes is None:
            raise ValueError("TableClassifier needs `num_classes` or `class_names` before it can be built")
        if self.class_names is None:
            self.class_names = [str(i) for i in range(self.num_classes)]
        keras.utils.set_random_seed(self.seed)
        inputs = self.model_input()
        names = [encoder.name for encoder in self.encoders.values()]
        embeddings = [encoder.embed(inputs[encoder.name]) for encoder in self.encoders.values()]
        present = inputs[PRESENT]
        fused = Fusion(
            mode=self.fusion,
            units=self.fusion_units or self.preset_config["fusion_units"],
            column_dropout=self.column_dropout,
            single_column_rate=self.single_column_rate,
            columns=names,
            name="fusion",
        )(embeddings, column_mask=[present[:, i] for i in range(len(names))])
        preset = self.preset_config
        outputs = ClassifierHead(
            self.num_classes,
            rank=1,
            pooling="flatten",
            dropout=preset.get("head_dropout", 0.0),
            activation="sigmoid" if self.multi_label else "softmax",
            name="head",
        )(fused)
        if not self.multi_label:
            outputs = Temperature(name="temperature")(outputs)
        self._model = ClassifierModel(inputs, outputs, name="table_classifier", metadata=self._metadata())
        self._link_encoders()
        self._embedding = None
        # Every build copies them (`precision="auto"` may build more than once): kept until refit.
        self._warm_layers = copy_sources(self._model, self.encoders, self._sources)
        self._head_kept, self._warm_pending = False, bool(self._warm_layers)
        return self._model

    # --------------------------------------------------------------------- data
    def example_nbytes(self):
        return sum(encoder.example_nbytes() for encoder in self.encoders.values()) + 4 * len(self.columns)

    def input_dataset(self, data, training=False):
        data = as_table_data(data)
        rows = data.inputs
        present = np.zeros((len(rows), len(self.columns)), "float32")
        parts = {}
        for i, (column, encoder) in enumerate(self.encoders.items()):
            values = data.values(column) if column in data.columns else [None] * len(rows)
            present[:, i] = [value is not None for value in values]
            parts[encoder.name] = encoder.dataset(values)
        parts[PRESENT] = tf.data.Dataset.from_tensor_slices(present)
        return tf.data.Dataset.zip(parts)

    def make_dataset(self, data, *args, **kwargs):
        return super().make_dataset(as_table_data(data), *args, **kwargs)

    def fit(self, data, validation_data=None, **kwargs):
        if validation_data is not None:
            validation_data = as_table_data(validation_data, "validation_data")
        return super().fit(as_table_data(data), validation_data=validation_data, **kwargs)

    def evaluate(self, data, *args, **kwargs):
        return super().evaluate(as_table_data(data), *args, **kwargs)

    def calibrate(self, data, *args, **kwargs):
        return super().calibrate(as_table_data(data), *args, **kwargs)

    def preprocess(self, inputs):
        """Raw rows -> the model's dict of batches.

        `inputs`: a DataFrame, a `Table` / `TableData`, a list of dicts
        `{column: value}` or a dict `{column: list of values}`. A column
        may be left out, and a cell may be empty (None, NaN, "" or a path
        whose file does not exist): the model then uses the column's
        "missing" embedding (a missing file is logged). Columns the model
        does not know are an error."""
        rows = self._rows(inputs)
        batch = {}
        present = np.zeros((len(rows), len(self.columns)), "float32")
        for i, (column, encoder) in enumerate(self.encoders.items()):
            values = [_cell(row.get(column), encoder.kind, column, n) for n, row in enumerate(rows, 1)]
            present[:, i] = [value is not None for value in values]
            batch[encoder.name] = encoder.batch(values)
        batch[PRESENT] = present
        return batch

    def _rows(self, inputs):
        if isinstance(inputs, (Table, TableData)):
            inputs = as_table_data(inputs).inputs
        elif isinstance(inputs, pd.DataFrame):
            inputs = inputs.to_dict("records")
        elif isinstance(inputs, dict):
            lengths = {len(values) for values in inputs.values()}
            if len(lengths) > 1:
                raise ValueError(f"the columns given to predict differ in length: {sorted(lengths)}")
            n = lengths.pop() if lengths else 0
            inputs = [{column: values[i] for column, values in inputs.items()} for i in range(n)]
        if not isinstance(inputs, (list, tuple)) or not all(isinstance(row, dict) for row in inputs):
            raise TypeError(
                "TableClassifier takes rows: a DataFrame, a Table, a list of dicts or a dict of columns; "
                f"received {type(inputs).__name__}"
            )
        given = {column for row in inputs for column in row}
        unknown = sorted(given - set(self.columns) - {"label", "labels"})
        if unknown:
            raise ValueError(f"unknown column(s) {unknown}; the model's columns: {list(self.columns)}")
        return list(inputs)

    def manifest_inputs(self, path):
        """The rows of a CSV (`mmcnn predict RUN items.csv`): one dict per row, the model's columns
        that the CSV has (paths relative to the CSV; an empty cell is missing); other columns
        (a label) are left out."""
        frame = read_csv_frame(path)
        base = os.path.dirname(os.path.abspath(path))
        known = [column for column in self.columns if column in frame.columns]
        if not known:
            raise DataError(
                f"{path}: none of the model's columns {list(self.columns)} is in {list(frame.columns)}"
            )
        rows = []
        for line, record in enumerate(frame[known].to_dict("records"), start=2):
            row = {}
            for column, cell in record.items():
                kind = self.columns[column]
                if kind not in VALUE_KINDS and cell.strip():
                    cell = _resolve(cell, base)  # as `read_table` resolves a path cell
                row[column] = cell
            rows.append((f"{path}:{line}", row))
        return rows

    def explain(self, inputs, class_name=None, batch_size=32):
        """How much each column moved each row's prediction, by leaving its cell out
        (`mmcnn.multimodal.column_attribution`): dict with `columns` (`{column: (n,)}`),
        `class_names` (the class explained per row), `probabilities`, `top_k` and `present`."""
        from mmcnn.multimodal.attribution import column_attribution

        return column_attribution(self, inputs, class_name=class_name, batch_size=batch_size)

    # ------------------------------------------------------------------- export
    def serving_endpoints(self):
        """`serving_default`: one raw input per column (image bytes, waveforms, strings, numbers);
        a missing cell is an empty string or NaN."""
        model, names = self.model, list(self.class_names)
        outputs = endpoint_outputs(self)
        encoders = list(self.encoders.values())

        def serve(*raws):
            inputs, present = {}, []
            for encoder, raw in zip(encoders, raws):
                inputs[encoder.name], mask = encoder.serve(raw)
                present.append(mask)
            inputs[PRESENT] = tf.stack(present, axis=1)
            return outputs(model(inputs, training=False), names)

        description = ", ".join(f"{e.name} ({e.kind}: {e.serving_spec().dtype.name})" for e in encoders)
        return [
            Endpoint(
                "serving_default",
                serve,
                [encoder.serving_spec() for encoder in encoders],
                f"one input per column: {description}; a missing cell is an empty string or NaN",
            )
        ]

    def serving_metadata(self):
        metadata = {
            "columns": {
                column: {"kind": encoder.kind, "input": encoder.name}
                for column, encoder in self.encoders.items()
            }
        }
        for encoder in self.encoders.values():
            if encoder.kind in VALUE_KINDS and encoder.kind != "text":
                continue
            extra = encoder.serving_metadata()
            for key in ("serving_requires", "serving_imports"):
                for entry in extra.get(key, ()):
                    metadata.setdefault(key, [])
                    if entry not in metadata[key]:
                        metadata[key].append(entry)
        return metadata

    def edge_endpoint(self):
        raise ValueError(
            "a table classifier is exported as a SavedModel (format='saved_model'); LiteRT and ONNX "
            "files take one input and are not made for tables yet"
        )


def _cell(value, kind, column, row):
    """A raw cell as the encoders take it: None where missing (None, NaN, blank, or a missing file)."""
    if _empty(value):  # what `read_table` takes for an empty cell (None, NaN of any float, pd.NA, blank)
        return None
    if kind == "number":
        return float(value)
    if kind not in VALUE_KINDS and isinstance(value, (str, os.PathLike)) and not os.path.isfile(value):
        logger.warning("row %d, column %r: file not found: %s; predicted without it", row, column, value)
        return None
    return value
