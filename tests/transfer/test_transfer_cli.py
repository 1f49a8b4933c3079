"""`mmcnn train --init-from / --class-weight` and `mmcnn predict --embed`, end to end."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import mmcnn
from mmcnn import runs
from mmcnn.cli import CliError, build_parser
from mmcnn.models import Classifier
from mmcnn.runs.config import ConfigError
from mmcnn.runs.train import classifier_arguments

# Subprocesses of the whole command line or of TensorFlow: part of `./run test`, not of the
# quick `-m "not slow"` loop.
pytestmark = pytest.mark.slow

MMCNN = [sys.executable, "-m", "mmcnn.cli"]


def run(*args, check=True):
    result = subprocess.run([*MMCNN, *args], capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"mmcnn {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def make_images(root, counts, seed=0):
    """Class folders of noise images around a grey level each: `counts` is {name: (level, n)}."""
    rng = np.random.default_rng(seed)
    for name, (level, n) in counts.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            pixels = np.clip(rng.normal(level, 25, (12, 12)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(root / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    """A run directory as `mmcnn train` leaves it, as far as `--init-from` reads it (`model.keras`)."""
    root = tmp_path_factory.mktemp("source")
    data = mmcnn.image.from_directory(
        make_images(root / "a", {"dark": (50, 16), "bright": (200, 16)}), verbose=0
    )
    clf = mmcnn.image.ImageClassifier(
        image_size=(12, 12), channels=1, preset="tiny", augmentation="none", epochs=2, batch_size=8
    )
    clf.fit(data, verbose=0)
    clf.save(root / "run" / "model.keras")
    return root / "run"


@pytest.mark.slow
def test_fine_tune_a_run_with_balanced_weights_then_embed(tmp_path, source_run):
    # New classes, deliberately imbalanced; the input settings and preset come from the source run.
    target = tmp_path / "target"
    train = make_images(tmp_path / "b", {"dim": (90, 20), "light": (160, 6)}, seed=1)
    run(
        "train",
        "image",
        "--train",
        str(train),
        "--out",
        str(target),
        "--init-from",
        str(source_run),
        "--class-weight",
        "balanced",
        "--epochs",
        "3",
        "--freeze-epochs",
        "1",
    )
    config = json.loads((target / "config.json").read_text())
    assert config["command"]["init_from"] == str(source_run)
    assert config["command"]["class_weight"] == "balanced"
    assert config["classifier"]["init_from"] == str(source_run)
    assert config["classifier"]["image_size"] == [12, 12] and config["classifier"]["channels"] == 1
    assert config["preset"]["stem"] == 16  # the tiny preset, from the source

    out = tmp_path / "vectors.npy"
    result = run("predict", str(target), str(train), "--embed", str(out))
    vectors = np.load(out)
    names = (tmp_path / "vectors.inputs.txt").read_text().splitlines()
    assert vectors.shape == (26, 32) and len(names) == 26 and np.isfinite(vectors).all()
    assert "wrote 26 embeddings (32 features)" in result.stderr


def test_transfer_options_are_checked(tmp_path, source_run):
    with pytest.raises(ConfigError, match="--init-from .*nope: no such run directory or .keras file"):
        runs.resolve_train_config(
            "image", {"train": str(tmp_path), "out": "r", "init_from": str(tmp_path / "nope")}
        )
    with pytest.raises(ConfigError, match="the directory holds no trained model"):
        runs.resolve_train_config("image", {"train": str(tmp_path), "out": "r", "init_from": str(tmp_path)})
    with pytest.raises(CliError, match="--class-weight"):
        build_parser().parse_args(["train", "image", "--class-weight", "inverse"])
    config = runs.resolve_train_config(
        "audio", {"train": str(tmp_path), "out": "r", "init_from": str(source_run)}
    )
    with pytest.raises(ConfigError, match="holds an image classifier; this run trains an audio classifier"):
        classifier_arguments(config)
    config = runs.resolve_train_config(
        "image",
        {"train": str(tmp_path), "out": "r", "init_from": str(source_run), "freeze_epochs": 0},
        settings=["augmentation='light'"],
    )
    preset, arguments = classifier_arguments(config)
    assert preset == "tiny" and arguments["augmentation"] == "light" and arguments["freeze_epochs"] == 0
    assert list(arguments["image_size"]) == [12, 12] and "class_names" not in arguments


def test_class_weight_reaches_fit(tmp_path, monkeypatch):
    received = {}

    class Stop(Exception):
        pass

    def fake_fit(self, data, **kwargs):
        received.update(kwargs)
        raise Stop

    monkeypatch.setattr(Classifier, "fit", fake_fit)
    train = make_images(tmp_path / "data", {"cat": (60, 6), "dog": (190, 3)})
    for class_weight, expected in (("balanced", "balanced"), ({"dog": 3.0}, {0: 1.0, 1: 3.0})):
        config = runs.resolve_train_config(
            "image",
            {
                "train": str(train),
                "out": str(tmp_path / "run"),
                "class_weight": class_weight,
                "val_fraction": 0.3,
            },
            settings=["image_size=[12,12]"],
        )
        with pytest.raises(Stop):
            runs.train_run(config, verbose=0)
        assert received["class_weight"] == expected
    with pytest.raises(ConfigError, match="class_weight\\['dog'\\] must be a positive number"):
        runs.resolve_train_config("image", {"train": str(train), "out": "r", "class_weight": {"dog": -1}})


def test_warm_start_options_are_refused_or_explained(tmp_path, source_run, caplog):
    import fcntl
    import logging

    base = {"train": str(tmp_path), "out": str(tmp_path / "r")}
    # The schedule of a warm start, without a warm start.
    with pytest.raises(
        ConfigError, match="--freeze-epochs sets the schedule of a warm start: give --init-from"
    ):
        runs.resolve_train_config("image", dict(base, freeze_epochs=2))
    with pytest.raises(ConfigError, match="--fine-tune-learning-rate sets the schedule of a warm start"):
        runs.resolve_train_config("image", dict(base, fine_tune_learning_rate=1e-4))

    # The source's input size is used, and said; another explicit size is refused before any data is read.
    config = runs.resolve_train_config("image", dict(base, init_from=str(source_run)))
    with caplog.at_level(logging.INFO, logger="mmcnn.runs"):
        classifier_arguments(config)
    [line] = [r.getMessage() for r in caplog.records if "--init-from" in r.getMessage()]
    assert "the new data is prepared as the source's was" in line and "image_size=[12, 12]" in line
    config = runs.resolve_train_config(
        "image", dict(base, init_from=str(source_run)), settings=["image_size=[32,32]"]
    )
    with pytest.raises(
        ConfigError, match=r"trained with image_size=\[12, 12\], this run sets image_size=\[32, 32\]"
    ):
        classifier_arguments(config)

    # A run that another process is still training, before its first epoch ends.
    training = tmp_path / "training"
    training.mkdir()
    with open(training / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write("pid 12345\n")
        handle.flush()
        with pytest.raises(ConfigError, match=r"the run is still training \(pid 12345\)"):
            runs.resolve_train_config("image", dict(base, init_from=str(training)))
    # Once that process has ended, the same folder is one without a trained model.
    with pytest.raises(ConfigError, match="the directory holds no trained model"):
        runs.resolve_train_config("image", dict(base, init_from=str(training)))


def test_a_failed_embeddings_write_names_the_users_path(tmp_path):
    from mmcnn.runs.predict import write_embeddings

    target = tmp_path / "missing" / "x.npy"
    with pytest.raises(FileNotFoundError) as caught:
        write_embeddings(str(target), ["a.png"], np.zeros((1, 4), "float32"))
    assert str(target) in str(caught.value) and "does not exist" in str(caught.value)
    assert ".tmp" not in str(caught.value)
