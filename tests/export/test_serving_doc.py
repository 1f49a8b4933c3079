"""docs/serving.md: its Python examples run, and its REST bodies fit the signatures they name."""

import base64
import json
import os
import re

import numpy as np
import pytest
import tensorflow as tf
from doc_standins import build_exports

# Subprocesses of the whole command line or of TensorFlow: part of `./run test`, not of the
# quick `-m "not slow"` loop.
pytestmark = pytest.mark.slow

DOC = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "docs", "serving.md")
MODALITY_OF_INPUT = {
    "image_bytes": "image",
    "pixels": "image",
    "waveform": "audio",
    "wav_bytes": "audio",
    "texts": "text",
    "token_ids": "text",
}


def fenced_blocks(language):
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def python_examples():
    """modality -> code of the doc's `# <modality> export` python block."""
    examples = {}
    for code in fenced_blocks("python"):
        first = code.splitlines()[0]
        match = re.fullmatch(r"# (image|audio|text) export", first.strip())
        if match:
            examples[match.group(1)] = code
    return examples


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """modality -> a folder with the export as `model/` and the files the examples open."""
    root = tmp_path_factory.mktemp("doc")
    build_exports(root)
    return {name: root / name for name in ("image", "audio", "text")}


def test_doc_has_one_python_example_per_modality():
    assert sorted(python_examples()) == ["audio", "image", "text"]


@pytest.mark.parametrize("modality", ["image", "audio", "text"])
def test_python_example_runs_against_a_real_export(folders, modality, monkeypatch, capsys):
    monkeypatch.chdir(folders[modality])
    exec(compile(python_examples()[modality], f"docs/serving.md ({modality})", "exec"), {})
    assert capsys.readouterr().out.strip()


def rest_bodies():
    bodies = [json.loads(block) for block in fenced_blocks("json")]
    return [b for b in bodies if "inputs" in b]


def test_doc_shows_a_rest_body_for_every_signature():
    shown = {(MODALITY_OF_INPUT[next(iter(b["inputs"]))], b["signature_name"]) for b in rest_bodies()}
    assert {
        ("image", "serving_default"),
        ("image", "pixels"),
        ("audio", "serving_default"),
        ("audio", "wav"),
        ("text", "serving_default"),
    } <= shown


def on_device_examples():
    """modality -> code of the doc's `# <modality> on-device` python block."""
    examples = {}
    for code in fenced_blocks("python"):
        match = re.fullmatch(r"# (image|audio|text) on-device", code.splitlines()[0].strip())
        if match:
            examples[match.group(1)] = code
    return examples


@pytest.mark.parametrize("modality", ["image", "audio", "text"])
def test_on_device_example_runs_both_files(folders, modality, monkeypatch, capsys):
    monkeypatch.chdir(folders[modality])
    exec(compile(on_device_examples()[modality], f"docs/serving.md ({modality} on-device)", "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("tflite:") for line in lines) and any(
        line.startswith("onnx:") for line in lines
    )


def test_rest_bodies_fit_their_signatures(folders):
    # Decodes each body as TensorFlow Serving does ({"b64": ...} -> bytes), with the
    # placeholders replaced by the real files, and runs it.
    files = {"image_bytes": "photo.png", "wav_bytes": "clip.wav"}
    served = {m: tf.saved_model.load(os.fspath(folder / "model")) for m, folder in folders.items()}
    for body in rest_bodies():
        ((name, values),) = body["inputs"].items()
        folder = folders[MODALITY_OF_INPUT[name]]
        signature = served[MODALITY_OF_INPUT[name]].signatures[body.get("signature_name", "serving_default")]
        spec = signature.structured_input_signature[1][name]
        if spec.dtype == tf.string:
            decoded = []
            for value in values:
                if isinstance(value, dict):
                    assert set(value) == {"b64"}
                    value = base64.b64encode((folder / files[name]).read_bytes()).decode()
                    decoded.append(base64.b64decode(value))
                else:
                    decoded.append(value.encode())
            tensor = tf.constant(decoded)
        else:
            tensor = tf.constant(np.asarray(values), dtype=spec.dtype)
        outputs = signature(**{name: tensor})
        assert set(outputs) == {"probabilities", "class_id", "class_name"}
        assert outputs["class_name"].shape[0] == len(values)
