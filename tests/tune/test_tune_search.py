"""`mmcnn.tune.tune` end to end on tiny data: every modality, resume, the budget, and no test data."""

import csv
import json
import os
import sys

import pytest
from conftest import (
    AUDIO_SETTINGS,
    AUDIO_SPACE,
    IMAGE_SETTINGS,
    IMAGE_SPACE,
    TEXT_SETTINGS,
    TEXT_SPACE,
    audio_arrays,
    image_arrays,
    make_images,
    text_arrays,
)

import mmcnn.audio
import mmcnn.image
import mmcnn.text
from mmcnn.runs import resolve_train_config
from mmcnn.tune import TuneError, tune

pytestmark = pytest.mark.slow


def check_outputs(out, result, trials):
    assert result["trials"] == trials and result["finished"] == trials
    config = resolve_train_config(
        result_modality(out), {"train": str(out), "out": str(out / "run")}, out / "best.toml"
    )
    # best.toml holds the best trial's settings: top-level options and the [classifier] table.
    for key, value in result["best"].items():
        where = config if key in ("preset", "epochs", "batch_size") else config["classifier"]
        assert where[key] == (list(value) if isinstance(value, tuple) else value), key
    with open(out / "report" / "trials.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == trials and {r["status"] for r in rows} == {"COMPLETED"}
    assert max(float(r["val_accuracy"]) for r in rows) == pytest.approx(result["val_accuracy"])
    assert (out / "report" / "trials.png").stat().st_size > 1000
    assert "trials.png" in (out / "report" / "index.html").read_text(encoding="utf-8")


def result_modality(out):
    return json.loads((out / "tune.json").read_text(encoding="utf-8"))["modality"]


@pytest.mark.parametrize(
    "cls, data, settings, space",
    [
        (mmcnn.image.ImageClassifier, image_arrays, IMAGE_SETTINGS, IMAGE_SPACE),
        (mmcnn.audio.AudioClassifier, audio_arrays, AUDIO_SETTINGS, AUDIO_SPACE),
        (mmcnn.text.TextClassifier, text_arrays, TEXT_SETTINGS, TEXT_SPACE),
    ],
    ids=["image", "audio", "text"],
)
def test_three_trials_for_each_modality(tmp_path, tune_log, cls, data, settings, space):
    out = tmp_path / "search"
    result = cls.tune(data(), out=out, budget=3, space=space, settings=settings)
    assert result["algorithm"] == "random" and result["stopped"] == "trials"
    check_outputs(out, result, trials=3)
    assert "running 1 trial at a time on" in tune_log.text
    assert tune_log.text.count("-> validation accuracy") == 3


def test_a_search_resumes_where_it_stopped(tmp_path, tune_log, monkeypatch):
    data, out = image_arrays(), tmp_path / "search"
    kwargs = dict(out=out, space=IMAGE_SPACE, settings=dict(IMAGE_SETTINGS, epochs=3))
    first = tune("image", data, budget=1, **kwargs)
    assert first["new_trials"] == 1
    records = {p: p.read_bytes() for p in out.glob("search/trial_*/mmcnn_trial.json")}

    # A trial budget counts the whole search: budget 2 after 1 runs one more trial.
    second = tune("image", data, budget=2, **kwargs)
    assert second["new_trials"] == 1 and second["trials"] == 2
    assert all(p.read_bytes() == content for p, content in records.items())  # finished trials are kept
    assert "resuming the search" in tune_log.text

    # A trial killed in its second epoch runs again first, from its backup (after epoch 1).
    from mmcnn.tune.trial_clock import TrialClock

    original = TrialClock.on_epoch_end

    def interrupt(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(TrialClock, "on_epoch_end", interrupt)
    with pytest.raises(KeyboardInterrupt):
        tune("image", data, budget=3, **kwargs)
    monkeypatch.setattr(TrialClock, "on_epoch_end", original)
    assert len(list(out.glob("search/trial_*/backup/*"))) > 0
    tune_log.clear()
    third = tune("image", data, budget=3, **kwargs)
    assert third["trials"] == 3 and third["new_trials"] == 0  # the interrupted trial, run to its end
    assert "interrupted trial 3 runs again first" in tune_log.text
    assert "trial 3 resumes after epoch 2" in tune_log.text
    assert not list(out.glob("search/trial_*/backup/*"))

    # Another space is another search.
    with pytest.raises(TuneError, match="holds another search .*space"):
        tune("image", data, budget=4, **dict(kwargs, space={"preset": {"values": ["small"]}}))


def test_a_time_budget_stops_at_the_deadline(tmp_path, tune_log):
    # One second is less than the first epoch: that trial stops after it, and no other starts.
    result = tune(
        "image", image_arrays(), out=tmp_path / "s", budget="1s", space=IMAGE_SPACE, settings=IMAGE_SETTINGS
    )
    # One trial compared with nothing: best.toml and the log say so.
    assert any("only 1 trial finished" in warning for warning in result["warnings"])
    assert "# WARNING: only 1 trial finished" in (tmp_path / "s" / "best.toml").read_text()
    assert any(
        r.levelname == "WARNING" and "only 1 trial finished" in r.getMessage() for r in tune_log.records
    )
    assert result["algorithm"] == "hyperband" and result["stopped"] == "budget"
    assert result["trials"] == 1
    record = json.loads(next((tmp_path / "s").glob("search/trial_*/mmcnn_trial.json")).read_text())
    assert record["stopped_by_budget"] and record["epochs_run"] == 1
    assert result["best"]["epochs"] == IMAGE_SETTINGS["epochs"]  # the fixed epochs, not Hyperband's share


def test_the_test_split_is_never_read(tmp_path):
    # Every directory listing and file opened from Python during the search is recorded
    # (image files are listed and checked in Python before TensorFlow decodes them).
    make_images(tmp_path / "train", 10)
    make_images(tmp_path / "val", 4, seed=1)
    make_images(tmp_path / "test", 4, seed=2)
    touched = []
    watching = [False]

    def audit(event, args):
        if watching[0] and event in ("open", "os.listdir", "os.scandir") and args and args[0] is not None:
            path = args[0]
            if isinstance(path, (str, bytes, os.PathLike)):
                touched.append(os.path.abspath(os.fsdecode(path)))

    sys.addaudithook(audit)  # cannot be removed: it records only while `watching`
    watching[0] = True
    try:
        result = tune(
            "image",
            tmp_path / "train",
            val=tmp_path / "val",
            out=tmp_path / "search",
            budget=1,
            space=IMAGE_SPACE,
            settings=IMAGE_SETTINGS,
        )
    finally:
        watching[0] = False
    assert result["finished"] == 1
    roots = {name: str(tmp_path / name) for name in ("train", "val", "test")}
    assert any(p.startswith(roots["train"]) for p in touched) and any(
        p.startswith(roots["val"]) for p in touched
    )
    assert not [p for p in touched if p.startswith(roots["test"])]


def test_failing_trials_end_the_search_naming_the_error(tmp_path, tune_log, monkeypatch):
    def broken_fit(self, *args, **kwargs):
        raise ValueError("the kernel does not fit the input")

    monkeypatch.setattr(mmcnn.image.ImageClassifier, "fit", broken_fit)
    with pytest.raises(
        TuneError, match="consecutive failures.*ValueError: the kernel does not fit the input"
    ):
        tune(
            "image", image_arrays(), out=tmp_path / "s", budget=5, space=IMAGE_SPACE, settings=IMAGE_SETTINGS
        )
    assert tune_log.text.count("failed: ValueError: the kernel does not fit the input") == 3
