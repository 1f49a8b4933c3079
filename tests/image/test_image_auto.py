"""`image_size="auto"` and `channels="auto"`: the input follows the training pictures."""

import json

import numpy as np
import pytest
from PIL import Image

import mmcnn.image as mi
from mmcnn.image.image_auto import choose_size, stem_stride, survey_pictures
from mmcnn.inspect import total_macs
from mmcnn.models.classifier import load
from mmcnn.runs import train_run


def _folder(root, size, mode, per_class=3):
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            shape = (size[0], size[1], 3) if mode == "RGB" else size
            pixels = rng.integers(0, 255, shape, dtype="uint8")
            Image.fromarray(pixels).convert(mode).save(root / name / f"{size[0]}x{size[1]}-{i}.png")
    return root


def test_grey_28x28_arrays_build_a_28x28x1_model_that_saves_its_size(tmp_path):
    data = mi.from_arrays(np.random.default_rng(0).integers(0, 255, (8, 28, 28)), [0, 1] * 4)
    clf = mi.ImageClassifier(preset="tiny")
    clf.prepare(data)
    assert clf.model.input_shape == (None, 28, 28, 1)
    assert clf.input_used["image_size"] == [28, 28] and clf.input_used["channels"] == 1
    assert "8 of 8 sampled pictures are 28x28" in clf.input_used["image_size_reason"]
    assert "grey" in clf.input_used["channels_reason"]
    clf.save(tmp_path / "m.keras")
    loaded = load(tmp_path / "m.keras")
    assert loaded.image_size == (28, 28) and loaded.channels == 1
    assert loaded.model.metadata["config"]["image_size"] == [28, 28]
    assert loaded.model.metadata["input"]["channels"] == 1
    # An RGB array whose three channels are equal is grey too.
    rgb_grey = np.repeat(np.asarray(data.inputs), 3, axis=-1)
    assert survey_pictures(mi.from_arrays(rgb_grey, [0, 1] * 4))[1] is True


def test_files_are_surveyed_from_their_headers(tmp_path):
    grey = _folder(tmp_path / "grey", (20, 24), "L")
    _folder(grey, (40, 40), "P")  # a palette picture of grey values: grey
    sizes, is_grey = survey_pictures(mi.from_directory(grey, verbose=0))
    assert sorted(set(sizes)) == [(20, 24), (40, 40)] and is_grey
    clf = mi.ImageClassifier(preset="tiny")
    clf.prepare(mi.from_directory(grey, verbose=0))
    # Half the pictures are 20x24: the most common size, rounded to what the strides divide (4).
    assert clf.image_size == (20, 24) and clf.channels == 1
    colour = _folder(tmp_path / "colour", (20, 24), "RGB")
    clf = mi.ImageClassifier(preset="tiny")
    clf.prepare(mi.from_directory(colour, verbose=0))
    assert clf.model.input_shape == (None, 20, 24, 3)


def test_explicit_values_win_and_no_data_keeps_the_fallback():
    data = mi.from_arrays(np.zeros((4, 28, 28), "uint8"), [0, 1, 0, 1])
    clf = mi.ImageClassifier(image_size=(16, 16), preset="tiny")
    clf.prepare(data)
    assert clf.model.input_shape == (None, 16, 16, 1)
    clf = mi.ImageClassifier(channels=3, preset="tiny")
    clf.prepare(data)
    assert clf.model.input_shape == (None, 28, 28, 3)
    assert mi.ImageClassifier(num_classes=2, preset="tiny").model.input_shape == (None, 32, 32, 3)


def test_large_pictures_get_a_striding_stem_within_the_budget():
    compact = mi.ImageClassifier().preset_config
    # 100x100: the stem strides 3, the size is rounded to a multiple of 3 * 4.
    assert choose_size([(100, 100)] * 3, compact)[0] == (96, 96) and stem_stride((96, 96)) == 3
    # 600x400 photos: shrunk to the budget's 128x128 area, aspect kept.
    size, reason = choose_size([(600, 400), (610, 400), (590, 400)], compact)
    assert size[0] * size[1] <= 128 * 128 and size[0] > size[1] and "median" in reason and "budget" in reason
    pictures = np.random.default_rng(0).integers(0, 255, (4, 96, 96, 3))
    clf = mi.ImageClassifier(preset="tiny")  # tiny: a stem stride of up to 2, 64x64 at most
    clf.prepare(mi.from_arrays(pictures, [0, 1, 0, 1]))
    assert clf.image_size == (64, 64) and clf.channels == 3
    assert clf.model.get_layer("adapter").strides == 2
    base = mi.ImageClassifier(num_classes=2, image_size=(32, 32), channels=3, preset="tiny").model
    assert total_macs(clf.model) <= 1.25 * total_macs(base)


@pytest.mark.slow
def test_a_run_records_and_prints_the_decision(tmp_path, caplog):
    config = {
        "modality": "image",
        "train": str(_folder(tmp_path / "train", (28, 28), "L", per_class=6)),
        "val": None,
        "test": None,
        "out": str(tmp_path / "run"),
        "preset": "tiny",
        "epochs": 1,
        "batch_size": 4,
        "seed": 0,
        "on_error": "skip",
        "val_fraction": 0.25,
        "classifier": {"augmentation": "none"},
    }
    with caplog.at_level("INFO", logger="mmcnn.runs"):
        metrics = train_run(config, overwrite=True, verbose=0)
    assert metrics["input"]["image_size"] == [28, 28] and metrics["input"]["channels"] == 1
    with open(tmp_path / "run" / "metrics.json") as f:
        assert json.load(f)["input"]["channels"] == 1
    assert load(tmp_path / "run" / "model.keras").model.input_shape == (None, 28, 28, 1)
    assert "input: " in caplog.text and "image_size=[28, 28]" in caplog.text


def test_a_warm_start_takes_its_sources_size(tmp_path):
    source = mi.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
    source.save(tmp_path / "source.keras")
    clf = mi.ImageClassifier(preset="tiny", init_from=str(tmp_path / "source.keras"))
    clf.prepare(mi.from_arrays(np.random.default_rng(0).integers(0, 255, (4, 40, 40, 3)), [0, 1, 0, 1]))
    # The size must match the source's; the channels follow the data (the stem is adapted).
    assert clf.model.input_shape == (None, 16, 16, 3)
    assert "init_from" in clf.input_used["image_size_reason"]
