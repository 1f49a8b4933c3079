"""`TableClassifier`: missing cells and columns, column kinds, and the command line on a table."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mmcnn.data import DataError
from mmcnn.multimodal import TableClassifier, from_dataframe

PHOTO = dict(image_size=[12, 12], channels=1, preset="tiny", augmentation="none")
TITLE = dict(max_tokens=8, embedding_dim=8, filters=4, min_frequency=1)


def _frame(tmp_path, n=16):
    """Pictures bright for `light`, titles that say it, hours that do not."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        label = ["dark", "light"][i % 2]
        pixels = (rng.integers(0, 100, (12, 12)) + (120 if label == "light" else 0)).astype(np.uint8)
        path = tmp_path / f"p{i}.png"
        Image.fromarray(pixels).save(path)
        rows.append(
            dict(
                photo=f"p{i}.png" if i % 5 else "",
                title=["a night sky", "a sunny day"][i % 2] + f" number {i}",
                hour=float(rng.integers(0, 24)) if i % 7 else None,
                label=label,
            )
        )
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / "items.csv", index=False)
    return frame


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("table")
    frame = _frame(tmp_path)
    data = from_dataframe(tmp_path / "items.csv", columns={"title": "text"}, verbose=0)
    clf = TableClassifier(
        column_settings={"photo": PHOTO, "title": TITLE}, fusion_units=8, epochs=2, batch_size=8
    )
    clf.fit(data, verbose=0, calibrate=False)
    return clf, frame, tmp_path


@pytest.mark.slow  # trains a model (the module's fixture)
def test_the_table_is_read_with_missing_cells_kept_as_none(trained):
    clf, frame, tmp_path = trained
    data = from_dataframe(tmp_path / "items.csv", columns={"title": "text"}, verbose=0)
    assert clf.columns == {"photo": "image", "title": "text", "hour": "number"}
    assert data.missing_counts() == {"photo": 4, "title": 0, "hour": 3}
    assert data.inputs[0]["photo"] is None and data.inputs[0]["hour"] is None
    assert data.data_report()["missing_cells"] == {"photo": 4, "title": 0, "hour": 3}


@pytest.mark.slow  # trains a model (the module's fixture)
def test_a_column_left_out_is_predicted_as_missing(trained):
    clf, frame, tmp_path = trained
    rows = frame.drop(columns="label").copy()
    rows["photo"] = [str(tmp_path / p) if p else "" for p in rows["photo"]]
    without = clf.predict_proba(rows.drop(columns="photo"))
    empty = clf.predict_proba(rows.assign(photo=""))
    np.testing.assert_allclose(without, empty, atol=1e-6)
    assert without.shape == (len(rows), 2)
    np.testing.assert_allclose(without.sum(axis=1), 1.0, atol=1e-5)
    # A path whose file is gone is a missing cell too (logged), not an error.
    gone = clf.predict_proba(rows.assign(photo=str(tmp_path / "gone.png")))
    np.testing.assert_allclose(gone, empty, atol=1e-6)


@pytest.mark.slow  # trains a model (the module's fixture)
def test_the_photo_changes_the_prediction_when_it_is_there(trained):
    clf, frame, tmp_path = trained
    rows = frame.drop(columns="label").assign(photo=[str(tmp_path / f"p{i}.png") for i in range(len(frame))])
    assert np.abs(clf.predict_proba(rows) - clf.predict_proba(rows.assign(photo=""))).max() > 1e-4


