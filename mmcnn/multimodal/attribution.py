"""Why a table model said what it said: what each column adds, by leaving it out.

A table model predicts from any subset of its columns (a missing cell gets the
column's learned "missing" embedding), so a column's part in a prediction is
measured by masking it: `column_attribution` gives, per row and column, how
much the predicted class's probability drops when that cell is left out;
`column_ablation` gives a split's accuracy with all columns, with each column
alone and with each column left out (the run's report draws it).
"""

import numpy as np

from mmcnn.models.pipeline import predict_in_batches
from mmcnn.multimodal.columns import PRESENT
from mmcnn.multimodal.table_data import as_table_data


def _predict_masked(clf, batch, present, batch_size):
    return predict_in_batches(clf.model, {**batch, PRESENT: present.astype("float32")}, batch_size)


def column_attribution(clf, inputs, class_name=None, batch_size=64):
    """Per row, how much each column moved the prediction: the probability of the explained class
    with every cell the row has, minus that probability with the column's cell left out (0 where
    the row lacks the cell).

    Args:
        clf: a trained `TableClassifier`.
        inputs: rows, as `TableClassifier.predict` takes them.
        class_name: the class to explain (None: each row's most probable class).

    Returns:
        dict with `columns` (`{column: float32 (n,)}`), `class_names` (the class explained per
        row), `probabilities` `(n, num_classes)`, `top_k` (per row the 3 most probable
        `(name, probability)`) and `present` `{column: bool (n,)}`.
    """
    batch = clf.preprocess(inputs)
    present = np.asarray(batch[PRESENT], "float32")
    probabilities = _predict_masked(clf, batch, present, batch_size)
    if class_name is None:
        ids = probabilities.argmax(axis=1)
    elif class_name in clf.class_names:
        ids = np.full(len(probabilities), clf.class_names.index(class_name))
    else:
        raise ValueError(f"`class_name` {class_name!r} is not one of {clf.class_names}")
    rows = np.arange(len(ids))
    columns = {}
    for i, column in enumerate(clf.columns):
        masked = present.copy()
        masked[:, i] = 0.0
        without = _predict_masked(clf, batch, masked, batch_size)
        columns[column] = np.where(
            present[:, i] > 0, probabilities[rows, ids] - without[rows, ids], 0.0
        ).astype("float32")
    order = np.argsort(-probabilities, axis=1)[:, :3]
    return {
        "columns": columns,
        "class_names": [clf.class_names[i] for i in ids],
        "probabilities": probabilities,
        "top_k": [[(clf.class_names[j], float(p[j])) for j in top] for p, top in zip(probabilities, order)],
        "present": {column: present[:, i] > 0 for i, column in enumerate(clf.columns)},
    }


def column_ablation(clf, data, batch_size=64):
    """Accuracy on a labelled table with every column, each column alone and each left out.

    Returns:
        dict with `all` (accuracy as the data is), `alone` and `left_out` (`{column: accuracy}`),
        and `examples`. Multi-label data: the share of rows whose top class is one of theirs.
    """
    data = as_table_data(data)
    batch = clf.preprocess(data)
    present = np.asarray(batch[PRESENT], "float32")
    truth = data.target_matrix()

    def accuracy(mask):
        top = _predict_masked(clf, batch, mask, batch_size).argmax(axis=1)
        return float(truth[np.arange(len(top)), top].mean()) if len(top) else float("nan")

    alone, left_out = {}, {}
    for i, column in enumerate(clf.columns):
        only = np.zeros_like(present)
        only[:, i] = present[:, i]
        alone[column] = accuracy(only)
        rest = present.copy()
        rest[:, i] = 0.0
        left_out[column] = accuracy(rest)
    return {"all": accuracy(present), "alone": alone, "left_out": left_out, "examples": len(data)}
