"""The end of `mmcnn train` predicts the validation split once (fit's calibration, `evaluate`,
the calibration metrics and the report share that pass), with the metrics of three passes."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from mmcnn import runs
from mmcnn.explain import calibration_summary, expected_calibration_error, scale_probabilities

N_VAL = 52  # at least MIN_CALIBRATION_EXAMPLES: the temperature is fitted, T != 1


def write_split(root, n, rng):
    for name, base in (("dark", 60), ("bright", 190)):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(n):
            pixels = np.clip(rng.normal(base, 90, (12, 12)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / f"{i}.png")


def test_train_run_predicts_the_validation_split_once(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for split, n in (("train", 12), ("val", N_VAL // 2), ("test", 5)):
        write_split(tmp_path / split, n, rng)
    rows = []
    original = keras.Model.predict

    def counting_predict(model, x, *args, **kwargs):
        out = original(model, x, *args, **kwargs)  # the real Keras predict
        rows.append(len(out))
        return out

    monkeypatch.setattr(keras.Model, "predict", counting_predict)
    config = runs.resolve_train_config(
        "image",
        {
            "train": str(tmp_path / "train"),
            "val": str(tmp_path / "val"),
            "test": str(tmp_path / "test"),
            "out": str(tmp_path / "run"),
            "epochs": 1,
            "batch_size": 8,
            "preset": "tiny",
        },
        settings=["image_size=[12,12]", "channels=1", "augmentation='none'"],
    )
    metrics = runs.train_run(config, verbose=0)
    assert rows.count(N_VAL) == 1, rows
    assert rows.count(10) == 1, rows  # the test split: once too

    # The metrics as three separate passes computed them, on the saved (calibrated) model.
    monkeypatch.undo()
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    clf = runs.load_run(tmp_path / "run")
    val = runs.load_data("image", tmp_path / "val", class_names=clf.class_names)
    test = runs.load_data("image", tmp_path / "test", class_names=clf.class_names)
    temperature = clf.temperature
    assert temperature != 1.0 and saved["calibration"]["fitted_on"] == N_VAL
    val_probs = np.asarray(clf.model.predict(clf.make_dataset(val), verbose=0))
    test_probs = np.asarray(clf.model.predict(clf.make_dataset(test), verbose=0))
    before = scale_probabilities(val_probs, 1.0 / temperature)
    old = calibration_summary(before, val.labels, temperature, fitted_on=N_VAL)
    old["test_ece_before"] = expected_calibration_error(
        scale_probabilities(test_probs, 1.0 / temperature), test.labels
    )
    old["test_ece_after"] = expected_calibration_error(test_probs, test.labels)
    for key, value in old.items():
        assert saved["calibration"][key] == pytest.approx(value, abs=1e-5), key
    for split, data in (("validation", val), ("test", test)):
        expected = clf.evaluate(data)
        for key in ("accuracy", "macro_f1", "confusion_matrix"):
            assert saved[split][key] == expected[key], (split, key)
    assert metrics["validation"]["ece"] == saved["calibration"]["ece_after"]
