"""`.keras` files saved by mmcnn load with plain `keras.saving.load_model` (safe mode, no custom_objects)."""

import os
import pickle
import subprocess

import numpy as np
import pytest
from export_checks import PYTHON, TOLERANCE

import mmcnn.audio
import mmcnn.image
import mmcnn.text

# Subprocesses of TensorFlow: part of `./run test`, not of the quick `-m "not slow"` loop.
pytestmark = pytest.mark.slow

# Runs in a fresh process: `import mmcnn` and nothing else of ours, then load each file.
_LOAD_SCRIPT = r"""
import pickle, sys
import keras, tensorflow as tf
import mmcnn

with open(sys.argv[1], "rb") as f:
    cases = pickle.load(f)

def load_and_predict():
    out = {}
    for name, (path, inputs) in cases.items():
        try:
            model = keras.saving.load_model(path, safe_mode=True)
            x = tf.constant(inputs) if inputs.dtype == object else inputs
            out[name] = ("ok", type(model).__name__, model.predict(x, verbose=0))
        except Exception as e:
            out[name] = ("error", type(e).__name__, str(e)[:400])
    return out

plain = load_and_predict()
import mmcnn.image, mmcnn.audio, mmcnn.text
with_modalities = load_and_predict()
with open(sys.argv[1] + ".out", "wb") as f:
    pickle.dump({"plain": plain, "with_modalities": with_modalities}, f)
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keras_files")
    rng = np.random.default_rng(0)
    image = mmcnn.image.ImageClassifier(num_classes=2, image_size=(8, 8), channels=1, preset="tiny")
    audio = mmcnn.audio.AudioClassifier(num_classes=2, clip_seconds=0.25, preset="tiny", n_mels=16)
    text = mmcnn.text.TextClassifier(
        num_classes=2, max_tokens=16, min_frequency=1, embedding_dim=8, filters=4
    )
    text.adapt(["a good film", "a bad film"])
    inputs = {
        "image": rng.uniform(0, 255, (3, 8, 8, 1)).astype("float32"),
        "audio": rng.standard_normal((3, 4000)).astype("float32"),
        "text": np.array([b"a good film", b"", b"bad"], dtype=object),
    }
    cases, expected = {}, {}
    for name, clf in [("image", image), ("audio", audio), ("text", text)]:
        path = os.fspath(folder / f"{name}.keras")
        clf.save(path)
        cases[name] = (path, inputs[name])
        expected[name] = (
            clf.predict_proba(inputs[name]) if name != "text" else clf.predict_proba(list(inputs[name]))
        )
    request = folder / "cases.pkl"
    request.write_bytes(pickle.dumps(cases))
    done = subprocess.run(
        [PYTHON, "-c", _LOAD_SCRIPT, os.fspath(request)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return pickle.loads((folder / "cases.pkl.out").read_bytes()), expected


@pytest.mark.parametrize("modality", ["image", "audio", "text"])
def test_loads_in_safe_mode_once_the_modality_package_is_imported(loaded, modality):
    results, expected = loaded
    status, kind, value = results["with_modalities"][modality]
    assert status == "ok", f"{kind}: {value}"
    assert kind == "ClassifierModel"
    np.testing.assert_allclose(value, expected[modality], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("modality", ["image", "audio", "text"])
def test_loads_in_safe_mode_after_plain_import_mmcnn(loaded, modality):
    status, kind, value = loaded[0]["plain"][modality]
    assert status == "ok", f"{kind}: {value}"
