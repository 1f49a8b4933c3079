"""Export formats by name: one `ExportFormat` record per format, in a registry that imports no format.

A format is one module that holds its writer, its runner (what `mmcnn
evaluate --model` scores a file with) and its record, and registers the record
with `register_format(record)` when it is imported: mmcnn's own are
`exporter.py` (`saved_model`), `litert.py` and `onnx.py`, imported by
`mmcnn.export`'s `__init__`. A format from another package is found through
its `mmcnn.export_formats` entry point (a module that registers its record when
imported, or `module:RECORD`). `Classifier.export`, `mmcnn export`,
`mmcnn evaluate --model` and `mmcnn.runs.export` read the records and know no
format themselves.

Example:
>>> from mmcnn.export import formats
>>> formats.get_format("litert").suffix
'.tflite'
>>> formats.format_for_path("model.onnx").name
'onnx'
"""

import dataclasses
import importlib.metadata
import os
from collections.abc import Callable

ENTRY_POINT_GROUP = "mmcnn.export_formats"

_FORMATS = {}  # format name -> ExportFormat, in the order they were registered
_entry_points_loaded = False


@dataclasses.dataclass(frozen=True)
class ExportFormat:
    """What the rest of mmcnn knows about one export format.

    Args:
        name: the `format=` / `--format` name (a Python identifier).
        writer: `writer(clf, path, overwrite=False, **kwargs) -> path written`;
            it takes `quantize` and `calibration_data` when the format has
            `quantizations`, and `check_data` when it is `checked`.
        suffix: the file suffix (`".tflite"`), or None for a directory.
        default_name: the name written in a run directory by `mmcnn export`
            without `--out` (`"model.tflite"`; a quantized file gets
            `_QUANTIZE` before its suffix, `model_int8.tflite`).
        runner: `runner(path) -> EdgeModel` (`mmcnn.export.runtimes`): the
            file in its runtime, for `mmcnn evaluate --model`; None where a
            file cannot be scored that way (the SavedModel).
        read_document: `read_document(path) -> dict`: the document stored
            inside a `checked` file, whose `agreement` entry `mmcnn export`
            reports; None where the file holds none.
        quantizations: the `quantize` values besides None (float32).
        needs_calibration: `needs_calibration(clf, quantize) -> bool`: whether
            that export draws calibration examples (the run's training data);
            None for a format that takes no calibration data.
        checked: whether the export runs the file on held-out examples next to
            the Keras model (`mmcnn.export.agreement`) and takes `check_data`.
        description: a few words for `--help` (`"LiteRT .tflite, built-in ops"`).
    """

    name: str
    writer: Callable
    suffix: str | None = None
    default_name: str = "export"
    runner: Callable | None = None
    read_document: Callable | None = None
    quantizations: tuple = ()
    needs_calibration: Callable | None = None
    checked: bool = False
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"`name` must be a Python identifier. Received: name={self.name!r}")
        if not callable(self.writer):
            raise ValueError(f"`writer` of format {self.name!r} must be callable. Received: {self.writer!r}")
        for field in ("runner", "read_document", "needs_calibration"):
            value = getattr(self, field)
            if value is not None and not callable(value):
                raise ValueError(
                    f"`{field}` of format {self.name!r} must be callable or None. Received: {value!r}"
                )
        suffix = self.suffix
        if suffix is not None and (
            not isinstance(suffix, str) or not suffix.startswith(".") or suffix != suffix.lower()
        ):
            raise ValueError(
                f"`suffix` of format {self.name!r} must be a lower-case suffix with its dot ('.npz') or None "
                f"for a directory. Received: suffix={self.suffix!r}"
            )
        if self.suffix is not None and not self.default_name.endswith(self.suffix):
            raise ValueError(
                f"`default_name` of format {self.name!r} must end in its suffix {self.suffix}. "
                f"Received: default_name={self.default_name!r}"
            )
        object.__setattr__(self, "quantizations", tuple(self.quantizations))
        if None in self.quantizations:
            raise ValueError(
                f"`quantizations` of format {self.name!r} lists the quantized kinds only, not None. "
                f"Received: quantizations={self.quantizations!r}"
            )

    def file_name(self, quantize=None):
        """The default name in a run directory: `model.tflite`, `model_int8.tflite`, `export`."""
        if not quantize:
            return self.default_name
        stem, suffix = os.path.splitext(self.default_name)
        return f"{stem}_{quantize}{suffix}"

    def what(self, quantize=None):
        """How messages name a file of this format: `"int8 .tflite file"`, `".onnx file"`."""
        kind = f"{self.suffix} file" if self.suffix else f"{self.name} directory"
        return f"{quantize or 'float32'} {kind}" if self.quantizations else kind

    def calibrates(self, clf, quantize):
        """Whether exporting `clf` with `quantize` draws calibration examples."""
        return self.needs_calibration is not None and bool(self.needs_calibration(clf, quantize))


