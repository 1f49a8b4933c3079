"""`mistakes.png` and `confused_pairs.png`: the most confidently wrong examples, and the class
pairs the model mixes up most, each example with the activation map of what it answered.

Both galleries are capped (`gallery_size`): picking the examples is a sort of
the split's probabilities, and only the shown examples are explained, so a
10,000-example split costs one Grad-CAM call of at most `gallery_size` inputs.
"""

import os

import numpy as np
from matplotlib.figure import Figure

from mmcnn.report.activation_maps import (
    background_kind,
    draw_explanation,
    explanation_empty,
    explanation_item,
)
from mmcnn.report.drawing import _DPI
from mmcnn.report.errors import ReportError

GALLERY_SIZE = 12
# Confused pairs drawn, and examples per pair.
CONFUSED_PAIRS = 4
EXAMPLES_PER_PAIR = 3
_COLUMNS = {"image": 4, "spectrogram": 3, "tokens": 2, "none": 4}
_CELL = {"image": (2.6, 2.9), "spectrogram": (3.6, 2.6), "tokens": (5.2, 1.3), "none": (2.6, 2.6)}  # inches


def most_confident_mistakes(probabilities, labels, limit=GALLERY_SIZE):
    """Indices of the wrong answers, the most confident first (at most `limit`).

    Example:
    >>> most_confident_mistakes(np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]), [1, 1, 1]).tolist()
    [0, 2]
    """
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][: max(0, int(limit))]


def most_confused_pairs(probabilities, labels, limit=CONFUSED_PAIRS):
    """`(true_id, predicted_id, count)` of the most frequent confusions, largest first.

    Example:
    >>> most_confused_pairs(np.eye(3)[[1, 1, 2, 0]], [0, 0, 1, 0])
    [(0, 1, 2), (1, 2, 1)]
    """
    predicted = np.asarray(probabilities).argmax(axis=1)
    labels = np.asarray(labels)
    pairs = {}
    for true, pred in zip(labels[predicted != labels], predicted[predicted != labels]):
        pairs[(int(true), int(pred))] = pairs.get((int(true), int(pred)), 0) + 1
    ranked = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[: max(0, int(limit))]
    return [(true, pred, count) for (true, pred), count in ranked]


def _source_name(data, index):
    sources = getattr(data, "sources", None)
    if sources is not None and index < len(sources):
        return os.path.basename(str(sources[index]))
    if data.kind == "files":
        return os.path.basename(str(data.inputs[index]))
    return None


def _explain(classifier, data, indices, class_ids):
    names = list(classifier.class_names)
    items = [data.inputs[int(i)] for i in indices]
    return classifier.explain(items, class_name=[names[int(c)] for c in class_ids])


def _gallery(classifier, data, probabilities, indices, title):
    names = list(classifier.class_names)
    predicted = np.asarray(probabilities).argmax(axis=1)
    explanation = _explain(classifier, data, indices, predicted[indices])
    kind = background_kind(explanation_item(explanation, 0)[0])
    columns = min(_COLUMNS[kind], len(indices))
    rows = -(-len(indices) // columns)
    cell = _CELL[kind]
    fig = Figure(figsize=(cell[0] * columns, cell[1] * rows + 0.6), dpi=_DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).reshape(-1)
    for ax in axes[len(indices) :]:
        ax.axis("off")
    for k, (ax, index) in enumerate(zip(axes, indices)):
        background, cam_map, curve = explanation_item(explanation, k)
        draw_explanation(ax, background, cam_map, curve, empty=explanation_empty(explanation, k))
        true, pred = int(data.labels[index]), int(predicted[index])
        lines = [f"true {names[true]} | said {names[pred]} {probabilities[index, pred]:.3f}"]
        source = _source_name(data, int(index))
        if source:
            lines.append(source if len(source) <= 40 else source[:37] + "...")
        ax.set_title("\n".join(lines), fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def plot_mistakes(classifier, data, probabilities, limit=GALLERY_SIZE):
    """The most confidently wrong examples of `data`, each with the map of the class it said.

    Args:
        classifier: the mmcnn classifier (its `explain` makes the maps).
        data: the split's `LabeledData` (its inputs are explained again).
        probabilities: `(len(data), num_classes)` the classifier's probabilities on it.
        limit: most examples shown.
    """
    probabilities = np.asarray(probabilities)
    if data is None or not len(probabilities):
        raise ReportError("no predictions on a labelled split were given")
    indices = most_confident_mistakes(probabilities, data.labels, limit)
    if not len(indices):
        raise ReportError("the model made no mistake on this split")
    return _gallery(
        classifier,
        data,
        probabilities,
        indices,
        f"the {len(indices)} most confidently wrong examples (map: evidence for the class it said)",
    )


def plot_confused_pairs(classifier, data, probabilities, pairs=CONFUSED_PAIRS, per_pair=EXAMPLES_PER_PAIR):
    """One row per most-confused class pair (true -> said), with its most confident examples."""
    probabilities = np.asarray(probabilities)
    if data is None or not len(probabilities):
        raise ReportError("no predictions on a labelled split were given")
    names = list(classifier.class_names)
    predicted = probabilities.argmax(axis=1)
    confused = most_confused_pairs(probabilities, data.labels, pairs)
    if not confused:
        raise ReportError("the model made no mistake on this split")
    indices, row_titles = [], []
    for true, pred, count in confused:
        members = np.flatnonzero((data.labels == true) & (predicted == pred))
        members = members[np.argsort(-probabilities[members, pred], kind="stable")][:per_pair]
        # Short rows are padded with empty cells: each pair starts a row of the grid.
        indices += list(members) + [None] * (per_pair - len(members))
        row_titles.append(f"{names[true]} taken for {names[pred]}: {count}x")
    shown = [i for i in indices if i is not None]
    return _gallery_rows(classifier, data, probabilities, indices, shown, row_titles, per_pair)


def _gallery_rows(classifier, data, probabilities, slots, shown, row_titles, per_pair):
    names = list(classifier.class_names)
    predicted = probabilities.argmax(axis=1)
    explanation = _explain(classifier, data, shown, predicted[shown])
    kind = background_kind(explanation_item(explanation, 0)[0])
    rows = len(row_titles)
    cell = _CELL[kind]
    fig = Figure(figsize=(cell[0] * per_pair, cell[1] * rows + 0.6), dpi=_DPI, layout="constrained")
    axes = fig.subplots(rows, per_pair, squeeze=False)
    k = 0
    for slot, index in enumerate(slots):
        ax = axes[slot // per_pair, slot % per_pair]
        if index is None:
            ax.axis("off")
            continue
        background, cam_map, curve = explanation_item(explanation, k)
        draw_explanation(ax, background, cam_map, curve, empty=explanation_empty(explanation, k))
        k += 1
        lines = [f"said {names[int(predicted[index])]} {probabilities[index, predicted[index]]:.3f}"]
        source = _source_name(data, int(index))
        if source:
            lines.append(source if len(source) <= 40 else source[:37] + "...")
        if slot % per_pair == 0:
            lines.insert(0, row_titles[slot // per_pair])
        ax.set_title("\n".join(lines), fontsize=7)
    fig.suptitle("the most confused class pairs (true taken for said), most confident first", fontsize=10)
    return fig
