"""An export format is one record: a toy `.npz` format, defined in this file and registered with one
`register_format(...)` call, is offered and run by `Classifier.export`, `mmcnn export --format` and
`mmcnn evaluate --model`, with no edit anywhere else. And the records of mmcnn's own three formats."""

import json
import logging
import os

import keras
import numpy as np
import pytest
from edge_models import tiny_classifier
from PIL import Image

from mmcnn import cli
from mmcnn.export import formats
from mmcnn.export.runtimes import EdgeModel, load_edge_model


# ------------------------------------------------------------------ the toy format, whole
def write_npz(clf, path, overwrite=False):
    """The classifier's model config, float32 weights and class names in one `.npz` file."""
    path = os.path.abspath(os.fspath(path))
    if not path.endswith(".npz"):
        raise ValueError(f"{path}: format='npz' writes a .npz file")
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True")
    model = clf.float32_copy().model
    weights = {f"weight_{i}": w for i, w in enumerate(model.get_weights())}
    config = json.dumps(keras.saving.serialize_keras_object(model))
    np.savez(path, class_names=np.array(clf.class_names), config=np.array(config), **weights)
    return path


class NpzModel(EdgeModel):
    """The runner: rebuilds the Keras model from the file alone and computes probabilities with it."""

    def __init__(self, path):
        super().__init__(path)
        with np.load(self.path) as f:
            self.class_names = [str(name) for name in f["class_names"]]
            self.model = keras.saving.deserialize_keras_object(json.loads(str(f["config"])))
            self.model.set_weights([f[f"weight_{i}"] for i in range(len(f.files) - 2)])

    def run_one(self, x):
        x = np.asarray(x, dtype="float32")
        channels = self.model.inputs[0].shape[-1]
        if x.ndim == 4 and x.shape[-1] != channels:
            x = x[..., :channels]  # edge pixels are RGB, a grey model's grey repeated: take it back
        return np.asarray(self.model(x, training=False), dtype="float32")


NPZ = formats.ExportFormat(
    name="npz", writer=write_npz, suffix=".npz", default_name="model.npz", runner=NpzModel, description="npz"
)


@pytest.fixture
def npz_format():
    formats.register_format(NPZ)
    yield NPZ
    formats.unregister_format("npz")


# ------------------------------------------------------------------ the library
def test_the_toy_format_writes_and_runs_through_the_library(npz_format, tmp_path):
    clf, data = tiny_classifier("image")
    path = clf.export(tmp_path / "m.npz", format="npz")
    edge = load_edge_model(path)
    assert edge.format == "npz" and edge.class_names == ["a", "b", "c"]
    x = next(iter(clf.make_dataset(data.subset(np.arange(8)), batch_size=8)))[0]
    np.testing.assert_allclose(edge(clf.edge_inputs(x)), clf.model(x, training=False), atol=1e-6)
    metrics = clf.evaluate(data.subset(np.arange(16)), model_file=path)
    assert metrics["format"] == "npz" and metrics["agreement"] == 1.0 and metrics["max_abs_diff"] < 1e-5
    # The record's rules hold for it as for the others: it is neither quantized nor checked.
    with pytest.raises(ValueError, match="`quantize` applies to format='litert' only"):
        clf.export(tmp_path / "q.npz", format="npz", quantize="int8")
    with pytest.raises(ValueError, match="`check_data` applies to format='litert' or 'onnx'"):
        clf.export(tmp_path / "c.npz", format="npz", check_data=data)
    with pytest.raises(ValueError, match=r"format='saved_model' writes a directory.*format='npz'"):
        clf.export(tmp_path / "d.npz")