def register_format(record):
    """Registers an `ExportFormat` under its name; a later record of the same name replaces it.

    Raises:
        ValueError: `record` is not an `ExportFormat`, or its suffix is another format's.
    """
    if not isinstance(record, ExportFormat):
        raise ValueError(f"`record` must be an ExportFormat. Received: {type(record).__name__}")
    for other in _FORMATS.values():
        if other.name != record.name and record.suffix is not None and other.suffix == record.suffix:
            raise ValueError(
                f"format {record.name!r}: the suffix {record.suffix} is already format {other.name!r}'s"
            )
    _FORMATS[record.name] = record
    return record


def unregister_format(name):
    """Removes format `name` from the registry (a notebook's or a test's own format); returns its record."""
    if name not in _FORMATS:
        raise ValueError(f"no export format {name!r} is registered; registered: {sorted(_FORMATS)}")
    return _FORMATS.pop(name)


def _load_entry_points():
    """Imports the formats that installed packages declare (`mmcnn.export_formats`), once."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry_point.load()  # a module registers its record when imported
        except Exception as error:
            raise ImportError(
                f"the export format {entry_point.name!r} ({ENTRY_POINT_GROUP} entry point "
                f"{entry_point.value!r}) could not be imported: {error}"
            ) from error
        if isinstance(loaded, ExportFormat):
            register_format(loaded)


def registered_formats():
    """The registered formats, `{name: ExportFormat}` in registration order (mmcnn's own first)."""
    _load_entry_points()
    return dict(_FORMATS)


def format_names():
    """The names `format=` and `mmcnn export --format` accept."""
    return tuple(registered_formats())


def get_format(name):
    """The record of format `name`.

    Raises:
        ValueError: no format of that name is registered.
    """
    known = registered_formats()
    if name not in known:
        raise ValueError(f"`format` must be one of {sorted(known)}. Received: format={name!r}")
    return known[name]


def file_suffixes():
    """`{suffix: format name}` of the formats that write one file."""
    return {f.suffix: f.name for f in registered_formats().values() if f.suffix}


def format_for_path(path):
    """The record of the file format whose suffix `path` ends in, or None."""
    name = os.path.basename(os.fspath(path)).lower()
    return next((f for f in registered_formats().values() if f.suffix and name.endswith(f.suffix)), None)


def _names(records):
    return " or ".join(f"format={f.name!r}" for f in records) or "no format"


def export(
    clf,
    path,
    format="saved_model",
    quantize=None,
    calibration_data=None,
    overwrite=False,
    check_data=None,
    **kwargs,
):
    """Writes `clf` in `format` (a registered name: `"saved_model"`, `"litert"`, `"onnx"`, ...).

    What `Classifier.export` calls. `quantize` and `calibration_data` are for
    formats with `quantizations` (LiteRT), `check_data` (held-out examples the
    file must decide as the Keras model does) for `checked` ones (LiteRT,
    ONNX); another format refuses them rather than ignoring them."""
    record = get_format(format)
    if not record.quantizations and (quantize is not None or calibration_data is not None):
        given = "quantize" if quantize is not None else "calibration_data"
        quantized = [f for f in registered_formats().values() if f.quantizations]
        raise ValueError(
            f"`{given}` applies to {_names(quantized)} only; format={format!r} writes float32 weights. "
            f"Received: {given}={quantize if quantize is not None else calibration_data!r}"
        )
    if check_data is not None and not record.checked:
        checked = [f"{f.name!r}" for f in registered_formats().values() if f.checked]
        raise ValueError(
            f"`check_data` applies to format={' or '.join(checked)}; format={format!r} is not run next to "
            "the Keras model"
        )
    if quantize not in (None, *record.quantizations):
        raise ValueError(
            f"`quantize` must be one of {(None, *record.quantizations)}. Received: quantize={quantize!r}"
        )
    if record.suffix is None:
        found = format_for_path(path)
        if found is not None:
            suffix = os.path.splitext(os.fspath(path))[1]
            raise ValueError(
                f"{path}: format={format!r} writes a directory, but the name ends in {suffix} (the suffix of "
                f"format={found.name!r}); pass format={found.name!r} or another name"
            )
    if record.quantizations:
        kwargs.update(quantize=quantize, calibration_data=calibration_data)
    if record.checked:
        kwargs.update(check_data=check_data)
    return record.writer(clf, path, overwrite=overwrite, **kwargs)
