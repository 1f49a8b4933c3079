"""`mmcnn evaluate` and `mmcnn predict` on a multi-label run, through the real entry point."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mmcnn import runs
from mmcnn.export.runtimes import load_edge_model
from mmcnn.models.pipeline import split_scores
from mmcnn.runs.export import export_run

pytestmark = pytest.mark.slow

MMCNN = [sys.executable, "-m", "mmcnn.cli"]
TEXT_SETTINGS = dict(max_tokens=16, min_frequency=1, embedding_dim=8, filters=8)
WORDS = {"animal": ["cat", "dog"], "food": ["bread", "soup"], "sport": ["ball", "race"]}


def write_manifest(path, n, offset=0):
    lines = ["text,label"]
    for i in range(offset, offset + n):
        tags = [t for k, t in enumerate(WORDS) if (i >> k) & 1] or ["food"]
        words = [WORDS[t][(i + j) % 2] for j, t in enumerate(tags)] + [f"n{i}"]
        lines.append(f"{' '.join(words)},{';'.join(tags)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(*args):
    result = subprocess.run([*MMCNN, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def ml_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlcli")
    train, test = write_manifest(root / "train.csv", 48), write_manifest(root / "test.csv", 16, offset=48)
    settings = {**TEXT_SETTINGS, "precision": "'mixed_bfloat16'"}
    config = runs.resolve_train_config(
        "text",
        {"train": str(train), "test": str(test), "out": str(root / "run"), "epochs": 2, "batch_size": 16},
        settings=[f"{k}={v}" for k, v in settings.items()],
    )
    metrics = runs.train_run(config, verbose=0)
    assert metrics["test"]["multi_label"]
    tflite = export_run(str(root / "run"), str(root / "m.tflite"), format="litert")
    return {"out": str(root / "run"), "test": str(test), "metrics": metrics["test"], "tflite": tflite}


def test_evaluate_prints_micro_f1_and_map_without_a_confusion_matrix(ml_run):
    result = run("evaluate", ml_run["out"], "--data", ml_run["test"])
    want = json.loads(run("evaluate", ml_run["out"], "--data", ml_run["test"], "--json").stdout)
    first, header, *rows = result.stdout.splitlines()
    assert (
        f"micro-F1 {want['micro_f1']:.4f}" in first and f"mAP {want['mean_average_precision']:.4f}" in first
    )
    assert f"macro-F1 {want['macro_f1']:.4f}" in first and "(16 examples, 0 skipped)" in first
    assert header.split() == ["class", "precision", "recall", "f1", "AP", "threshold", "support"]
    assert [row.split()[0] for row in rows] == ["animal", "food", "sport"]
    assert "confusion" not in result.stdout


def test_predict_gives_each_predicted_label_its_own_score(ml_run, tmp_path):
    inputs = ["cat bread", "dog soup race", "ball", "n3"]
    rows = json.loads(run("predict", ml_run["out"], *inputs, "--json").stdout)
    for row in rows:
        assert "probability" not in row and "label" not in row
        assert row["probabilities"] == [row["scores"][name] for name in row["labels"]]
    csv = tmp_path / "p.csv"
    run("predict", ml_run["out"], *inputs, "--csv", str(csv))
    frame = pd.read_csv(csv, keep_default_na=False, dtype=str)
    names = list(rows[0]["scores"])
    assert list(frame.columns) == ["path", "labels", "probabilities"] + [f"score:{n}" for n in names] + [
        "error"
    ]
    for row, (_, line) in zip(rows, frame.iterrows()):
        assert line["labels"] == ";".join(row["labels"])
        written = [float(p) for p in line["probabilities"].split(";") if p]
        assert written == pytest.approx([float(line[f"score:{n}"]) for n in row["labels"]], abs=1e-6)


def test_evaluate_model_prints_the_keras_scores_of_mmcnn_evaluate(ml_run):
    path = ml_run["tflite"]
    file_metrics = json.loads(
        run("evaluate", ml_run["out"], "--data", ml_run["test"], "--model", path, "--json").stdout
    )
    keras = json.loads(run("evaluate", ml_run["out"], "--data", ml_run["test"], "--json").stdout)
    assert keras["micro_f1"] == ml_run["metrics"]["micro_f1"]
    assert file_metrics["keras_micro_f1"] == keras["micro_f1"]
    assert file_metrics["keras_mean_average_precision"] == keras["mean_average_precision"]
    assert file_metrics["keras_accuracy"] == keras["accuracy"]


def test_evaluate_model_compares_the_file_with_the_scores_that_evaluate_uses(ml_run):
    # A mixed-bfloat16 run: an eager `model(x)` rounds otherwise than the compiled `model.predict`
    # behind `evaluate` and metrics.json (`split_scores`); the file is held against the latter.
    clf = runs.load_run(ml_run["out"])
    data = runs.load_eval_data(clf, ml_run["test"], verbose=0)
    report = clf.evaluate(data, model_file=ml_run["tflite"])
    edge = load_edge_model(ml_run["tflite"])
    file_probs = np.concatenate([edge(clf.edge_inputs(x)) for x, _ in clf.make_dataset(data)])
    assert report["max_abs_diff"] == float(np.max(np.abs(file_probs - split_scores(clf, data))))