def test_without_the_record_nothing_offers_it(tmp_path):
    clf, _ = tiny_classifier("image")
    with pytest.raises(ValueError, match="`format` must be one of"):
        clf.export(tmp_path / "m.npz", format="npz")
    (tmp_path / "m.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"expected a \.tflite or \.onnx file"):
        load_edge_model(tmp_path / "m.npz")


# ------------------------------------------------------------------ the command line, in process
def make_images(root, per_class, seed=0):
    rng = np.random.default_rng(seed)
    for name, base in (("dark", 50), ("bright", 200)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(base, 25, (12, 12)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def quiet_cli(monkeypatch):
    """`cli.main` in this process: no fd-2 filter left behind, its log handler removed after."""
    monkeypatch.setenv("MMCNN_VERBOSE", "1")
    runs_logger = logging.getLogger("mmcnn.runs")
    saved = runs_logger.handlers[:], runs_logger.level, runs_logger.propagate
    yield cli.main
    runs_logger.handlers[:], runs_logger.level, runs_logger.propagate = saved


@pytest.mark.slow  # a fit
def test_mmcnn_export_and_evaluate_offer_and_run_the_toy_format(npz_format, quiet_cli, tmp_path, capsys):
    train, test = make_images(tmp_path / "train", 12), make_images(tmp_path / "test", 4, seed=1)
    run_dir = str(tmp_path / "run")
    tiny = ["--preset", "tiny", "--batch-size", "8", "--set", "image_size=[12,12]", "--set", "channels=1"]
    assert quiet_cli(["train", "image", "--train", str(train), "--out", run_dir, "--epochs", "1", *tiny]) == 0
    capsys.readouterr()
    # Offered: a --format choice.
    with pytest.raises(SystemExit):
        quiet_cli(["export", "--help"])
    # mmcnn's own formats, then the toy one the test registered last.
    assert "{saved_model,litert,onnx,web,npz}" in capsys.readouterr().out
    # Run: the default name in the run directory, then a named file.
    assert quiet_cli(["export", run_dir, "--format", "npz"]) == 0
    assert os.path.isfile(os.path.join(run_dir, "model.npz"))
    out = str(tmp_path / "x.npz")
    assert quiet_cli(["export", run_dir, "--format", "npz", "--out", out]) == 0
    assert f"exported to {out}" in capsys.readouterr().out
    # Refused as for ONNX: the record has no quantizations.
    assert quiet_cli(["export", run_dir, "--format", "npz", "--quantize", "int8"]) == cli.EXIT_USAGE
    assert "--quantize is for --format litert; --format npz writes float32" in capsys.readouterr().err
    assert quiet_cli(["evaluate", run_dir, "--model", out, "--data", str(test), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["format"] == "npz" and metrics["num_examples"] == 8
    assert metrics["accuracy"] == metrics["keras_accuracy"] and metrics["max_abs_diff"] < 1e-5
    assert quiet_cli(["evaluate", run_dir, "--model", out, "--data", str(test)]) == 0
    assert f"npz file {out}: accuracy" in capsys.readouterr().out


# ------------------------------------------------------------------ mmcnn's own records
def test_the_records_of_mmcnns_formats():
    assert formats.format_names()[:3] == ("saved_model", "litert", "onnx")
    saved_model, litert, onnx = (formats.get_format(n) for n in ("saved_model", "litert", "onnx"))
    assert (saved_model.suffix, saved_model.runner, saved_model.checked) == (None, None, False)
    assert litert.quantizations == ("float16", "dynamic", "int8") and onnx.quantizations == ()
    assert [litert.file_name(), litert.file_name("int8"), onnx.file_name()] == [
        "model.tflite",
        "model_int8.tflite",
        "model.onnx",
    ]
    assert [litert.what(), litert.what("int8"), onnx.what()] == [
        "float32 .tflite file",
        "int8 .tflite file",
        ".onnx file",
    ]
    assert formats.format_for_path("dir/M.TFLITE") is litert and formats.format_for_path("m.keras") is None


class _Classifier:  # what `needs_calibration` asks of a classifier
    def __init__(self, float_layers):
        self.float_layers = float_layers

    def edge_float_layers(self):
        return self.float_layers


def test_calibration_is_the_records_decision():
    litert = formats.get_format("litert")
    assert litert.calibrates(_Classifier(()), "int8") and not litert.calibrates(_Classifier(()), "dynamic")
    assert litert.calibrates(_Classifier(("log_mel",)), "dynamic") and not litert.calibrates(
        _Classifier(()), None
    )
    assert not formats.get_format("onnx").calibrates(_Classifier(()), "int8")


@pytest.mark.parametrize(
    "fields, needle",
    [
        ({"name": "my-format"}, "`name` must be a Python identifier"),
        ({"writer": None}, "`writer` of format 'toy' must be callable"),
        ({"suffix": "npz"}, "`suffix` of format 'toy' must be a lower-case suffix with its dot"),
        ({"suffix": ".npz", "default_name": "model.bin"}, "must end in its suffix .npz"),
        ({"quantizations": (None, "int8")}, "lists the quantized kinds only"),
        ({"runner": "NpzModel"}, "`runner` of format 'toy' must be callable or None"),
    ],
)
def test_a_bad_record_is_refused(fields, needle):
    with pytest.raises(ValueError, match=needle):
        formats.ExportFormat(**{"name": "toy", "writer": write_npz, **fields})


def test_a_suffix_belongs_to_one_format():
    with pytest.raises(ValueError, match="the suffix .onnx is already format 'onnx'"):
        formats.register_format(formats.ExportFormat("toy", write_npz, suffix=".onnx", default_name="m.onnx"))
    with pytest.raises(ValueError, match="must be an ExportFormat"):
        formats.register_format({"name": "toy"})
    assert "toy" not in formats.format_names()
