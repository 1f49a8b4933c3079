"""`run_classifier_test`: one call checks everything a classifier (a modality) must do.

Modelled on KerasHub's `run_task_test`: every classifier's tests call it, so a
new modality gets the whole contract by calling it. It checks, on tiny data:

1. the config round trip (`get_config` -> `from_config` -> the same config);
2. one epoch of `fit`, and the keys of `evaluate`;
3. `predict` on raw inputs: labels among the class names, probabilities that
   sum to 1, equal to `predict_proba`;
4. the `.keras` round trip through `mmcnn.load` (same class, config and
   probabilities), in this process;
5. the export through the generic exporter, reloaded with plain TensorFlow in a
   fresh Python process that does not import mmcnn, whose `serving_default`
   gives the probabilities `predict` gave.
"""

import json
import os
import pickle
import subprocess
import sys
import tempfile

import numpy as np

# The fresh process: TensorFlow (plus what the export's mmcnn.json says to import), never mmcnn.
_SERVE_SCRIPT = r"""
import json, os, pickle, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import importlib
import tensorflow as tf
export_dir, inputs_path, out_path = sys.argv[1:4]
with open(os.path.join(export_dir, "assets.extra", "mmcnn.json"), encoding="utf-8") as f:
    metadata = json.load(f)
for name in metadata.get("serving_imports", []):
    importlib.import_module(name)
with open(inputs_path, "rb") as f:
    inputs = pickle.load(f)
loaded = tf.saved_model.load(export_dir)
outputs = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in inputs.items()})
names = [n.decode("utf-8") for n in outputs["class_name"].numpy()]
with open(out_path, "wb") as f:
    pickle.dump({"probabilities": outputs["probabilities"].numpy(), "class_name": names,
                 "mmcnn_imported": any(m == "mmcnn" or m.startswith("mmcnn.") for m in sys.modules)}, f)
"""


def _fail(cls, what):
    raise AssertionError(f"{cls.__name__}: {what}")


def _close(cls, what, a, b, atol):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or not np.allclose(a, b, atol=atol):
        diff = np.max(np.abs(a - b)) if a.shape == b.shape else f"shapes {a.shape} != {b.shape}"
        _fail(cls, f"{what}: max difference {diff} > {atol}")


def serve_in_fresh_process(export_dir, serving_inputs, timeout=300):
    """Calls `serving_default` of an export in a new Python process without mmcnn.

    Args:
        export_dir: the SavedModel directory.
        serving_inputs: dict input name -> NumPy array (strings as `object`
            or `bytes` arrays).

    Returns:
        dict with `probabilities` (NumPy), `class_name` (list of str) and
        `mmcnn_imported` (whether anything imported mmcnn: it must not).
    """
    with tempfile.TemporaryDirectory() as folder:
        inputs_path = os.path.join(folder, "inputs.pkl")
        out_path = os.path.join(folder, "outputs.pkl")
        with open(inputs_path, "wb") as f:
            pickle.dump({k: np.asarray(v) for k, v in serving_inputs.items()}, f)
        env = {**os.environ, "PYTHONPATH": ""}
        result = subprocess.run(
            [sys.executable, "-c", _SERVE_SCRIPT, os.fspath(export_dir), inputs_path, out_path],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=folder,  # not the repository: `import mmcnn` must not find the source tree
        )
        if result.returncode != 0:
            raise AssertionError(f"serving the export in a fresh process failed:\n{result.stderr[-3000:]}")
        with open(out_path, "rb") as f:
            return pickle.load(f)