@pytest.mark.slow  # trains a model (the module's fixture)
def test_explain_and_ablation_mask_one_column_at_a_time(trained):
    from mmcnn.multimodal import column_ablation

    clf, frame, tmp_path = trained
    rows = frame.drop(columns="label").assign(photo=[str(tmp_path / f"p{i}.png") for i in range(len(frame))])
    rows.loc[0, "hour"] = None
    result = clf.explain(rows)
    assert set(result["columns"]) == {"photo", "title", "hour"}
    assert result["columns"]["hour"][0] == 0.0  # the row lacks the cell: nothing to leave out
    full = clf.predict_proba(rows)
    top = full.argmax(axis=1)
    without_title = clf.predict_proba(rows.assign(title=""))
    expected = full[np.arange(len(top)), top] - without_title[np.arange(len(top)), top]
    np.testing.assert_allclose(result["columns"]["title"], expected, atol=1e-5)
    data = from_dataframe(tmp_path / "items.csv", columns={"title": "text"}, verbose=0)
    ablation = column_ablation(clf, data)
    assert ablation["examples"] == len(frame)
    assert ablation["all"] == pytest.approx(clf.evaluate(data)["accuracy"], abs=1e-6)
    assert set(ablation["alone"]) == set(ablation["left_out"]) == {"photo", "title", "hour"}


@pytest.mark.slow  # trains a model (the module's fixture)
def test_unknown_columns_in_predict_are_named(trained):
    clf, _, _ = trained
    with pytest.raises(ValueError, match=r"unknown column\(s\) \['colour'\]"):
        clf.predict(pd.DataFrame({"title": ["a"], "colour": ["red"]}))


def test_column_arguments_are_checked():
    with pytest.raises(ValueError, match="unknown kind 'picture'"):
        TableClassifier(columns={"photo": "picture"})
    with pytest.raises(ValueError, match="input name"):
        TableClassifier(columns={"a b": "text", "a-b": "text"})
    clf = TableClassifier(columns={"hour": "number"}, column_settings={"hour": {"preset": "tiny"}})
    with pytest.raises(ValueError, match="number column, which takes no settings"):
        _ = clf.encoders
    with pytest.raises(ValueError, match="a table has no `augmentation` of its own"):
        TableClassifier(augmentation="light")
    # The base arguments pass through by keyword, and the config makes the same classifier again.
    clf = TableClassifier(
        columns={"hour": "number"}, fusion="gated", epochs=3, seed=5, class_names=["a", "b"]
    )
    again = TableClassifier.from_config(clf.get_config())
    assert again.get_config() == clf.get_config()
    assert (again.fusion, again.epochs, again.seed, again.class_names) == ("gated", 3, 5, ["a", "b"])


def test_kinds_that_differ_from_the_datas_are_refused(tmp_path):
    _frame(tmp_path)
    data = from_dataframe(tmp_path / "items.csv", verbose=0)  # title detected as text
    clf = TableClassifier(columns={"hour": "category"}, epochs=1)
    with pytest.raises(DataError, match="hour: category here, number in the data"):
        clf.fit(data, verbose=0)


