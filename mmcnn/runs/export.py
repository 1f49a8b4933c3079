"""What `mmcnn export` and `mmcnn evaluate --model` do with a run: write a file, score a file.

`export_run` writes a run's classifier in any registered format
(`mmcnn.export.formats`: a SavedModel, a LiteRT `.tflite`, an `.onnx` file,
...); int8 calibration data is the run's own training data (read again from
the path in its `config.json`), and a file of a checked format (`.tflite`,
`.onnx`) is checked against the Keras model on the run's validation split.
`evaluate_model_file` scores a converted file in its runtime next to the run's
Keras model.
"""

import json
import logging
import os
import warnings

from mmcnn.runs.run_dir import RunDir
from mmcnn.runs.train import load_data, load_eval_data, load_run

logger = logging.getLogger("mmcnn.runs")


def run_training_data(run_dir, clf, verbose=0):
    """The training data of a run, read again from the path recorded in its `config.json`."""
    run = RunDir(run_dir)
    if not os.path.isfile(run.config_path):
        raise FileNotFoundError(f"{run_dir}: no config.json, so the training data is unknown")
    with open(run.config_path, encoding="utf-8") as f:
        command = json.load(f).get("command", {})
    path = command.get("train")
    if not path or not os.path.exists(path):
        raise FileNotFoundError(
            f"{run_dir}: the training data recorded in config.json ({path}) is not there; int8 "
            "calibration needs it"
        )
    return load_data(
        clf.modality,
        path,
        class_names=clf.class_names,
        on_error=command.get("on_error", "skip"),
        verbose=verbose,
        settings=clf.get_config(),
    )


def run_validation_data(run_dir, clf, verbose=0):
    """The run's validation split, read again as training made it: its `val` file, else the same
    seeded fraction of its training data. Returns `(data, None)`, or `(None, why)` where it is gone."""
    with open(RunDir(run_dir).config_path, encoding="utf-8") as f:
        command = json.load(f).get("command", {})
    path = command.get("val") or command.get("train")
    if not path or not os.path.exists(path):
        return None, f"the run's data recorded in config.json ({path}) is not there"
    data = load_data(
        clf.modality,
        path,
        class_names=clf.class_names,
        on_error=command.get("on_error", "skip"),
        encoding=command.get("encoding"),
        verbose=verbose,
        settings=clf.get_config(),
    )
    if not command.get("val"):
        _, data = data.split(command.get("val_fraction", 0.1), seed=command.get("seed", 0))
    return data, None


def needs_calibration(clf, format, quantize):
    """Whether this export draws calibration examples (its format's record says: LiteRT int8, and
    dynamic with float layers)."""
    from mmcnn.export.formats import get_format

    return get_format(format).calibrates(clf, quantize)


def export_run(run_dir, out=None, format="saved_model", quantize=None, overwrite=False, calibration_size=300):
    """Writes the run's classifier in `format`; returns the path written.

    Args:
        run_dir: a completed run directory.
        out: target path (default: the format's default name in the run
            directory: `RUN_DIR/export` for a SavedModel,
            `RUN_DIR/model[_QUANTIZE].tflite`, `RUN_DIR/model.onnx`).
        format: a registered format name (`mmcnn.export.formats`):
            `"saved_model"`, `"litert"`, `"onnx"`, ...
        quantize: for a format with quantizations (LiteRT): `None`,
            `"float16"`, `"dynamic"` or `"int8"`.
        overwrite: replace an earlier export at `out`.
        calibration_size: most training examples drawn for int8 calibration.
    """
    from mmcnn.export.formats import export, get_format

    record = get_format(format)
    clf = load_run(run_dir)
    if out is None:
        out = default_export_path(run_dir, format, quantize)
    kwargs = {}
    if record.calibrates(clf, quantize):
        data = run_training_data(run_dir, clf)
        logger.info("calibrating on up to %d of the run's %d training examples", calibration_size, len(data))
        kwargs = {"calibration_data": data, "calibration_size": calibration_size}
    if record.checked:
        check_data, why = run_validation_data(run_dir, clf)
        if check_data is None:
            logger.warning("the exported file is not checked against the Keras model: %s", why)
        kwargs["check_data"] = check_data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        path = export(clf, out, format=format, quantize=quantize, overwrite=overwrite, **kwargs)
    for warning in caught:  # mmcnn's own warnings (few calibration examples) as `mmcnn: ...` lines
        if issubclass(warning.category, UserWarning):
            logger.warning("%s", warning.message)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if record.checked and kwargs["check_data"] is not None and record.read_document is not None:
        for line in check_lines(path, format, quantize):
            logger.info("%s", line)
    return path


def check_lines(path, format="litert", quantize=None):
    """The lines that say how a checked file (`.tflite`, `.onnx`) agreed with the Keras model and which
    runtimes it was checked in, read from the document stored inside the file (its `mmcnn.json`)."""
    from mmcnn.export.agreement import agreement_line
    from mmcnn.export.formats import get_format

    record = get_format(format)
    document = record.read_document(path)
    lines = [agreement_line(document["agreement"], record.what(quantize))]
    if "checked_in" in document:
        lines.append(f"checked in: {', '.join(document['checked_in']) or 'no runtime'}")
    return lines


def default_export_path(run_dir, format, quantize=None):
    """Where `mmcnn export` writes without `--out`: the format's default name in the run directory."""
    from mmcnn.export.formats import get_format

    return os.path.join(RunDir(run_dir).path, get_format(format).file_name(quantize))


def evaluate_model_file(run_dir, model_file, data_path, verbose=0, encoding=None):
    """Scores `model_file` (`.tflite`, `.onnx`, any format with a runner) on `data_path` next to the run's
    Keras model.

    The data is read as `mmcnn evaluate` reads it (`load_eval_data`), so the
    Keras scores are the ones `mmcnn evaluate RUN --data DATA` prints.

    Returns the metrics of `Classifier.evaluate_model_file`: accuracy of the
    file, `keras_accuracy`, `agreement`, `max_abs_diff`, `file_size_bytes`,
    `latency_ms_batch1`."""
    clf = load_run(run_dir)
    if not os.path.isfile(model_file):
        raise FileNotFoundError(f"{model_file}: no such model file")
    data = load_eval_data(clf, data_path, verbose=verbose, encoding=encoding)
    return clf.evaluate_model_file(data, model_file)
