"""The demo data shipped in `mmcnn/demo_data/` is there and is what its README says.

Reads real files only; no TensorFlow import (the package is located, not imported), except
the check that `mmcnn.multimodal.read_table` reads the demo table as intended.
"""

import importlib.util
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

WORDS = {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"}
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]  # fmt: skip
TEXT_CLASSES = {
    "bofh-excuses", "computers", "definitions", "men-women",
    "politics", "science", "songs-poems", "zippy",
}  # fmt: skip
APP_CLASSES = {
    "AudioVideo", "Development", "Education", "Game", "Graphics",
    "Network", "Office", "Science", "System", "Utility",
}  # fmt: skip
TABLE_COLUMNS = ["icon", "text", "installed_size_kb", "depends", "section", "label"]


def _demo_dir():
    # find_spec locates the installed package without running its (TensorFlow-importing) __init__.
    spec = importlib.util.find_spec("mmcnn")
    assert spec is not None and spec.submodule_search_locations, "mmcnn is not installed"
    return Path(list(spec.submodule_search_locations)[0]) / "demo_data"


DEMO = _demo_dir()


def test_total_size_is_small():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 8e6, f"demo data is {total / 1e6:.2f} MB"
    assert sum(p.stat().st_size for p in (DEMO / "audio").rglob("*") if p.is_file()) < 4.2e6
    assert sum(p.stat().st_size for p in (DEMO / "text").rglob("*") if p.is_file()) < 1e6
    assert sum(p.stat().st_size for p in (DEMO / "table").rglob("*") if p.is_file()) < 1e6


def test_readme_names_sources_and_licences():
    readme = (DEMO / "README.md").read_text()
    for needle in (
        "Fashion-MNIST",
        "MIT",
        "espeak-ng",
        "GPL-3.0",
        "fortunes",
        "BSD",
        "AppStream",
        "CC0-1.0",
        "bench.data.make_demo_data",
    ):
        assert needle in readme


def test_image_subset_shapes_and_classes():
    with np.load(DEMO / "image" / "fashion_mnist_subset.npz", allow_pickle=False) as data:
        assert sorted(data.files) == ["class_names", "x_test", "x_train", "y_test", "y_train"]
        x_train, y_train = data["x_train"], data["y_train"]
        x_test, y_test = data["x_test"], data["y_test"]
        assert data["class_names"].tolist() == FASHION_CLASSES
    assert x_train.shape == (3000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (1000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.shape == (3000,) and y_test.shape == (1000,)
    assert np.bincount(y_train, minlength=10).tolist() == [300] * 10
    assert np.bincount(y_test, minlength=10).tolist() == [100] * 10
    # Real pictures, not blank arrays.
    assert 50 < x_train.mean() < 110 and x_train.max() == 255


@pytest.fixture(scope="module")
def manifest():
    return pd.read_csv(DEMO / "audio" / "manifest.csv")


def test_audio_manifest_matches_files(manifest):
    assert {"path", "label", "voice", "split"} <= set(manifest.columns)
    on_disk = {p.relative_to(DEMO / "audio").as_posix() for p in (DEMO / "audio").rglob("*.flac")}
    assert on_disk == set(manifest["path"])
    assert len(manifest) == 500
    for row in manifest.itertuples():
        # Folder layout <split>/<word>/<file>, so each split is also a class-per-folder tree.
        split, label, _ = row.path.split("/")
        assert (split, label) == (row.split, row.label)
    assert set(manifest["label"]) == WORDS
    counts = manifest.groupby(["split", "label"]).size()
    assert (counts["train"] == 40).all() and (counts["test"] == 10).all()


def test_no_test_voice_is_heard_in_training(manifest):
    train_voices = set(manifest.loc[manifest["split"] == "train", "voice"])
    test_voices = set(manifest.loc[manifest["split"] == "test", "voice"])
    assert len(train_voices) == 40 and len(test_voices) == 10
    assert not train_voices & test_voices
    # The voice is also in the file name, so the split holds without the manifest.
    for split, voices in (("train", test_voices), ("test", train_voices)):
        names = [p.name for p in (DEMO / "audio" / split).rglob("*.flac")]
        for voice in voices:
            tag = f"__{voice.replace('+', '_')}__"
            assert not any(tag in name for name in names), (split, voice)


def test_audio_clips_decode_at_16k_one_second(manifest):
    for rel in manifest["path"]:
        path = os.path.join(DEMO, "audio", rel)
        info = sf.info(path)
        assert (info.format, info.subtype) == ("FLAC", "PCM_16"), path
        assert (info.samplerate, info.channels, info.frames) == (16000, 1, 16000), path
    wave, rate = sf.read(os.path.join(DEMO, "audio", manifest["path"].iloc[0]), dtype="float32")
    assert rate == 16000 and wave.shape == (16000,)
    assert 0.2 < np.abs(wave).max() <= 1.0


def test_text_splits():
    train = pd.read_csv(DEMO / "text" / "train.csv", keep_default_na=False)
    test = pd.read_csv(DEMO / "text" / "test.csv", keep_default_na=False)
    for frame in (train, test):
        assert list(frame.columns) == ["text", "label"]
        assert set(frame["label"]) == TEXT_CLASSES
        assert (frame["text"].str.strip().str.len() > 0).all()
    assert not set(train["text"]) & set(test["text"])
    assert len(train) == 2585 and len(test) == 615
    assert train["label"].value_counts().min() >= 250
    # The "BOFH excuse #N:" header would give the label away; it is stripped.
    assert not train["text"].str.startswith("BOFH excuse").any()


def _table(split):
    return pd.read_csv(DEMO / "table" / f"{split}.csv", keep_default_na=False)


def test_table_files_and_splits():
    from PIL import Image

    train, test = _table("train"), _table("test")
    icons = set()
    for frame, per_class in ((train, 30), (test, 10)):
        assert list(frame.columns) == TABLE_COLUMNS
        assert frame["label"].value_counts().to_dict() == dict.fromkeys(APP_CLASSES, per_class)
        assert (frame["text"].str.len() > 40).all()
        for rel in frame["icon"]:
            # Relative to the CSV, inside the demo folder.
            assert not os.path.isabs(rel) and rel.startswith("icons/"), rel
            with Image.open(DEMO / "table" / rel) as image:
                assert (image.format, image.mode, image.size) == ("PNG", "RGB", (32, 32)), rel
            icons.add(rel)
    assert len(icons) == len(train) + len(test)
    on_disk = {p.relative_to(DEMO / "table").as_posix() for p in (DEMO / "table" / "icons").iterdir()}
    assert on_disk == icons
    # The same app never in both splits (the split is by source package).
    assert not set(train["text"]) & set(test["text"])


def test_table_reads_with_the_intended_kinds():
    from mmcnn.multimodal import read_table

    for split in ("train", "test"):
        table = read_table(DEMO / "table" / f"{split}.csv")
        assert table.columns == {
            "icon": "image",
            "text": "text",
            "installed_size_kb": "number",
            "depends": "number",
            "section": "category",
        }
        assert all(table.detected.values())
        assert not any(table.missing.values()) and not table.skipped
        assert set(table.class_names) == APP_CLASSES and len(table) == len(_table(split))