@pytest.mark.slow
def test_train_predict_and_serve_a_table_from_the_command_line(tmp_path):
    frame = _frame(tmp_path, n=24)
    run = tmp_path / "run"
    env = {**os.environ, "MMCNN_PRECISION": "float32"}
    (tmp_path / "run.toml").write_text(
        "[classifier.column_settings.photo]\n"
        'image_size = [12, 12]\nchannels = 1\npreset = "tiny"\naugmentation = "none"\n'
        "[classifier.column_settings.title]\n"
        "max_tokens = 8\nembedding_dim = 8\nfilters = 4\nmin_frequency = 1\n"
    )
    settings = ["--config", str(tmp_path / "run.toml")]
    train = subprocess.run(
        [sys.executable, "-m", "mmcnn.cli", "train", "table", "--train", str(tmp_path / "items.csv"),
         "--out", str(run), "--epochs", "2", "--columns", "title=text,hour=number", *settings],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr[-2000:]
    config = json.loads((run / "config.json").read_text())
    assert config["command"]["classifier"]["columns"] == {"title": "text", "hour": "number"}
    assert "photo: image (detected), 5 missing" in train.stderr
    predict = subprocess.run(
        [sys.executable, "-m", "mmcnn.cli", "predict", str(run), str(tmp_path / "items.csv"), "--json"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert predict.returncode == 0, predict.stderr[-2000:]
    rows = json.loads(predict.stdout)
    assert len(rows) == len(frame) and not any(row["error"] for row in rows)
    assert {row["label"] for row in rows} <= {"dark", "light"}
    explain = subprocess.run(
        [sys.executable, "-m", "mmcnn.cli", "explain", str(run), str(tmp_path / "items.csv"),
         "--out", str(tmp_path / "why"), "--json"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert explain.returncode == 0, explain.stderr[-2000:]
    explained = json.loads(explain.stdout)
    assert len(explained) == len(frame) and all(os.path.isfile(row["png"]) for row in explained)
    assert (run / "report" / "columns.png").is_file()


@pytest.mark.slow  # trains a model (the module's fixture)
def test_a_column_starts_from_a_run_of_its_modality(trained, tmp_path):
    """`init_from={"photo": ...}`: the photo encoder takes the image run's settings and weights and is
    frozen in the first epochs; the other columns start fresh."""
    import keras

    import mmcnn.image

    clf, frame, folder = trained
    paths = [str(folder / f"p{i}.png") for i in range(len(frame))]
    source = mmcnn.image.ImageClassifier(image_size=(12, 12), channels=1, preset="tiny", augmentation="none")
    pictures = np.stack([np.asarray(Image.open(p)) for p in paths])
    source.fit(mmcnn.image.from_arrays(pictures, list(frame["label"])), epochs=1, verbose=0, calibrate=False)
    source.save(tmp_path / "photos.keras")

    data = from_dataframe(folder / "items.csv", columns={"title": "text"}, verbose=0)
    warm = TableClassifier(
        column_settings={"title": TITLE}, init_from={"photo": str(tmp_path / "photos.keras")}
    )
    model = warm.prepare(data)
    assert warm.column_settings["photo"]["image_size"] == [12, 12]
    assert warm._warm_layers == ["photo_encoder"] and warm._warm_pending
    encoder = model.get_layer("photo_encoder")
    for name in ("backbone",):
        for ours, theirs in zip(encoder.get_layer(name).weights, source.model.get_layer(name).weights):
            np.testing.assert_array_equal(
                keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(theirs)
            )

    with pytest.raises(Exception, match="image classifier, but column 'title' is text"):
        TableClassifier(init_from={"title": str(tmp_path / "photos.keras")}).prepare(data)


def test_a_table_of_label_sets_trains_a_multi_label_model():
    # "sun" follows the hour, "rain" the note: each row has zero, one or two labels.
    rng = np.random.default_rng(0)
    rows = []
    for i in range(48):
        sun, rain = i % 2 == 0, i % 3 == 0
        rows.append(
            dict(
                hour=float(12 if sun else 0) + rng.normal(0, 1),
                note="wet grey" if rain else "dry calm",
                label=";".join(name for name, on in (("sun", sun), ("rain", rain)) if on) or "none",
            )
        )
    frame = pd.DataFrame(rows)
    data = from_dataframe(frame, columns={"note": "category"}, verbose=0)
    assert data.multi_label
    train, val = data.split(0.25, seed=0)
    clf = TableClassifier(fusion_units=8, epochs=20, learning_rate=2e-2, batch_size=8)
    clf.fit(train, validation_data=val, verbose=0)
    assert clf.multi_label and clf.model.output.shape[-1] == 3 and len(clf.thresholds) == 3
    probabilities = clf.predict_proba(pd.DataFrame({"hour": [12.0, 0.0], "note": ["wet grey", "dry calm"]}))
    names = clf.class_names
    # Sigmoid outputs, one per class: the noon rain row has both labels, the dry midnight row neither.
    assert probabilities[0, names.index("sun")] > 0.5 and probabilities[0, names.index("rain")] > 0.5
    assert probabilities[1, names.index("sun")] < 0.5 and probabilities[1, names.index("rain")] < 0.5
