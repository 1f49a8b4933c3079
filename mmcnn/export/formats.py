"""Export formats by name: `EXPORT_FORMATS` maps a format name to its writer.

`Classifier.export(path, format=...)` looks the writer up here and knows no
format itself. A new format is one module in `mmcnn/export/` plus one entry below.
"""

import os

from mmcnn.export.edge import QUANTIZATIONS, SUFFIXES
from mmcnn.export.exporter import export_classifier
from mmcnn.export.litert import export_litert
from mmcnn.export.onnx import export_onnx

# Format name -> (writer, whether it takes `quantize` / `calibration_data`).
EXPORT_FORMATS = {
    "saved_model": (export_classifier, False),
    "litert": (export_litert, True),
    "onnx": (export_onnx, False),
}
# The formats whose files are checked against the Keras model (`check_data`).
CHECKED_FORMATS = ("litert", "onnx")

__all__ = ["EXPORT_FORMATS", "QUANTIZATIONS", "export"]


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
    """Writes `clf` in `format` (`"saved_model"`, `"litert"` or `"onnx"`); what `Classifier.export` calls.

    `quantize` and `calibration_data` are for `"litert"` only, `check_data`
    (held-out examples the file must decide as the Keras model does) for
    `"litert"` and `"onnx"`; another format refuses them rather than ignoring them."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"`format` must be one of {sorted(EXPORT_FORMATS)}. Received: format={format!r}")
    writer, quantizes = EXPORT_FORMATS[format]
    if not quantizes and (quantize is not None or calibration_data is not None):
        given = "quantize" if quantize is not None else "calibration_data"
        raise ValueError(
            f"`{given}` applies to format='litert' only; format={format!r} writes float32 weights. "
            f"Received: {given}={quantize if quantize is not None else calibration_data!r}"
        )
    if check_data is not None and format not in CHECKED_FORMATS:
        raise ValueError(
            f"`check_data` applies to format='litert' or 'onnx'; format={format!r} is the Keras graph itself"
        )
    if format == "saved_model" and os.fspath(path).lower().endswith(tuple(SUFFIXES.values())):
        suffix = os.path.splitext(os.fspath(path))[1]
        found = next(f for f, s in SUFFIXES.items() if s == suffix.lower())
        raise ValueError(
            f"{path}: format='saved_model' writes a directory, but the name ends in {suffix} (the suffix of "
            f"format={found!r}); pass format={found!r} or another name"
        )
    if quantizes:
        kwargs.update(quantize=quantize, calibration_data=calibration_data)
    if format in CHECKED_FORMATS:
        kwargs.update(check_data=check_data)
    return writer(clf, path, overwrite=overwrite, **kwargs)
