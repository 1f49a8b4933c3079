"""bench/data/tuxpaint_stamps.py on a hand-made stamps folder (the Debian package is not needed)."""

import collections
import csv
import os

import numpy as np
import pytest
from PIL import Image

from bench.data import tuxpaint_stamps as ts


def _png(path, value, mode="RGBA"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    pixels = np.full((6, 9, 4), value, np.uint8)
    pixels[0, 0, 3] = 0  # one transparent pixel
    Image.fromarray(pixels, "RGBA").convert(mode).save(path)


@pytest.fixture
def stamps(tmp_path):
    root = tmp_path / "stamps"
    for i in range(8):
        _png(str(root / "animals" / "birds" / f"b{i}.png"), 10 + i)
        _png(str(root / "food" / "fruit" / "cartoon" / f"f{i}.png"), 100 + i, mode="LA")
    _png(str(root / "food" / "fruit" / "f0.png"), 200)  # the same name one folder up: another file
    _png(str(root / "food" / "fruit" / "f0_mask.png"), 201)
    _png(str(root / "food" / "copy.png"), 101, mode="LA")  # the bytes of cartoon/f1.png
    _png(str(root / "town" / "t0.png"), 50)  # too few to be a class
    (root / "animals" / "birds" / "b0.svg").write_text("<svg/>")
    (root / "animals" / "birds" / "b0.txt").write_text("a bird")
    return str(root)


def test_find_skips_svgs_masks_and_byte_identical_copies(stamps):
    found = ts.find_stamps(stamps)
    names = [(category, relative) for category, relative, _, _ in found]
    assert ("food", "fruit/f0.png") in names and ("food", "fruit/cartoon/f0.png") in names
    assert not [n for n in names if n[1].endswith(("_mask.png", ".svg", ".txt"))]
    assert (("food", "copy.png") in names) != (("food", "fruit/cartoon/f1.png") in names)
    assert len(found) == 8 + 9 + 1


def test_split_is_stratified_seeded_and_keeps_large_classes(stamps):
    found = ts.find_stamps(stamps)
    rows = ts.split_stamps(found, seed=0, min_class_files=5)
    counts = collections.Counter((row[0], row[4]) for row in rows)
    assert counts == {
        ("animals", "train"): 6,
        ("animals", "test"): 2,
        ("food", "train"): 6,
        ("food", "test"): 3,
    }
    tests = {
        seed: {row[1] for row in ts.split_stamps(found, seed, 5) if row[4] == "test"} for seed in range(4)
    }
    assert tests[0] == {row[1] for row in rows if row[4] == "test"}  # deterministic
    assert len({frozenset(t) for t in tests.values()}) > 1  # the seed moves it


def test_written_files_are_byte_copies_with_flat_unique_names(stamps, tmp_path):
    out = str(tmp_path / "out")
    records = ts.build_stamps(out, seed=1, root=stamps, min_class_files=5)
    files = sorted(r["file"] for r in records)
    assert len(files) == len(set(files)) == 17
    assert {f.split(os.sep)[0] for f in files} == {"train", "test"}
    by_source = {r["source"]: r for r in records}
    source = os.path.join(stamps, "food", "fruit", "cartoon", "f3.png")
    record = by_source[source]
    assert os.path.basename(record["file"]) == "fruit-cartoon-f3.png"
    with open(source, "rb") as a, open(os.path.join(out, record["file"]), "rb") as b:
        assert a.read() == b.read()
    assert (record["mode"], record["width"], record["height"]) == ("LA", 9, 6)
    with open(os.path.join(out, "sources.csv"), encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 17
    assert ts.hidden_colours(records, out) == {"other colours": 17}
    assert ts.describe(records)[-1].startswith("size (height x width): median 6x9")


def test_a_missing_folder_names_the_package(tmp_path):
    with pytest.raises(ts.MissingStamps, match="tuxpaint-stamps-default.*bench/setup.sh"):
        ts.find_stamps(str(tmp_path / "nowhere"))
