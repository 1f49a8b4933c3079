"""Multi-label classifiers in LiteRT/ONNX files (thresholds inside, scored in their runtimes) and in
`mmcnn predict` rows (the thresholded label set, per-class scores, the CSV), on tiny data."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import mmcnn.image
import mmcnn.text
from mmcnn.export.runtimes import load_edge_model
from mmcnn.runs import predict

pytestmark = pytest.mark.slow

WORDS = {
    "animal": ["cat", "dog", "bird"],
    "food": ["bread", "apple", "soup"],
    "sport": ["ball", "goal", "race"],
}
TEXTS = ["cat dog", "apple ball race", "soup", "goal bird", "bread bread", "cat soup goal"]


@pytest.fixture(scope="module")
def text_clf():
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for i in range(64):
        tags = [t for t in WORDS if rng.random() < 0.5] or ["food"]
        words = [str(rng.choice(WORDS[t])) for t in tags for _ in range(2)] + [f"n{i}"]
        texts.append(" ".join(rng.permutation(words)))
        labels.append(";".join(tags))
    data = mmcnn.text.from_dataframe(pd.DataFrame({"text": texts, "label": labels}))
    clf = mmcnn.text.TextClassifier(
        mode="word", max_tokens=16, min_frequency=1, embedding_dim=8, filters=8, epochs=3, batch_size=16
    )
    clf.fit(data, validation_split=0.25, verbose=0)
    # Thresholds at each class's median score, so that the decisions depend on them.
    clf.thresholds = [float(t) for t in np.median(clf.predict(TEXTS)["scores"], axis=0)]
    return clf, data


@pytest.mark.parametrize("format,suffix", [("litert", ".tflite"), ("onnx", ".onnx")])
def test_edge_files_carry_the_thresholds_and_score_like_keras(text_clf, tmp_path, format, suffix):
    clf, data = text_clf
    path = clf.export(tmp_path / f"m{suffix}", format=format)
    edge = load_edge_model(path)
    assert edge.document["multi_label"] is True
    np.testing.assert_allclose(edge.thresholds, clf.thresholds, rtol=1e-6)
    assert edge.class_names == clf.class_names

    report = clf.evaluate(data, model_file=path)
    assert report["multi_label"] and report["format"] == format
    # A float32 file: the same scores, so the same label sets and metrics as the Keras model.
    assert report["max_abs_diff"] < 1e-4 and report["agreement"] == 1.0
    assert report["micro_f1"] == pytest.approx(report["keras_micro_f1"])
    assert report["mean_average_precision"] == pytest.approx(clf.evaluate(data)["mean_average_precision"])
    # The Keras side is `evaluate`'s own numbers, not a second computation that rounds otherwise.
    keras = clf.evaluate(data)
    assert report["keras_micro_f1"] == keras["micro_f1"]
    assert report["keras_mean_average_precision"] == keras["mean_average_precision"]

    # What a device does with the file: its scores against its thresholds.
    ids = clf.edge_inputs(clf.preprocess(TEXTS))
    np.testing.assert_array_equal(edge(ids) >= edge.thresholds, clf.predict(TEXTS)["predicted"] == 1)


def test_single_label_classifier_refuses_a_multi_label_file(text_clf, tmp_path):
    clf, _ = text_clf
    path = clf.export(tmp_path / "m.tflite", format="litert")
    single = mmcnn.text.TextClassifier(
        class_names=clf.class_names, mode="word", max_tokens=16, min_frequency=1, embedding_dim=8, filters=8
    )
    single.adapt(TEXTS)
    plain = mmcnn.text.from_arrays(TEXTS[:3], [0, 1, 2], class_names=clf.class_names)
    with pytest.raises(ValueError, match="multi-label model file, but the classifier is single-label"):
        single.evaluate(plain, model_file=path)


def test_predict_rows_hold_the_label_set_and_the_scores(text_clf, tmp_path):
    clf, _ = text_clf
    want = clf.predict(TEXTS)
    rows = predict.predict_rows(clf, TEXTS, top_k=2)
    assert any(len(labels) > 1 for labels in want["labels"])  # the test can tell a set from a top class
    for row, labels, scores in zip(rows, want["labels"], want["scores"]):
        assert row["labels"] == labels and "label" not in row and "probability" not in row
        assert list(row["scores"]) == clf.class_names
        np.testing.assert_allclose(list(row["scores"].values()), scores, atol=1e-6)
        # Each predicted label's own score, in the order of `labels`.
        assert row["probabilities"] == [row["scores"][name] for name in labels]
        assert len(row["top_k"]) == 2

    csv = tmp_path / "p.csv"
    predict.write_predictions_csv(
        rows + [predict._error_row("gone.txt", "no such file", multi_label=True)], csv
    )
    frame = pd.read_csv(csv, keep_default_na=False)
    assert list(frame.columns) == ["path", "labels", "probabilities"] + [
        f"score:{n}" for n in clf.class_names
    ] + ["error"]
    assert list(frame.labels[:-1]) == [";".join(labels) for labels in want["labels"]]
    for cell, row in zip(frame.probabilities[:-1], rows):
        assert [float(p) for p in str(cell).split(";") if p] == pytest.approx(row["probabilities"], abs=1e-6)
    first = frame[f"score:{clf.class_names[0]}"]
    np.testing.assert_allclose(first[:-1].astype(float), want["scores"][:, 0], atol=1e-6)
    assert frame.error.iloc[-1] == "no such file" and first.iloc[-1] == "" and frame.labels.iloc[-1] == ""


def test_many_image_files_take_the_parallel_path_with_label_sets(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["path,label"]
    for i in range(predict.FAST_MIN + 6):
        dark, striped = i % 2 == 0, i % 3 == 0
        pixels = np.full((12, 12), 50 if dark else 200, "float32") + rng.normal(0, 10, (12, 12))
        if striped:
            pixels[::3] = 255 - pixels[::3]
        Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(tmp_path / f"{i}.png")
        lines.append(f"{i}.png,{';'.join(['dark' if dark else 'bright'] + (['striped'] if striped else []))}")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = mmcnn.image.ImageClassifier.read_data(tmp_path / "m.csv", verbose=0)
    clf = mmcnn.image.ImageClassifier(
        image_size=(12, 12), channels=1, preset="tiny", augmentation="none", epochs=2, batch_size=8
    )
    clf.fit(data, validation_split=0.25, verbose=0)
    clf.thresholds = [float(t) for t in np.median(clf.predict_proba(data.inputs), axis=0)]
    rows = predict.predict_rows(clf, [str(tmp_path)])
    files = [r["input"] for r in rows]
    want = clf.predict(files)
    assert [r["labels"] for r in rows] == want["labels"]
    np.testing.assert_allclose([list(r["scores"].values()) for r in rows], want["scores"], atol=1e-5)
