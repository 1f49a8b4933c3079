"""Tables whose columns are media paths, texts, numbers and categories: the data of a multi-modal model.

`read_table` reads a CSV manifest or a DataFrame with a label column and any
number of input columns, and says what each column holds (its *kind*):

- a modality's name (`"image"`, `"audio"`, any registered one) for cells that
  are paths of that modality's files, detected by the file extensions the
  modality's classifier declares (`input_extensions`, looked up in the
  registry: this module imports no modality);
- `"number"` for numeric cells (a numeric dtype, or every cell parses as one);
- `"category"` for strings with few distinct values;
- `"text"` for other strings.

A missing cell (empty, NaN, or a path whose file does not exist) is `None`
in the column's values and counted, with its row and column, in the
summary: a multi-modal model gets a mask for it instead of losing the row.
"""

import dataclasses
import io
import os

import numpy as np
import pandas as pd

from mmcnn.data.labels import clean_label, split_label_cell
from mmcnn.data.manifests import _is_missing, _label_column, check_encoding, read_csv_text
from mmcnn.data.policy import DataError
from mmcnn.models import registry

VALUE_KINDS = ("number", "category", "text")
# The modality name of the table classifier itself (`TableClassifier`): not a column's kind.
TABLE_MODALITY = "table"
# A string column is a category when it has at most this many distinct values, and each
# value comes back at least twice on average (else it is more likely free text or ids).
CATEGORY_MAX_VALUES = 20


def column_kinds():
    """Every kind a column can have: the value kinds, then the registered modalities."""
    media = (name for name in registry.modality_names() if name not in (*VALUE_KINDS, TABLE_MODALITY))
    return [*VALUE_KINDS, *media]


def _modality_extensions():
    """`{modality: lowercase extensions}` of the modalities whose classifier reads files."""
    extensions = {}
    for name in registry.modality_names():
        if name == TABLE_MODALITY:
            continue
        found = tuple(e.lower() for e in getattr(registry.get_classifier(name), "input_extensions", ()))
        if found:
            extensions[name] = found
    return extensions


@dataclasses.dataclass
class Table:
    """What `read_table` read.

    Attributes:
        columns: `{name: kind}` of the input columns, in the table's order.
        detected: `{name: True}` where the kind was detected, `False` where given.
        path_columns: names of the columns whose cells are file paths (absolute in `values`).
        values: `{name: list}`, one entry per row kept; `None` for a missing cell;
            floats for `"number"`, strings otherwise.
        labels: one label per row (a tuple of class names when `multi_label`).
        class_names: the sorted class names.
        multi_label: whether the labels are label sets.
        rows: 1-based data row number of each row kept.
        missing: `{name: [(row, reason), ...]}` of the missing cells.
        skipped: `[(row, reason), ...]` of rows left out (an empty label).
        source: the CSV path, or `"manifest"` for a DataFrame.
    """

    columns: dict
    detected: dict
    path_columns: list
    values: dict
    labels: list
    class_names: list
    multi_label: bool
    rows: list
    missing: dict
    skipped: list
    source: str

    def __len__(self):
        return len(self.labels)

    def masks(self):
        """`{name: float32 array}`: 1 where the row has the cell, 0 where it is missing."""
        return {
            name: np.array([value is not None for value in values], "float32")
            for name, values in self.values.items()
        }

    def describe(self):
        """A JSON-ready record of the columns, for a run's files: kind, detected, paths, missing count.

        Example:
        >>> table = read_table(pd.DataFrame({"hour": [6, None], "label": ["owl", "lark"]}))
        >>> table.describe()
        {'hour': {'kind': 'number', 'detected': True, 'paths': False, 'missing': 1}}
        """
        return {
            name: {
                "kind": kind,
                "detected": self.detected[name],
                "paths": name in self.path_columns,
                "missing": len(self.missing[name]),
            }
            for name, kind in self.columns.items()
        }

    def summary(self, limit=5):
        """A few lines: each column's kind (detected or given) and its missing cells, with rows."""
        lines = [f"{self.source}: {len(self)} rows, {len(self.class_names)} classes"]
        for name, kind in self.columns.items():
            how = "detected" if self.detected[name] else "given"
            missing = self.missing[name]
            line = f"  {name}: {kind} ({how}), {len(missing)} missing"
            if missing:
                shown = "; ".join(f"row {row}: {reason}" for row, reason in missing[:limit])
                more = f"; and {len(missing) - limit} more" if len(missing) > limit else ""
                line += f" ({shown}{more})"
            lines.append(line)
        if self.skipped:
            lines.append(
                f"  skipped rows: {len(self.skipped)} (row {self.skipped[0][0]}: {self.skipped[0][1]})"
            )
        return "\n".join(lines)


