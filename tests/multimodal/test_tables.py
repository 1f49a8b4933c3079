"""`read_table`: column kinds detected or given, missing cells counted by row and column."""

import pathlib
import shutil

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from mmcnn.data import DataError
from mmcnn.multimodal import read_table

DEMO = pathlib.Path(__file__).resolve().parents[2] / "mmcnn" / "demo_data"
CLIP = sorted((DEMO / "audio").rglob("*.flac"))[0]


def _write_table(tmp_path, rows):
    """A CSV in tmp_path with PNGs from the demo images and FLACs from the demo clips."""
    with np.load(DEMO / "image" / "fashion_mnist_subset.npz", allow_pickle=False) as data:
        pictures = data["x_train"][:4]
    (tmp_path / "media").mkdir()
    for i, picture in enumerate(pictures):
        Image.fromarray(picture).save(tmp_path / "media" / f"p{i}.png")
        shutil.copy(CLIP, tmp_path / "media" / f"c{i}{CLIP.suffix}")
    path = tmp_path / "items.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


ROWS = {
    "photo": ["media/p0.png", "media/p1.png", "", "media/gone.png", "media/p3.png", "media/p0.png"],
    "call": [f"media/c{i % 4}{CLIP.suffix}" for i in range(6)],
    "title": ["a red coat", "blue shoes", "a bag", "green socks", "", "a hat"],
    "hour": ["6", "7.5", "", "9", "10", "11"],
    "size": ["S", "L", "S", "L", "S", "L"],
    "label": ["coat", "shoe", "bag", "sock", "coat", "hat"],
}


def test_kinds_are_detected_and_paths_resolved_relative_to_the_csv(tmp_path):
    path = _write_table(tmp_path, ROWS)
    table = read_table(str(path))
    assert table.columns == {
        "photo": "image",
        "call": "audio",
        "title": "text",
        "hour": "number",
        "size": "category",
    }
    assert all(table.detected.values())
    assert table.path_columns == ["photo", "call"]
    assert table.values["photo"][:3] == [
        str(tmp_path / "media" / "p0.png"),
        str(tmp_path / "media" / "p1.png"),
        None,
    ]
    assert table.values["hour"] == [6.0, 7.5, None, 9.0, 10.0, 11.0]
    assert table.values["title"][4] is None and table.values["title"][0] == "a red coat"
    assert table.labels == ROWS["label"] and table.class_names == ["bag", "coat", "hat", "shoe", "sock"]
    assert table.rows == [1, 2, 3, 4, 5, 6]
    np.testing.assert_array_equal(table.masks()["photo"], [1, 1, 0, 0, 1, 1])


def test_a_missing_file_is_a_missing_cell_named_by_row_and_column(tmp_path):
    table = read_table(_write_table(tmp_path, ROWS))
    gone = str(tmp_path / "media" / "gone.png")
    assert table.missing["photo"] == [(3, "empty cell"), (4, f"file not found: {gone}")]
    assert table.missing["call"] == []
    summary = table.summary()
    assert "photo: image (detected), 2 missing (row 3: empty cell; row 4: file not found: " in summary
    assert "hour: number (detected), 1 missing (row 3: empty cell)" in summary
    assert "call: audio (detected), 0 missing" in summary
    assert table.describe()["photo"] == {"kind": "image", "detected": True, "paths": True, "missing": 2}


def test_given_kinds_override_the_detection(tmp_path):
    path = _write_table(tmp_path, ROWS)
    table = read_table(path, columns={"size": "text", "hour": "category"})
    assert table.columns["size"] == "text" and table.columns["hour"] == "category"
    assert not table.detected["size"] and table.detected["photo"]
    assert table.values["hour"][:2] == ["6", "7.5"]
    assert "size: text (given)" in table.summary()
    only = read_table(path, columns=["photo", "hour"])
    assert list(only.columns) == ["photo", "hour"]


def test_dataframe_numbers_by_dtype_and_paths_relative_to_base_dir(tmp_path):
    _write_table(tmp_path, ROWS)
    frame = pd.DataFrame(
        {"photo": ["media/p0.png", "media/p1.png"], "hour": [6, np.nan], "label": ["a", "b"]}
    )
    frame["hour"] = frame["hour"].astype("Int64")  # a nullable integer: the missing cell is pd.NA
    table = read_table(frame, base_dir=str(tmp_path))
    assert table.columns == {"photo": "image", "hour": "number"}
    assert table.values["hour"] == [6.0, None]
    assert table.values["photo"][1] == str(tmp_path / "media" / "p1.png")
    assert table.source == "manifest"


def test_multi_label_and_empty_label_rows(tmp_path):
    frame = pd.DataFrame({"title": ["x y", "y z", "z w"], "label": ["cat;dog", "", "dog"]})
    table = read_table(frame)
    assert table.multi_label and table.labels == [("cat", "dog"), ("dog",)]
    assert table.skipped == [(2, "empty label in column 'label'")] and table.rows == [1, 3]


def test_bad_input_is_named(tmp_path):
    path = _write_table(tmp_path, ROWS)
    with pytest.raises(DataError, match=r"items.csv: no label column 'kind'; its columns: \['photo'"):
        read_table(path, label_column="kind")
    with pytest.raises(ValueError, match=r"gives column 'photo' the unknown kind 'picture'; kinds: \["):
        read_table(path, columns={"photo": "picture"})
    with pytest.raises(DataError, match=r"names column\(s\) \['colour'\] that the table lacks"):
        read_table(path, columns={"colour": "text"})
    with pytest.raises(DataError, match=r"items.csv row 1, column 'size': 'S' is not a number"):
        read_table(path, columns={"size": "number"})
    empty = pd.DataFrame({"note": ["", ""], "label": ["a", "b"]})
    with pytest.raises(DataError, match="column 'note' has no value to detect its kind from"):
        read_table(empty)
