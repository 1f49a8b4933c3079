"""The demo's int8 LiteRT step on a tiny real run: checked on the held-out validation split, and what it
prints about the file (agreement, the runtimes it was checked in)."""

import json

import numpy as np
import pytest
from PIL import Image

from mmcnn import demo
from mmcnn.export.edge import DOCUMENT_KEY
from mmcnn.export.litert import read_litert_metadata
from mmcnn.models.classifier import load
from mmcnn.runs import train_run


def _images(root, per_class):
    rng = np.random.default_rng(0)
    for name, base in (("dark", 60), ("bright", 190)):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(base, 30, (16, 16)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / f"{i}.png")
    return str(root)


@pytest.mark.slow
def test_demo_int8_file_is_checked_on_the_validation_split_and_says_where(tmp_path):
    run_dir = str(tmp_path / "run")
    config = {
        "modality": "image",
        "train": _images(tmp_path / "train", 20),
        "val": None,
        "test": _images(tmp_path / "test", 4),
        "out": run_dir,
        "preset": "tiny",
        "epochs": 1,
        "batch_size": 8,
        "seed": 0,
        "on_error": "skip",
        "val_fraction": 0.25,
        "classifier": {"image_size": [16, 16], "channels": 1, "augmentation": "none"},
    }
    train_run(config, overwrite=True, verbose=0)
    clf = load(f"{run_dir}/model.keras")
    lite = demo.litert_int8(clf, run_dir, config)

    document = json.loads(read_litert_metadata(lite["model_file"])[DOCUMENT_KEY])
    # 10 of the 40 training images are the run's validation split; the check drew those, not the 40.
    assert document["agreement"]["examples"] == 10
    lines = demo.litert_lines(lite)
    assert lines[0].startswith("int8 LiteRT file (") and lite["model_file"] in lines[0]
    assert lines[1:] == lite["check_lines"] and "int8 .tflite file" in lines[1]
    assert lines[-1].startswith("checked in: LiteRT interpreter")
    assert lines[-1] == "checked in: " + ", ".join(document["checked_in"])
