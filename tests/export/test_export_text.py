"""Text export: raw strings in, tokenized in the graph; checked by plain TensorFlow + tensorflow_text."""

import json
import os
import subprocess

import numpy as np
import pytest
from export_checks import (
    FORBIDDEN,
    PYTHON,
    assert_matches_predict,
    graph_op_types,
    run_saved_model_cli,
    serve_in_fresh_process,
)

import mmcnn.text

CLASS_NAMES = ["neg", "pos", "neutral"]
CORPUS = [
    "a good film",
    "a bad film",
    "the cat sat on the mat",
    "what a dull plot",
    "great acting and a fine score",
    "the dog slept",
]
# Awkward inputs too: empty, invalid UTF-8, non-ASCII, longer than max_tokens.
TEXTS = [
    "good film",
    "",
    "The CAT sat",
    "h\u00e9llo w\u00f6rld".encode() + b"\xff",
    "bad " * 40,
    "\u6f22\u5b57 film",
    "dull",
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    clf = mmcnn.text.TextClassifier(
        class_names=CLASS_NAMES, max_tokens=16, min_frequency=1, embedding_dim=8, filters=4
    )
    clf.adapt(CORPUS)
    path = clf.export(tmp_path_factory.mktemp("text") / "model")
    return clf, path


def as_bytes(texts):
    return np.array([t.encode() if isinstance(t, str) else t for t in texts], dtype=object)


@pytest.mark.slow
def test_serving_matches_predict_in_fresh_process(exported, tmp_path):
    clf, path = exported
    calls, expected = [], []
    for n in (1, 7):
        calls.append(("serving_default", {"texts": as_bytes(TEXTS[:n])}))
        expected.append(clf.predict(TEXTS[:n]))
        ids = clf.tokenizer(as_bytes(TEXTS[:n])).numpy()
        assert ids.dtype == np.int32 and ids.shape == (n, 16)
        calls.append(("features", {"token_ids": ids}))
        expected.append(clf.predict(TEXTS[:n]))
    results = serve_in_fresh_process(path, calls, tmp_path, "text")
    for (signature, inputs), outputs, want in zip(calls, results, expected):
        assert outputs["probabilities"].shape == (len(next(iter(inputs.values()))), 3), signature
        assert_matches_predict(outputs, want)


@pytest.mark.slow
def test_loading_without_tensorflow_text_names_the_missing_op(exported, tmp_path):
    # What docs/serving.md promises: the one extra requirement of a text export.
    script = "import sys, tensorflow as tf; tf.saved_model.load(sys.argv[1])"
    done = subprocess.run(
        [PYTHON, "-c", script, exported[1]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.returncode != 0
    assert "Op type not registered" in done.stderr


def test_graph_has_no_file_or_python_ops(exported):
    ops = graph_op_types(exported[1])
    assert {"CaseFoldUTF8", "LookupTableFindV2"} <= ops  # the walk does reach the function bodies
    assert not ops & FORBIDDEN


def test_metadata_asset(exported):
    clf, path = exported
    with open(os.path.join(path, "assets.extra", "mmcnn.json")) as f:
        meta = json.load(f)
    assert meta["modality"] == "text"
    assert meta["class_names"] == CLASS_NAMES
    pre = meta["preprocessing"]
    assert pre["max_tokens"] == 16
    assert pre["vocabulary_size"] == clf.tokenizer.vocabulary_size
    assert "tensorflow_text_version" in meta
    assert set(meta["signatures"]) == {"serving_default", "features", "embedding"}
    assert meta["signatures"]["features"]["inputs"] == {"token_ids": {"dtype": "int32", "shape": [None, 16]}}


@pytest.mark.slow
def test_saved_model_cli_show_and_run(exported, tmp_path):
    path = exported[1]
    shown = run_saved_model_cli("show", "--dir", path, "--all")
    assert "signature_def['serving_default']" in shown and "signature_def['features']" in shown
    assert "inputs['texts'] tensor_info:\n        dtype: DT_STRING" in shown
    assert "inputs['token_ids'] tensor_info:\n        dtype: DT_INT32" in shown
    # `saved_model_cli run` loads the graph, so the tensorflow-text ops must be
    # registered first: run the same tool from a Python that imported them.
    done = subprocess.run(
        [
            PYTHON,
            "-c",
            "import sys, tensorflow_text; from tensorflow.python.tools import "
            "saved_model_cli; sys.argv[0] = 'saved_model_cli'; saved_model_cli.main()",
            "run",
            "--dir",
            path,
            "--tag_set",
            "serve",
            "--signature_def",
            "serving_default",
            "--input_exprs",
            "texts=['a good film']",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "class_name" in done.stdout
