"""Multi-label training, evaluation, `.keras` and SavedModel round trips, and `mmcnn train`, on tiny data."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import mmcnn
import mmcnn.image
import mmcnn.text
from mmcnn import runs
from mmcnn.data import DataError, LabeledData
from mmcnn.export.exporter import read_metadata
from mmcnn.layers import Temperature

pytestmark = pytest.mark.slow

WORDS = {
    "animal": ["cat", "dog", "bird"],
    "food": ["bread", "apple", "soup"],
    "sport": ["ball", "goal", "race"],
}
TEXT_SETTINGS = dict(max_tokens=16, min_frequency=1, embedding_dim=8, filters=8)


def write_text_manifest(path, n=48, seed=0):
    rng = np.random.default_rng(seed)
    lines = ["text,label"]
    for i in range(n):
        tags = [t for t in WORDS if rng.random() < 0.5] or ["food"]
        words = [str(rng.choice(WORDS[t])) for t in tags for _ in range(2)] + [f"n{i}"]
        rng.shuffle(words)
        lines.append(f"{' '.join(words)}, {' ; '.join(tags)} ")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def text_clf(tmp_path_factory):
    csv = write_text_manifest(tmp_path_factory.mktemp("text") / "train.csv")
    data = mmcnn.text.TextClassifier.read_data(csv, verbose=0)
    clf = mmcnn.text.TextClassifier(**TEXT_SETTINGS, epochs=3, batch_size=16)
    clf.fit(data, validation_split=0.25, verbose=0)
    return clf, data


def test_text_training_is_multi_label(text_clf):
    clf, data = text_clf
    assert data.multi_label and clf.multi_label and clf.class_names == ["animal", "food", "sport"]
    assert clf.model.get_layer("head").activation == "sigmoid"
    assert not any(isinstance(layer, Temperature) for layer in clf.model.layers)  # no calibration
    assert len(clf.thresholds) == 3 and all(0 <= t <= 1 for t in clf.thresholds)
    report = clf.evaluate(data)
    assert report["multi_label"] and report["num_examples"] == len(data)
    assert {"micro_f1", "macro_f1", "mean_average_precision", "accuracy"} <= set(report)
    assert set(report["per_class"]["food"]) >= {"precision", "recall", "f1", "average_precision", "threshold"}
    result = clf.predict(["cat dog", "apple ball race"])
    for labels, scores in zip(result["labels"], result["scores"]):
        assert labels == [n for n, s, t in zip(clf.class_names, scores, clf.thresholds) if s >= t]


def test_thresholds_survive_keras_file_and_saved_model(text_clf, tmp_path):
    clf, _ = text_clf
    inputs = ["cat dog", "apple ball race", "soup", "goal bird", "bread bread"]
    # Thresholds at the median score of each class: the predictions then depend on them.
    clf.thresholds = [float(t) for t in np.median(clf.predict(inputs)["scores"], axis=0)]
    want = clf.predict(inputs)
    clf.save(tmp_path / "m.keras")
    back = mmcnn.load(tmp_path / "m.keras")
    assert back.multi_label and back.thresholds == clf.thresholds
    np.testing.assert_array_equal(back.predict(inputs)["predicted"], want["predicted"])

    path = clf.export(tmp_path / "saved")
    assert read_metadata(path)["thresholds"] == pytest.approx(clf.thresholds)
    served = tf.saved_model.load(path)
    out = {k: v.numpy() for k, v in served.signatures["serving_default"](texts=tf.constant(inputs)).items()}
    assert set(out) == {"scores", "predicted", "labels"}
    np.testing.assert_allclose(out["scores"], want["scores"], atol=1e-5)
    np.testing.assert_array_equal(out["predicted"], want["predicted"])
    for row, labels in zip(out["labels"], want["labels"]):
        assert [b.decode() for b in row if b] == labels
    embedded = served.signatures["embedding"](texts=tf.constant(inputs))
    np.testing.assert_array_equal(embedded["predicted"].numpy(), want["predicted"])


def test_early_stopping_keeps_the_epoch_with_the_best_validation_pr_auc(tmp_path):
    data = mmcnn.text.TextClassifier.read_data(write_text_manifest(tmp_path / "train.csv", n=64), verbose=0)
    train, val = data.split(0.25, seed=1)
    clf = mmcnn.text.TextClassifier(**TEXT_SETTINGS, epochs=5, batch_size=16, learning_rate=0.05)
    assert clf.monitor == ("val_loss", "min")  # until it is built for multi-label data
    history = clf.fit(train, validation_data=val, verbose=0).history
    assert clf.monitor == ("val_pr_auc", "max")
    stopper = [c for c in clf._fit_callbacks((), True, None) if isinstance(c, keras.callbacks.EarlyStopping)]
    assert [(c.monitor, c.mode) for c in stopper] == [("val_pr_auc", "max")]
    # The weights kept are the best watched epoch's by PR-AUC, whatever the loss did.
    watched = history["val_pr_auc"][clf.schedule_used["start_from_epoch"] :]
    scores = clf.model.evaluate(clf.make_dataset(val), return_dict=True, verbose=0)
    np.testing.assert_allclose(scores["pr_auc"], max(watched), atol=1e-6)


def test_single_label_text_is_unchanged():
    data = mmcnn.text.from_arrays(["a cat", "a dog", "the cat", "the dog"], ["cat", "dog", "cat", "dog"])
    clf = mmcnn.text.TextClassifier(**TEXT_SETTINGS)
    clf.prepare(data)
    assert not clf.multi_label and clf.thresholds is None
    assert clf.model.get_layer("head").activation == "softmax"
    assert any(isinstance(layer, Temperature) for layer in clf.model.layers)
    result = clf.predict(["a cat"])
    assert isinstance(result["labels"][0], str) and "scores" not in result
    both = LabeledData(["a cat dog"], [0], ["cat", "dog"], "texts", targets=[[1, 1]])
    with pytest.raises(DataError, match="built single-label"):
        clf.evaluate(both)


def test_image_multi_label_training_and_export(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    lines = ["path,label"]
    for i in range(24):
        dark, striped = i % 2 == 0, i % 3 == 0
        pixels = np.full((12, 12), 50 if dark else 200, "float32") + rng.normal(0, 10, (12, 12))
        if striped:
            pixels[::3] = 255 - pixels[::3]
        Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(tmp_path / f"{i}.png")
        tags = ["dark" if dark else "bright"] + (["striped"] if striped else [])
        lines.append(f"{i}.png,{';'.join(tags)}")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = mmcnn.image.ImageClassifier.read_data(tmp_path / "m.csv", verbose=0)
    assert data.multi_label and data.class_names == ["bright", "dark", "striped"]
    clf = mmcnn.image.ImageClassifier(
        image_size=(12, 12), channels=1, preset="tiny", augmentation="none", epochs=2, batch_size=8
    )
    clf.fit(data, validation_split=0.25, verbose=0)
    assert clf.multi_label and len(clf.thresholds) == 3
    assert clf.evaluate(data)["multi_label"]
    files = [str(tmp_path / f"{i}.png") for i in range(4)]
    want = clf.predict(files)
    path = clf.export(tmp_path / "saved")
    served = tf.saved_model.load(path)
    image_bytes = tf.constant([open(f, "rb").read() for f in files])
    out = served.signatures["serving_default"](image_bytes=image_bytes)
    np.testing.assert_allclose(out["scores"].numpy(), want["scores"], atol=1e-5)
    np.testing.assert_array_equal(out["predicted"].numpy(), want["predicted"])


def test_mmcnn_train_detects_a_multi_label_manifest(tmp_path):
    csv = write_text_manifest(tmp_path / "train.csv")
    config = runs.resolve_train_config(
        "text",
        {"train": str(csv), "out": str(tmp_path / "run"), "epochs": 2, "batch_size": 16},
        settings=[f"{k}={v}" for k, v in TEXT_SETTINGS.items()],
    )
    metrics = runs.train_run(config, verbose=0)
    assert metrics["validation"]["multi_label"] and "calibration" not in metrics
    history = (tmp_path / "run" / "history.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "val_pr_auc" in history  # the quantity multi-label runs keep their best epoch by
    written = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    assert {"micro_f1", "macro_f1", "mean_average_precision"} <= set(written["validation"])
    report = tmp_path / "run" / "report"
    assert (report / "per_class_scores.png").exists() and not (report / "confusion_matrix.png").exists()
    assert mmcnn.load(tmp_path / "run" / "model.keras").thresholds == written["validation"]["thresholds"]
