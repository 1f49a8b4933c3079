"""A table as labelled data: `TableData`, the `LabeledData` of rows that a `TableClassifier` trains on.

`read_table` says what each column holds; `from_table` turns its result into
`TableData` (one dict `{column: value or None}` per row, the column kinds
kept beside them), and `from_dataframe` does both for a CSV path or a
DataFrame (what `mmcnn train table --train items.csv` reads).
"""

import logging

from mmcnn.data.container import LabeledData
from mmcnn.data.labels import label_arrays
from mmcnn.data.policy import DataError
from mmcnn.multimodal.tables import Table, _frame, read_table

logger = logging.getLogger("mmcnn")


class TableData(LabeledData):
    """Rows of a table with their labels: `inputs` is a list of dicts `{column: value or None}`.

    Args:
        rows: one dict per example; `None` marks a missing cell.
        labels, class_names, targets, skipped, sources: as for `LabeledData`.
        columns: `{column: kind}` of the input columns, in order (kinds as
            `read_table` gives them: `"number"`, `"category"`, `"text"` or a
            modality's name for file paths).
        missing: `{column: [(row, reason), ...]}` of the cells that were
            missing when the table was read (for the run's report).
        summary: `Table.summary()` of the table read (the columns' kinds,
            detected or given, and the missing cells), or None.
    """

    def __init__(self, rows, labels, class_names, columns, missing=None, summary=None, **kwargs):
        super().__init__(rows, labels, class_names, "rows", **kwargs)
        self.columns = dict(columns)
        self.missing = {name: list(missing.get(name, ())) for name in self.columns} if missing else {}
        self.summary = summary

    @classmethod
    def like(cls, data, columns, missing=None):
        """The `TableData` of a plain `LabeledData` of rows (what `subset` and `split` return)."""
        table = cls(
            data.inputs,
            data.labels,
            data.class_names,
            columns,
            missing=missing,
            skipped=data.skipped,
            sources=data.sources,
            targets=data.targets,
        )
        for name, value in data._loading_facts().items():
            setattr(table, name, value)
        return table

    def subset(self, indices):
        return TableData.like(super().subset(indices), self.columns)

    def with_classes(self, class_names, leave_out=(), where="data"):
        moved = TableData.like(
            super().with_classes(class_names, leave_out, where), self.columns, self.missing
        )
        moved.summary = self.summary
        return moved

    def values(self, column):
        """One column's cells, in row order (`None` where missing)."""
        return [row.get(column) for row in self.inputs]

    def missing_counts(self):
        """`{column: how many cells are missing}` in these rows."""
        return {name: sum(row.get(name) is None for row in self.inputs) for name in self.columns}

    def data_report(self):
        report = super().data_report()
        report["columns"] = dict(self.columns)
        report["missing_cells"] = self.missing_counts()
        return report


def from_table(table, class_names=None):
    """The `TableData` of a `read_table` result (`Table`).

    `class_names`: the classes to label against (a model's); a label outside
    them is a `DataError` naming its row. Default: the table's."""
    if not isinstance(table, Table):
        raise TypeError(f"expected a Table from mmcnn.multimodal.read_table; received {type(table).__name__}")
    names = list(table.columns)
    rows = [{name: table.values[name][i] for name in names} for i in range(len(table))]
    class_names = list(table.class_names) if class_names is None else [str(c) for c in class_names]
    known = set(class_names)
    for row, label in zip(table.rows, table.labels):
        unknown = [name for name in (label if table.multi_label else (label,)) if name not in known]
        if unknown:
            raise DataError(f"{table.source} row {row}: label {unknown[0]!r} is not one of {class_names}")
    arrays = label_arrays(table.labels, class_names)
    sources = [f"{table.source} row {row}" for row in table.rows]
    return TableData(
        rows,
        arrays["labels"],
        class_names,
        table.columns,
        missing=table.missing,
        summary=table.summary(),
        skipped=[(f"{table.source} row {row}", reason) for row, reason in table.skipped],
        sources=sources,
        targets=arrays["targets"],
    )


def from_dataframe(
    manifest,
    label_column="label",
    columns=None,
    class_names=None,
    base_dir=None,
    encoding=None,
    verbose=1,
    on_error="skip",
    empty_classes="error",
):
    """A CSV path or DataFrame of media paths, texts, numbers and categories as `TableData`.

    `read_table` reads it (column kinds detected, or given by `columns`);
    missing cells stay in the rows as `None`. With `verbose`, the columns'
    kinds and missing cells are logged. `on_error` and `empty_classes` are
    accepted for the modality readers' signature: a table keeps every row
    that has a label (a missing cell is masked, not skipped), so no class is
    emptied by bad cells.

    Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"hour": [6, 7, None, 9], "note": ["a", "b", "c", "d"],
    ...                       "label": ["owl", "owl", "lark", "lark"]})
    >>> data = from_dataframe(frame, verbose=0)
    >>> data.columns, data.inputs[2]
    ({'hour': 'number', 'note': 'text'}, {'hour': None, 'note': 'c'})
    """
    table = read_table(
        manifest, label_column=label_column, columns=columns, base_dir=base_dir, encoding=encoding
    )
    if verbose:
        logger.info("%s", table.summary())
    return from_table(table, class_names=class_names)


def as_table_data(data, what="data"):
    """`data` as `TableData`: a `Table` is converted, `TableData` passed through."""
    if isinstance(data, Table):
        return from_table(data)
    if isinstance(data, TableData):
        return data
    if isinstance(data, LabeledData) and data.kind == "rows":
        raise DataError(f"{what} has rows but no column kinds; make it with mmcnn.multimodal.from_dataframe")
    raise TypeError(
        f"{what} must be a table (mmcnn.multimodal.read_table or from_dataframe); "
        f"received {type(data).__name__}"
    )


def read_csv_frame(path, encoding=None):
    """A CSV's cells as strings (an empty cell is ""), read as `read_table` reads it."""
    return _frame(path, None, encoding)[0]