def _frame(manifest, base_dir, encoding):
    if isinstance(manifest, (str, os.PathLike)):
        path = os.fspath(manifest)
        if not os.path.isfile(path):
            raise DataError(f"{path}: manifest not found")
        try:
            # Every cell as text: "NA" is a text or a category, an empty cell is missing.
            frame = pd.read_csv(io.StringIO(read_csv_text(path, encoding)), dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
            raise DataError(f"{path}: cannot parse CSV ({error})") from None
        return frame, path, base_dir or os.path.dirname(os.path.abspath(path))
    if isinstance(manifest, pd.DataFrame):
        check_encoding(encoding)
        return manifest, "manifest", base_dir or os.getcwd()
    raise DataError(f"manifest must be a pandas DataFrame or a CSV path; received {type(manifest).__name__}")


def _empty(cell):
    """None, NaN, `pd.NA`, `NaT` or a blank string."""
    if _is_missing(cell) or (isinstance(cell, str) and not cell.strip()):
        return True
    return bool(np.ndim(cell) == 0 and pd.isna(cell))


def _parses_as_numbers(cells):
    try:
        [float(cell) for cell in cells]
    except (TypeError, ValueError):
        return False
    return True


def _resolve(cell, base_dir):
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(str(cell).strip())))


def _detect(series, cells, extensions):
    """The kind of one column from its non-empty cells."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return "category"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "number"
    strings = [str(cell).strip().lower() for cell in cells]
    for modality, endings in extensions.items():
        if all(cell.endswith(endings) for cell in strings):
            return modality
    if _parses_as_numbers(cells):
        return "number"
    distinct = len(set(strings))
    if distinct <= CATEGORY_MAX_VALUES and distinct * 2 <= len(strings):
        return "category"
    return "text"


def _given_kinds(columns, frame, label_column, where):
    """`{name: kind or None}` from the `columns` argument (a dict of kinds, or a list of names)."""
    if columns is None:
        return {name: None for name in frame.columns if name != label_column}
    if isinstance(columns, str) or not isinstance(columns, (dict, list, tuple)):
        raise ValueError(
            "`columns` must be a dict {column: kind} or a list of column names. "
            f"Received: columns={columns!r}"
        )
    unknown = [name for name in columns if name not in frame.columns]
    if unknown:
        raise DataError(
            f"{where}: `columns` names column(s) {unknown} that the table lacks; its columns: "
            f"{list(frame.columns)}"
        )
    if label_column in columns:
        raise ValueError(f"`columns` must not include the label column. Received: columns={columns!r}")
    if isinstance(columns, dict):
        kinds = column_kinds()
        for name, kind in columns.items():
            if kind not in kinds:
                raise ValueError(
                    f"`columns` gives column {name!r} the unknown kind {kind!r}; kinds: {kinds}. "
                    f"Received: columns={columns!r}"
                )
        # The given kinds win; the other columns are detected.
        return {name: columns.get(name) for name in frame.columns if name != label_column}
    return {name: None for name in columns}


def read_table(manifest, label_column="label", columns=None, base_dir=None, encoding=None):
    """Reads a table of media paths, texts, numbers and categories with a label column.

    Args:
        manifest: a CSV path or a pandas DataFrame.
        label_column: the label column (`"labels"`, or a `;` in a cell, makes
            the table multi-label, as for single-modality manifests).
        columns: `None` (every other column, kinds detected), a list of the
            input columns (kinds detected), or a dict `{column: kind}` whose
            kinds override the detection (the other columns are detected).
            Kinds: `"number"`, `"category"`, `"text"` or a modality name.
        base_dir: what relative paths are relative to (default: the CSV's
            folder, or the working directory for a DataFrame).
        encoding: the CSV's text encoding (default UTF-8).

    Returns:
        A `Table`. A path cell whose file does not exist is a missing cell
        (named by row and column in `Table.summary()`), not an error; a row
        with an empty label is skipped.

    Raises:
        DataError: the label column is missing, or a column has no value to
            detect its kind from.
        ValueError: `columns` gives an unknown kind.

    Example:
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"hour": [6, 7, None, 9], "size": ["S", "L", "S", "L"],
    ...                       "label": ["owl", "owl", "lark", "lark"]})
    >>> table = read_table(frame)
    >>> table.columns, table.values["hour"]
    ({'hour': 'number', 'size': 'category'}, [6.0, 7.0, None, 9.0])
    """
    frame, where, base_dir = _frame(manifest, base_dir, encoding)
    label_column, multi_label = _label_column(frame, label_column, None)
    if label_column not in frame.columns:
        raise DataError(
            f"{where}: no label column {label_column!r}; its columns: {list(frame.columns)} "
            "(pass label_column=...)"
        )
    given = _given_kinds(columns, frame, label_column, where)
    frame = frame.reset_index(drop=True)

    rows, labels, skipped = [], [], []
    for index, cell in enumerate(frame[label_column]):
        row = index + 1
        label = None if _empty(cell) else (split_label_cell(cell) if multi_label else clean_label(str(cell)))
        if not label:
            skipped.append((row, f"empty label in column {label_column!r}"))
            continue
        rows.append(row)
        labels.append(label)
    kept = [row - 1 for row in rows]

    extensions = None
    table_columns, detected, path_columns, values, missing = {}, {}, [], {}, {}
    for name, kind in given.items():
        series = frame[name].iloc[kept]
        cells = [cell for cell in series if not _empty(cell)]
        if kind is None:
            if not cells:
                raise DataError(
                    f"{where}: column {name!r} has no value to detect its kind from; give its kind "
                    f"(columns={{{name!r}: ...}}) or leave it out"
                )
            extensions = extensions if extensions is not None else _modality_extensions()
            kind = _detect(series, cells, extensions)
        table_columns[name], detected[name] = kind, given[name] is None
        # A modality's cells are paths; a text column is one when every cell is a text file's path.
        is_path = kind not in VALUE_KINDS
        if kind == "text" and cells:
            extensions = extensions if extensions is not None else _modality_extensions()
            is_path = all(str(c).strip().lower().endswith(extensions.get(kind, ())) for c in cells)
        if is_path:
            path_columns.append(name)
        column_values, column_missing = _column_values(name, kind, is_path, series, rows, base_dir, where)
        values[name], missing[name] = column_values, column_missing

    class_names = sorted({name for label in labels for name in (label if multi_label else (label,))})
    return Table(
        columns=table_columns,
        detected=detected,
        path_columns=path_columns,
        values=values,
        labels=labels,
        class_names=class_names,
        multi_label=multi_label,
        rows=rows,
        missing=missing,
        skipped=skipped,
        source=where,
    )


def _column_values(name, kind, is_path, series, rows, base_dir, where):
    """One column's values (None where missing) and its `(row, reason)` missing cells."""
    values, missing = [], []
    for row, cell in zip(rows, series):
        if _empty(cell):
            values.append(None)
            missing.append((row, "empty cell"))
        elif kind == "number":
            try:
                values.append(float(cell))
            except (TypeError, ValueError):
                raise DataError(
                    f"{where} row {row}, column {name!r}: {cell!r} is not a number (the column's "
                    "kind is 'number')"
                ) from None
        elif not is_path:
            values.append(str(cell).strip() if kind == "category" else str(cell))
        else:
            path = _resolve(cell, base_dir)
            if os.path.isfile(path):
                values.append(path)
            else:
                values.append(None)
                missing.append((row, f"file not found: {path}"))
    return values, missing