def run_classifier_test(
    cls,
    init_kwargs,
    train_data,
    raw_inputs,
    serving_inputs,
    expected_metrics=("accuracy", "macro_f1"),
    epochs=1,
    batch_size=4,
    atol=1e-4,
    tmp_dir=None,
):
    """Checks the whole classifier contract on tiny data; returns the trained classifier.

    Args:
        cls: the classifier class (a `mmcnn.models.Classifier` subclass that
            names its `modality`).
        init_kwargs: constructor arguments (a tiny preset).
        train_data: a small `LabeledData` to fit one epoch on (it is also
            evaluated).
        raw_inputs: what a user passes to `predict` (files, arrays, texts,
            positions).
        serving_inputs: dict input name -> NumPy array: the same examples as
            `raw_inputs`, in the form the export's `serving_default` takes
            (e.g. encoded bytes for files).
        expected_metrics: keys that `evaluate` must return.
        epochs, batch_size: the training run.
        atol: tolerance between `predict`, the reloaded `.keras` model and the
            served export.
        tmp_dir: where to write the `.keras` file and the export (default: a
            temporary folder, removed afterwards).

    Raises:
        AssertionError: naming the class and what broke.
    """
    from mmcnn.export import read_metadata
    from mmcnn.models import Classifier, load, registry

    if not (isinstance(cls, type) and issubclass(cls, Classifier)):
        raise TypeError(f"`cls` must be a Classifier subclass. Received: {cls!r}")
    if registry.get_classifier(cls.modality) is not cls:
        _fail(cls, f"is not the classifier registered for modality {cls.modality!r}")

    # 1. Config round trip.
    clf = cls(**init_kwargs)
    config = clf.get_config()
    if cls.from_config(config).get_config() != config:
        _fail(cls, f"config does not round-trip: {config}")

    # 2. Fit one epoch and evaluate.
    clf.fit(train_data, validation_data=train_data, epochs=epochs, batch_size=batch_size, verbose=0)
    metrics = clf.evaluate(train_data)
    missing = [key for key in expected_metrics if key not in metrics]
    if missing:
        _fail(cls, f"evaluate() lacks {missing}; it returned {sorted(metrics)}")

    # 3. Predict on raw inputs.
    result = clf.predict(raw_inputs)
    probabilities = np.asarray(result["probabilities"])
    n = len(result["labels"])
    if probabilities.shape != (n, clf.num_classes) or n == 0:
        _fail(cls, f"predict() gave probabilities of shape {probabilities.shape} for {n} inputs")
    _close(cls, "probabilities do not sum to 1", probabilities.sum(axis=-1), np.ones(n), 1e-3)
    if any(label not in clf.class_names for label in result["labels"]):
        _fail(cls, f"predict() labels {result['labels']} are not all in {clf.class_names}")
    _close(cls, "predict_proba differs from predict", clf.predict_proba(raw_inputs), probabilities, atol)

    folder = tempfile.mkdtemp(prefix="classifier_test-") if tmp_dir is None else os.fspath(tmp_dir)
    try:
        # 4. .keras round trip through mmcnn.load.
        path = os.path.join(folder, f"{cls.modality}.keras")
        clf.save(path)
        loaded = load(path)
        if type(loaded) is not cls or loaded.get_config() != clf.get_config():
            _fail(cls, f"mmcnn.load gave a {type(loaded).__name__} with config {loaded.get_config()}")
        reloaded = loaded.predict_proba(raw_inputs)
        _close(cls, "the reloaded .keras model predicts differently", reloaded, probabilities, atol)

        # 5. Export, and serve it in a fresh process.
        export_dir = clf.export(os.path.join(folder, f"{cls.modality}_export"))
        metadata = read_metadata(export_dir)
        if metadata["modality"] != cls.modality or metadata["class_names"] != list(clf.class_names):
            _fail(cls, f"the export's mmcnn.json says {json.dumps(metadata)[:300]}")
        served = serve_in_fresh_process(export_dir, serving_inputs)
        if served["mmcnn_imported"]:
            _fail(cls, "serving the export imported mmcnn")
        _close(cls, "the served export differs from predict", served["probabilities"], probabilities, atol)
        if served["class_name"] != list(result["labels"]):
            _fail(cls, f"the export names {served['class_name']}, predict {result['labels']}")
    finally:
        if tmp_dir is None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
    return clf
