"""`mmcnn export` and `mmcnn evaluate --model` print only mmcnn's own lines; `--verbose` shows the rest.

Through the real command line in a subprocess: TensorFlow's, LiteRT's and tf2onnx's lines
(`fully_quantize: 0, ...`, `Created TensorFlow Lite XNNPACK delegate`, `E0000 ...`, the errors
tf2onnx recovers from) are no news to the user of a successful export."""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

MMCNN = [sys.executable, "-m", "mmcnn.cli"]
FOREIGN = ("fully_quantize", "XNNPACK", "E0000", "I0000", "W0000", "ComplexAbs", "NoneType", "Traceback")


def run(*args):
    result = subprocess.run([*MMCNN, *args], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("quiet")
    rng = np.random.default_rng(0)
    for name, base in (("dark", 50), ("bright", 200)):
        (root / "data" / name).mkdir(parents=True)
        for i in range(30):
            pixels = np.clip(rng.normal(base, 25, (12, 12)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(root / "data" / name / f"{i}.png")
    settings = ["--set", "image_size=[12,12]", "--set", "channels=1", "--set", "augmentation='none'"]
    run("train", "image", "--train", str(root / "data"), "--out", str(root / "run"), "--preset", "tiny",
        "--epochs", "2", "--batch-size", "8", *settings)  # fmt: skip
    return root


def assert_only_mmcnn_lines(result):
    for line in (result.stdout + result.stderr).splitlines():
        assert not any(word in line for word in FOREIGN), line
    for line in result.stderr.splitlines():
        assert line.startswith("mmcnn: "), line


def test_export_and_evaluate_print_only_mmcnn_lines(image_run):
    run_dir, data = str(image_run / "run"), str(image_run / "data")
    int8 = str(image_run / "m_int8.tflite")
    result = run("export", run_dir, "--format", "litert", "--quantize", "int8", "--out", int8)
    assert_only_mmcnn_lines(result)
    assert "decides as the Keras model on" in result.stderr and "exported to" in result.stdout
    result = run("export", run_dir, "--format", "onnx", "--out", str(image_run / "m.onnx"))
    assert_only_mmcnn_lines(result)
    for model in (int8, str(image_run / "m.onnx")):
        result = run("evaluate", run_dir, "--model", model, "--data", data)
        assert_only_mmcnn_lines(result)
        assert "same top class on" in result.stdout
    # --verbose still shows what the converter prints.
    result = run("--verbose", "export", run_dir, "--format", "litert", "--quantize", "int8", "--out", int8,
                 "--overwrite")  # fmt: skip
    assert "fully_quantize" in result.stdout + result.stderr
