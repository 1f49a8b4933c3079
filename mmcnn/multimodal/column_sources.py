"""A table model's columns started from single-modality runs (`TableClassifier(init_from={column: RUN})`).

Each named column's encoder takes the run's settings (its preset, input size,
tokenizer, ...), its learned state (the text vocabulary) and the weights of its
layers up to the head; `fit` then trains those encoders frozen first and
fine-tunes them after, as a one-modality warm start does
(`mmcnn.models.transfer`).
"""

import json
import logging
import os

from mmcnn.models import registry, saving, transfer

logger = logging.getLogger("mmcnn")

# Settings of a source classifier that say how it was trained, not what its encoder is.
NOT_ENCODER_SETTINGS = ("precision", "multi_label", "augmentation")


def check_column_sources(init_from):
    """`init_from` of a table: None, or `{column: path}` with paths as strings."""
    if init_from is None:
        return None
    if not isinstance(init_from, dict) or not init_from:
        raise ValueError(
            "`init_from` of a TableClassifier must be a dict {column: run directory or .keras file}. "
            f"Received: init_from={init_from!r:.120}"
        )
    return {str(column): os.fspath(transfer.check_init_from(path)) for column, path in init_from.items()}


def source_settings(init_from, columns, column_settings):
    """`{column: settings}` of the warm columns: the source's constructor arguments, then the given
    ones (a given setting that the source's weights fix, e.g. `image_size`, must agree)."""
    settings = {}
    for column, path in init_from.items():
        if column not in columns:
            raise transfer.TransferError(
                f"init_from names column {column!r}, which the table lacks; its columns: {list(columns)}"
            )
        modality, inherited = transfer.inherited_settings(path, exclude=NOT_ENCODER_SETTINGS)
        if modality != columns[column]:
            raise transfer.TransferError(
                f"init_from[{column!r}] ({path}) is a {modality} classifier, but column {column!r} is "
                f"{columns[column]}"
            )
        given = column_settings.get(column, {})
        for name in ("preset", *registry.get_classifier(modality).transfer_settings):
            if name in given and json.dumps(given[name]) != json.dumps(inherited.get(name)):
                raise transfer.TransferError(
                    f"init_from[{column!r}] was trained with {name}={json.dumps(inherited.get(name))}, "
                    f"column_settings[{column!r}] gives {name}={json.dumps(given[name])}; leave it out"
                )
        settings[column] = json.loads(json.dumps({**inherited, **given}))
    return settings


def take_source(encoder, path):
    """Loads the column's source classifier and gives its learned state to the column's encoder."""
    source = saving.load(transfer.source_model_path(path))
    transfer.check_source(encoder.classifier, source, path)
    encoder.classifier.prepare_transfer(source)
    return source


def copy_sources(model, encoders, sources):
    """Copies each source's weights (up to its head) into its column's encoder network in `model`;
    returns the names of the encoder networks that start warm."""
    warm = []
    for column, source in sources.items():
        encoder = encoders[column]
        name = f"{encoder.name}_encoder"
        copied = transfer.copy_weights(
            source.model, model.get_layer(name), adapt=encoder.classifier.adapt_transfer_weight
        )
        logger.info("init_from[%s]: copied %s into %s", column, ", ".join(copied), name)
        warm.append(name)
    return warm
