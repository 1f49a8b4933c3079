"""`mmcnn predict` over many files: the parallel tf.data path gives what `clf.predict` gives."""

import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import mmcnn
from mmcnn.runs import predict

# Subprocesses of the whole command line or of TensorFlow: part of `./run test`, not of the
# quick `-m "not slow"` loop.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(0)
    for i in range(200):
        sub = root / ("a" if i % 2 else "b")
        sub.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)).save(sub / f"{i:03d}.png")
    good = (root / "a" / "001.png").read_bytes()
    # Header fine, pixels cut short: passes the header check, fails in the pipeline.
    (root / "a" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "b" / "noise.png").write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
    (root / "b" / "empty.jpg").write_bytes(b"")
    tiff = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tiff, format="TIFF")
    (root / "b" / "tiff_named.png").write_bytes(tiff.getvalue())  # unsupported format
    (root / "b" / "notes.txt").write_text("not an image")  # not an image extension: not listed
    return root


@pytest.fixture(scope="module")
def clf():
    clf = mmcnn.image.ImageClassifier(
        num_classes=3, class_names=["x", "y", "z"], image_size=(16, 16), channels=1, preset="tiny", seed=1
    )
    clf.model  # noqa: B018 - builds it
    return clf


BAD = {"truncated.png", "noise.png", "empty.jpg", "tiff_named.png"}


def test_many_files_match_the_one_by_one_path(clf, folder, monkeypatch):
    fast = predict.predict_rows(clf, [folder], top_k=3)
    monkeypatch.setattr(predict, "FAST_MIN", 10**9)
    slow = predict.predict_rows(clf, [folder], top_k=3)
    assert len(fast) == len(slow) == 204
    assert [r["input"] for r in fast] == [r["input"] for r in slow]
    failed = {r["input"].rsplit("/", 1)[-1]: r["error"] for r in fast if r["error"]}
    assert set(failed) == BAD
    assert "TIFF" in failed["tiff_named.png"] and "empty" in failed["empty.jpg"]
    for f, s in zip(fast, slow):
        assert bool(f["error"]) == bool(s["error"]), (f, s)
        if f["error"]:
            continue
        assert f["label"] == s["label"]
        assert [name for name, _ in f["top_k"]] == [name for name, _ in s["top_k"]]
        np.testing.assert_allclose([p for _, p in f["top_k"]], [p for _, p in s["top_k"]], atol=1e-5)
    # And against `clf.predict` on the good files directly.
    good = [r["input"] for r in fast if not r["error"]]
    reference = clf.predict(good)
    assert [r["label"] for r in fast if not r["error"]] == reference["labels"]
    probs = np.array([r["probability"] for r in fast if not r["error"]])
    np.testing.assert_allclose(probs, reference["probabilities"].max(axis=1), atol=1e-5)


def test_an_explicit_unsupported_file_gets_a_row(clf, folder, tmp_path):
    tif = tmp_path / "picture.tif"
    tif.write_bytes(b"II*\x00")
    rows = predict.predict_rows(clf, [folder, tif])
    assert len(rows) == 205
    assert rows[-1]["input"] == str(tif) and rows[-1]["error"]


def test_csv_and_a_plain_progress_line(clf, folder, tmp_path, capsys):
    rows = predict.predict_rows(clf, [folder], verbose=2)
    out = capsys.readouterr().out
    # Not a terminal: one plain line, no bar redrawn with carriage returns.
    assert "\r" not in out and "\b" not in out
    assert out.count("\n") == 1 and "204/204" in out, out
    path = tmp_path / "out.csv"
    predict.write_predictions_csv(rows, path)
    frame = pd.read_csv(path, keep_default_na=False)
    assert list(frame.columns) == ["path", "label", "probability", "error"]
    assert len(frame) == 204
    bad = frame[frame["error"] != ""]
    assert {p.rsplit("/", 1)[-1] for p in bad["path"]} == BAD
    assert set(frame.loc[frame["error"] == "", "label"]) <= {"x", "y", "z"}
