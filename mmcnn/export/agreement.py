"""Does a converted file decide as its Keras model does: the check every LiteRT and ONNX export runs.

A converted file is run on held-out examples (the ones given to the export,
at most `CHECK_SIZE` drawn with a seed) next to the Keras model, and the
export is refused when the two decide differently too often:

- single-label: the same top class;
- multi-label: the same set of predicted labels (each class at the
  classifier's threshold).

Examples on which the Keras model itself is undecided are not counted:
those whose two most probable classes lie within `DECIDED_MARGIN` of each
other (multi-label: a score within `DECIDED_MARGIN` of its threshold). An
int8 output has steps of 1/256, so such near-ties may fall either way
without the file being wrong. The bounds, per quantization, are
`AGREEMENT_BOUNDS`.
"""

import logging

import numpy as np

from mmcnn.export.exporter import ExportError

logger = logging.getLogger("mmcnn")

# Least share of decided examples on which the file must decide as the Keras model does.
AGREEMENT_BOUNDS = {None: 0.99, "float16": 0.99, "dynamic": 0.99, "int8": 0.95}
DECIDED_MARGIN = 0.02
CHECK_SIZE = 200


def check_agreement(clf, run, data, quantize=None, what="file", size=CHECK_SIZE, seed=0, bound=None):
    """Runs `run` (edge inputs -> probabilities) on up to `size` examples of `data` next to `clf.model`.

    Args:
        clf: the classifier the file was converted from.
        run: a function from a batch of edge inputs to `(n, num_classes)`
            probabilities (the converted file in its runtime).
        data: a `LabeledData` of held-out examples (the labels are not used).
        quantize: the file's quantization; picks the bound.
        what: how the messages name the file (`"int8 .tflite file"`).
        size: most examples drawn (seeded) from `data`.
        seed: seed of the draw.
        bound: least agreement allowed (default `AGREEMENT_BOUNDS[quantize]`).

    Returns:
        dict with `agreement` (share of decided examples decided alike),
        `decided` (how many were counted), `examples`, `same_all` (share of all
        examples decided alike), `max_abs_diff`, `bound` and `margin`.

    Raises:
        ExportError: the agreement is below `bound`.
    """
    bound = AGREEMENT_BOUNDS.get(quantize, 0.99) if bound is None else float(bound)
    count = min(size, len(data))
    indices = np.sort(np.random.default_rng(seed).choice(len(data), count, replace=False))
    keras_probs, file_probs = [], []
    for x, _ in clf.make_dataset(data.subset(indices), batch_size=32):
        keras_probs.append(np.asarray(clf.model(x, training=False), dtype="float32"))
        file_probs.append(np.asarray(run(clf.edge_inputs(x)), dtype="float32"))
    keras_probs, file_probs = np.concatenate(keras_probs), np.concatenate(file_probs)
    if getattr(clf, "multi_label", False):
        thresholds = np.asarray(clf.threshold_values(), dtype="float32")
        same = np.all((keras_probs >= thresholds) == (file_probs >= thresholds), axis=-1)
        decided = np.all(np.abs(keras_probs - thresholds) > DECIDED_MARGIN, axis=-1)
    else:
        same = keras_probs.argmax(-1) == file_probs.argmax(-1)
        top2 = np.sort(keras_probs, axis=-1)[:, -2:]
        decided = top2[:, 1] - top2[:, 0] > DECIDED_MARGIN
    result = {
        "agreement": float(np.mean(same[decided])) if decided.any() else None,
        "decided": int(decided.sum()),
        "examples": int(count),
        "same_all": float(np.mean(same)),
        "max_abs_diff": float(np.max(np.abs(file_probs - keras_probs))),
        "bound": bound,
        "margin": DECIDED_MARGIN,
    }
    if result["agreement"] is not None and result["agreement"] < bound:
        kind = "predicted labels" if getattr(clf, "multi_label", False) else "top class"
        raise ExportError(
            f"the {what} disagrees with the Keras model: same {kind} on {result['agreement']:.1%} of "
            f"{result['decided']} examples the model decides by more than {DECIDED_MARGIN} (the bound is "
            f"{bound:.0%}; largest probability difference {result['max_abs_diff']:.2e}); nothing was "
            "written"
            + (
                ". int8 loses what the model's last layers need (a temperature far from 1 sharpens "
                "near-equal probabilities): export with quantize 'dynamic' or 'float16' instead"
                if quantize == "int8"
                else ""
            )
        )
    return result


def agreement_line(result, what="file"):
    """One line that says how the file agreed with the Keras model (or why it was not checked)."""
    if isinstance(result, str):
        return f"agreement of the {what} with the Keras model not checked: {result}"
    if result["agreement"] is None:
        return (
            f"agreement of the {what} with the Keras model not measured: none of {result['examples']} "
            f"examples is decided by more than {result['margin']} (same decision on "
            f"{result['same_all']:.1%} of them)"
        )
    return (
        f"the {what} decides as the Keras model on {result['agreement']:.1%} of {result['decided']} "
        f"held-out examples (bound {result['bound']:.0%}; {result['examples']} drawn), largest "
        f"probability difference {result['max_abs_diff']:.2e}"
    )
