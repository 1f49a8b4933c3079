"""`mmcnn explain` on files of each modality, and what `mmcnn train` records about calibration.

The run directories hold tiny classifiers trained for a few steps: what is
checked is the plumbing (one PNG per input, rows naming bad inputs, the
metrics and report of a run), not what the maps show (test_localisation.py).
"""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile
from PIL import Image

import mmcnn.audio as ma
import mmcnn.image as mi
import mmcnn.text as mt
from mmcnn import runs

pytestmark = pytest.mark.slow

MMCNN = [sys.executable, "-m", "mmcnn.cli"]


def run_cli(*args):
    result = subprocess.run([*MMCNN, *map(str, args)], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def check_png(path):
    with Image.open(path) as image:
        assert image.format == "PNG" and min(image.size) >= 200, image.size
        assert np.asarray(image.convert("L"), dtype=float).std() > 5


def saved_run(tmp_path, clf, data):
    clf.fit(data, epochs=1, verbose=0, calibrate=False)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    clf.save(runs.RunDir(run_dir).model_path)
    return run_dir


def test_explain_image_files(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (8, 16, 16)).astype("uint8")
    clf = mi.ImageClassifier(
        image_size=(16, 16), channels=1, preset="tiny", augmentation="none", batch_size=4
    )
    run_dir = saved_run(tmp_path, clf, mi.from_arrays(images, ["a", "b"] * 4))
    files = []
    for i in range(2):
        files.append(tmp_path / f"picture {i}.png")
        Image.fromarray(np.kron(images[i], np.ones((2, 2), "uint8"))).save(files[-1])  # another size
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    out = tmp_path / "pictures"
    result = run_cli("explain", run_dir, *files, broken, "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["input"] for r in rows] == [str(f) for f in [*files, broken]]
    assert rows[2]["error"] and rows[2]["png"] is None
    assert "could not be explained" in result.stderr
    for row in rows[:2]:
        assert row["error"] is None and len(row["top_k"]) == 2
        assert row["class_name"] == row["top_k"][0][0]
        check_png(row["png"])
    assert sorted(p.name for p in out.iterdir()) == ["0000_picture_0.png", "0001_picture_1.png"]


def test_explain_audio_files(tmp_path):
    rng = np.random.default_rng(0)
    clips = rng.normal(0, 0.1, (8, 4000)).astype("float32")
    clf = ma.AudioClassifier(clip_seconds=0.25, preset="tiny", augmentation="none", batch_size=4)
    run_dir = saved_run(tmp_path, clf, ma.from_arrays(clips, ["hum", "hiss"] * 4))
    wav = tmp_path / "clip.wav"
    soundfile.write(wav, rng.normal(0, 0.1, 6000).astype("float32"), 16000)
    result = run_cli("explain", run_dir, wav, "--out", tmp_path / "pictures", "--class", "hum")
    assert result.returncode == 0, result.stderr
    source, png, top = result.stdout.strip().split("\t")
    assert source == str(wav) and "hum" in top and "hiss" in top
    check_png(png)
    bad = run_cli("explain", run_dir, wav, "--out", tmp_path / "other", "--class", "bark")
    assert bad.returncode == 2 and "--class bark" in bad.stderr


def test_explain_texts_and_a_text_file(tmp_path):
    texts = ["a fine good film", "a bad dull film", "good good plot", "bad plot"] * 4
    clf = mt.TextClassifier(max_tokens=16, embedding_dim=8, filters=4, min_frequency=1, batch_size=4)
    run_dir = saved_run(tmp_path, clf, mt.from_arrays(texts, ["pos", "neg", "pos", "neg"] * 4))
    note = tmp_path / "note.txt"
    note.write_text("what a good film", encoding="utf-8")
    out = tmp_path / "pictures"
    result = run_cli("explain", run_dir, "a good plot", note, "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["input"] for r in rows] == ["a good plot", str(note)]
    for row in rows:
        check_png(row["png"])
    assert sorted(p.name for p in out.iterdir()) == ["0000_text.png", "0001_note.png"]


def test_train_run_records_calibration_and_reports_it(tmp_path):
    rng = np.random.default_rng(0)
    for split, n in (("train", 16), ("test", 6)):
        for name, base in (("dark", 60), ("bright", 190)):
            folder = tmp_path / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = np.clip(rng.normal(base, 60, (12, 12)), 0, 255).astype("uint8")
                Image.fromarray(pixels).save(folder / f"{i}.png")
    config = runs.resolve_train_config(
        "image",
        {
            "train": str(tmp_path / "train"),
            "test": str(tmp_path / "test"),
            "out": str(tmp_path / "run"),
            "epochs": 2,
            "batch_size": 8,
            "preset": "tiny",
        },
        settings=["image_size=[12,12]", "channels=1", "augmentation='none'"],
    )
    metrics = runs.train_run(config, verbose=0)
    calibration = metrics["calibration"]
    assert {"temperature", "ece_before", "ece_after", "nll_before", "nll_after"} <= set(calibration)
    assert {"test_ece_before", "test_ece_after"} <= set(calibration)
    # The fit minimised the validation NLL: it cannot be worse than at T = 1.
    assert calibration["nll_after"] <= calibration["nll_before"] + 1e-6
    assert metrics["test"]["ece"] == calibration["test_ece_after"]
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["calibration"]["temperature"] == pytest.approx(calibration["temperature"])
    assert runs.load_run(tmp_path / "run").temperature == pytest.approx(calibration["temperature"])
    page = (tmp_path / "run" / "report" / "index.html").read_text()
    assert "reliability.png" in page and "Calibration" in page
