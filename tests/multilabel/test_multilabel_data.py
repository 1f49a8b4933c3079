"""Multi-label data, metrics, head, serving outputs and report: the fast checks (no training)."""

import logging

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import mmcnn.image
import mmcnn.text
from mmcnn.data import DataError, LabeledData, read_labeled_manifest, split_label_cell
from mmcnn.export.endpoints import multilabel_outputs
from mmcnn.layers import ClassifierHead
from mmcnn.models.metrics import average_precision, best_thresholds, multilabel_report


def texts(labels, column="label"):
    return pd.DataFrame({"text": [f"text {i}" for i in range(len(labels))], column: labels})


# ----------------------------------------------------------------- manifests
def test_semicolons_give_multi_hot_targets_with_whitespace_removed():
    data = mmcnn.text.from_dataframe(texts([" cat ; outdoor", "dog", "outdoor;cat;; cat", "dog ;outdoor "]))
    assert data.multi_label
    assert data.class_names == ["cat", "dog", "outdoor"]
    np.testing.assert_array_equal(data.targets, [[1, 0, 1], [0, 1, 0], [1, 0, 1], [0, 1, 1]])
    # `labels` keeps working: each row's first listed class.
    assert data.labels.tolist() == [0, 1, 2, 1]
    assert data.class_counts().tolist() == [2, 2, 3]
    # Spaces around `;` are the format; only a cell's own surrounding whitespace counts.
    assert data.stripped_labels == 2
    assert data.data_report()["multi_label"] is True
    assert split_label_cell(" a; b ;;a ") == ("a", "b")


def test_the_documented_label_format_does_not_warn(caplog):
    caplog.set_level(logging.WARNING, logger="mmcnn")
    data = mmcnn.text.from_dataframe(texts(["cat; outdoor", "dog ; cat", "outdoor"] * 50))
    assert data.multi_label and data.stripped_labels == 0
    assert "whitespace" not in caplog.text
    # Whitespace around a single-label cell is still reported.
    data = mmcnn.text.from_dataframe(texts(["cat ", "dog"]))
    assert data.stripped_labels == 1 and "removed surrounding whitespace from 1 label(s)" in caplog.text


def test_a_labels_column_is_multi_label_even_without_semicolons():
    data = mmcnn.text.from_dataframe(texts(["a", "b;a", "b"], column="labels"))
    assert data.multi_label and data.class_names == ["a", "b"]
    np.testing.assert_array_equal(data.targets, [[1, 0], [1, 1], [0, 1]])


def test_detection_can_be_overridden():
    single = mmcnn.text.from_dataframe(texts(["a;b", "c"]), multi_label=False)
    assert not single.multi_label and single.class_names == ["a;b", "c"]
    forced = mmcnn.text.from_dataframe(texts(["a", "b"]), multi_label=True)
    assert forced.multi_label
    np.testing.assert_array_equal(forced.targets, [[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="multi_label"):
        mmcnn.text.from_dataframe(texts(["a", "b"]), multi_label="yes")


def test_single_label_manifests_are_unchanged():
    data = mmcnn.text.from_dataframe(texts(["b", "a ", "b"]))
    assert not data.multi_label and data.targets is None
    assert data.labels.tolist() == [1, 0, 1]
    assert "multi_label" not in data.data_report()
    np.testing.assert_array_equal(data.target_matrix(), [[0, 1], [1, 0], [0, 1]])


def test_bad_rows_are_named():
    with pytest.raises(DataError, match="row 2: label 'x'"):
        read_labeled_manifest(texts(["a;b", "a;x"]), "text", class_names=["a", "b"])
    with pytest.raises(DataError, match="row 2: missing label"):
        read_labeled_manifest(texts(["a;b", " ; "]), "text", on_error="raise")
    assert read_labeled_manifest(texts(["a;b", " ; "]), "text").skipped == [
        ("manifest row 2", "missing label")
    ]
    # The same label set written another way is a repeated row: data, counted.
    data = mmcnn.text.from_dataframe(pd.DataFrame({"text": ["t", "t"], "label": ["a;b", "b ; a"]}))
    assert len(data) == 2 and data.duplicate_rows == 1


def test_image_manifest_with_label_sets(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((8, 8), 40 * i, "uint8")).save(tmp_path / f"{i}.png")
    (tmp_path / "m.csv").write_text("path,label\n0.png,a;b\n1.png,b\n2.png, a \n", encoding="utf-8")
    data = mmcnn.image.from_dataframe(tmp_path / "m.csv", verbose=0)
    assert data.multi_label and data.class_names == ["a", "b"]
    np.testing.assert_array_equal(data.targets, [[1, 1], [0, 1], [1, 0]])


def test_subset_split_and_with_classes_carry_the_targets():
    targets = [[1, 1, 0], [0, 1, 0], [1, 0, 1], [0, 0, 1]]
    data = LabeledData(["w", "x", "y", "z"], [0, 1, 0, 2], ["a", "b", "c"], "texts", targets=targets)
    part = data.subset([2, 0])
    np.testing.assert_array_equal(part.targets, [[1, 0, 1], [1, 1, 0]])
    rest, held = data.split(0.5, seed=0)
    assert rest.multi_label and held.multi_label and len(rest) + len(held) == 4
    moved = data.with_classes(["c", "b", "a", "d"])
    np.testing.assert_array_equal(moved.targets, [[0, 1, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 0]])
    with pytest.raises(DataError, match="targets"):
        LabeledData(["w"], [0], ["a", "b"], "texts", targets=[[1, 0, 0]])


def test_class_folders_cannot_be_multi_label(tmp_path):
    with pytest.raises(ValueError, match="class folders cannot express multi-label"):
        mmcnn.image.ImageClassifier.read_data(tmp_path, multi_label=True)


# ------------------------------------------------------------------- metrics
def test_average_precision_by_hand():
    # Ranked: 1 (P=1/1), 0, 1 (P=2/3), 0 -> (1 + 2/3) / 2.
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)
    # A tie of a positive and a negative at the top is one step: P = 1/2 at recall 1.
    assert average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert average_precision([0, 0], [0.5, 0.1]) is None


def test_best_thresholds_maximise_each_class_f1():
    targets = [[1, 0], [0, 0], [1, 1], [0, 0]]
    scores = [[0.9, 0.2], [0.4, 0.1], [0.6, 0.3], [0.7, 0.4]]
    # Class 0 ranks 0.9+ 0.7- 0.6+ 0.4-: F1 of the top 1, 2, 3, 4 is 2/3, 1/2, 4/5, 2/3 -> cut
    # between 0.6 and 0.4. Class 1 ranks 0.4- 0.3+ 0.2- 0.1-: best keeps the top 2 (F1 2/3) -> 0.25.
    assert best_thresholds(targets, scores).tolist() == pytest.approx([0.5, 0.25])
    assert best_thresholds([[0], [0]], [[0.3], [0.9]]).tolist() == [0.5]  # no positive: default


def test_multilabel_report_by_hand():
    targets = [[1, 0, 1], [0, 1, 0], [1, 1, 0]]
    scores = [[0.9, 0.2, 0.6], [0.3, 0.8, 0.7], [0.4, 0.6, 0.1]]
    report = multilabel_report(targets, scores, [0.5, 0.5, 0.5], ["a", "b", "c"])
    # predicted: [1,0,1], [0,1,1], [0,1,0]; TP a1 b2 c1 = 4, predicted 5, true 5.
    assert report["micro_precision"] == pytest.approx(4 / 5)
    assert report["micro_recall"] == pytest.approx(4 / 5)
    assert report["micro_f1"] == pytest.approx(4 / 5)
    per = report["per_class"]
    assert (
        per["a"]["precision"] == 1.0 and per["a"]["recall"] == 0.5 and per["a"]["f1"] == pytest.approx(2 / 3)
    )
    assert per["b"]["f1"] == 1.0
    assert per["c"]["precision"] == 0.5 and per["c"]["f1"] == pytest.approx(2 / 3)
    assert report["macro_f1"] == pytest.approx((2 / 3 + 1 + 2 / 3) / 3)
    # AP: a ranks 0.9(+) 0.4(+) 0.3(-) -> 1; b 0.8(+) 0.6(+) 0.2 -> 1; c 0.7(-) 0.6(+) -> 1/2.
    assert per["c"]["average_precision"] == pytest.approx(0.5)
    assert report["mean_average_precision"] == pytest.approx(2.5 / 3)
    assert report["accuracy"] == pytest.approx(1 / 3)  # only row 1 is exactly right
    assert report["multi_label"] is True and report["thresholds"] == [0.5, 0.5, 0.5]


# -------------------------------------------------------- head, outputs, report
def test_sigmoid_head_scores_each_class_on_its_own():
    head = ClassifierHead(3, rank=1, activation="sigmoid")
    out = np.asarray(head(np.random.default_rng(0).normal(size=(4, 5, 8)).astype("float32")))
    assert out.shape == (4, 3) and not np.allclose(out.sum(axis=-1), 1.0)
    assert ClassifierHead.from_config(head.get_config()).activation == "sigmoid"
    assert ClassifierHead(3).get_config()["activation"] == "softmax"
    with pytest.raises(ValueError, match="activation"):
        ClassifierHead(3, activation="relu")


def test_multilabel_serving_outputs():
    out = multilabel_outputs(
        tf.constant([[0.9, 0.2, 0.4], [0.1, 0.7, 0.5]]), ["a", "b", "c"], [0.5, 0.5, 0.45]
    )
    np.testing.assert_array_equal(out["predicted"].numpy(), [[1, 0, 0], [0, 1, 1]])
    assert out["labels"].numpy().tolist() == [[b"a", b"", b""], [b"", b"b", b"c"]]
    assert out["scores"].dtype == tf.float32


def test_report_shows_per_class_bars_instead_of_the_confusion_matrix(tmp_path):
    from mmcnn.report import write_report

    clf = mmcnn.image.ImageClassifier(num_classes=3, image_size=(16, 16), channels=1, preset="tiny")
    metrics = multilabel_report(
        [[1, 0, 1], [0, 1, 0]], [[0.9, 0.2, 0.6], [0.3, 0.8, 0.7]], [0.5] * 3, ["a", "b", "c"]
    )
    names = [f.name for f in write_report(clf, tmp_path, metrics=metrics)]
    assert "per_class_scores.png" in names and "confusion_matrix.png" not in names
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "mean average precision" in page and "per_class_scores.png" in page
