"""Tests for mmcnn.text.text_data: folders of .txt files, CSV / DataFrame manifests, lists."""

import doctest
import logging
import os

import numpy as np
import pandas as pd
import pytest

import mmcnn.text.text_data as text_data
from mmcnn.data import DataError
from mmcnn.text import from_arrays, from_dataframe, from_directory


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


@pytest.fixture
def text_tree(tmp_path):
    root = tmp_path / "texts"
    write(str(root / "good" / "a.txt"), "a fine day ☀".encode())
    write(str(root / "good" / "b.txt"), b"\xef\xbb\xbfwith a byte-order mark")
    write(str(root / "bad" / "a.txt"), b"broken \xff\xfe bytes")
    write(str(root / "bad" / "empty.txt"), b"")
    write(str(root / "bad" / "notes.md"), b"not a .txt file")
    return root


def test_from_directory_reads_replaces_invalid_utf8_and_keeps_empty(text_tree):
    data = from_directory(text_tree, verbose=0)
    assert data.kind == "texts"
    assert data.class_names == ["bad", "good"]
    assert data.inputs == ["broken \ufffd\ufffd bytes", "", "a fine day ☀", "with a byte-order mark"]
    assert data.labels.tolist() == [0, 0, 1, 1]
    assert data.skipped == []
    assert data.sources[0].endswith(os.path.join("bad", "a.txt"))
    # The repair is counted; the .md file is left out and counted by extension.
    assert data.repaired_texts == 1 and data.ignored_files == {".md": 1}


def test_from_directory_skips_or_names_unreadable_file(text_tree):
    broken = text_tree / "good" / "gone.txt"
    os.symlink(text_tree / "nowhere.txt", broken)  # a dangling link: listed but unreadable
    data = from_directory(text_tree, verbose=0)
    assert len(data) == 4
    assert len(data.skipped) == 1 and data.skipped[0][0] == str(broken)
    with pytest.raises(DataError, match="gone.txt"):
        from_directory(text_tree, on_error="raise", verbose=0)


def test_from_directory_class_names(text_tree):
    data = from_directory(text_tree, class_names=["good", "bad"], verbose=0)
    assert data.class_names == ["good", "bad"]
    assert data.labels.tolist() == [1, 1, 0, 0]
    with pytest.raises(DataError, match="neutral"):
        from_directory(text_tree, class_names=["good", "bad", "neutral"], verbose=0)
    with pytest.raises(DataError, match="not in class_names"):
        from_directory(text_tree, class_names=["good"], verbose=0)
    with pytest.raises(ValueError, match="on_error"):
        from_directory(text_tree, on_error="ignore", verbose=0)


def test_from_directory_missing_folder(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        from_directory(tmp_path / "missing", verbose=0)


def test_from_dataframe_csv_keeps_texts_as_written(tmp_path):
    csv = tmp_path / "manifest.csv"
    write(str(csv), b'text,label\nhello world,pos\nNA,neg\n,neg\n"comma, inside",pos\nbad \xff,neg\n')
    # A manifest is the user's own table: invalid UTF-8 in it stops, naming the row and byte.
    with pytest.raises(DataError, match=r"row 5 \(byte 63: 0xFF\) is not valid UTF-8; pass encoding="):
        from_dataframe(csv, verbose=0)
    write(str(csv), b'text,label\nhello world,pos\nNA,neg\n,neg\n"comma, inside",pos\nbad,neg\n')
    data = from_dataframe(csv, verbose=0)
    assert data.class_names == ["neg", "pos"]
    # "NA" stays a text; an empty text cell is a missing cell, skipped and counted by row.
    assert data.inputs == ["hello world", "NA", "comma, inside", "bad"]
    assert data.labels.tolist() == [1, 0, 1, 0]
    assert data.skipped == [(f"{csv} row 3", "missing text")]
    assert data.sources[2] == f"{csv} row 4"


def test_from_dataframe_csv_reports_bad_rows_by_number(tmp_path):
    csv = tmp_path / "bad.csv"
    write(str(csv), b"text,label\nfine,pos\nno label,\nfine,pos\nok,neg\n,neg\n")
    # Empty cells follow on_error like broken files; a repeated row is data, kept and counted.
    data = from_dataframe(csv, verbose=0)
    assert data.inputs == ["fine", "fine", "ok"] and data.duplicate_rows == 1
    assert data.skipped == [(f"{csv} row 2", "missing label"), (f"{csv} row 5", "missing text")]
    with pytest.raises(DataError) as info:
        from_dataframe(csv, on_error="raise", verbose=0)
    message = str(info.value)
    assert message.startswith(str(csv))
    assert "row 2: missing label" in message and "row 5: missing text" in message
    assert "duplicate" not in message
    with pytest.raises(DataError, match=r"missing column\(s\) \['label'\]"):
        from_dataframe(pd.DataFrame({"text": ["a"], "class": ["x"]}))
    with pytest.raises(DataError, match="manifest not found"):
        from_dataframe(tmp_path / "missing.csv")


def test_repeated_descriptions_are_data_and_empty_cells_are_skipped(tmp_path, caplog):
    # Several items share a description: a real manifest trains, repeats counted, not refused.
    caplog.set_level(logging.WARNING, logger="mmcnn")
    csv = tmp_path / "train.csv"
    rows = ["A Christmas tree.,decor", "A red ball.,toy", "A Christmas tree.,decor", ",toy", "A kite.,"]
    write(str(csv), ("text,label\n" + "\n".join(rows * 2) + "\n").encode())
    data = from_dataframe(csv, verbose=0)
    assert len(data) == 6 and data.duplicate_rows == 4 and data.dropped_duplicates == 0
    assert [source for source, _ in data.skipped] == [f"{csv} row {r}" for r in (4, 5, 9, 10)]
    assert data.data_report()["duplicate_rows"] == 4
    assert f"{csv}: skipping 4 row(s) with an empty or missing cell: row 4: missing text" in caplog.text
    dropped = from_dataframe(csv, verbose=0, duplicates="drop")
    assert dropped.inputs == ["A Christmas tree.", "A red ball."] and dropped.dropped_duplicates == 4
    with pytest.raises(ValueError, match="duplicates"):
        from_dataframe(csv, verbose=0, duplicates="remove")
    with pytest.raises(DataError, match=r"4 bad row\(s\): row 4: missing text; row 5: missing label"):
        from_dataframe(csv, verbose=0, on_error="raise")


def test_from_dataframe_class_names_and_columns():
    frame = pd.DataFrame({"body": ["up", "down", "up again", None], "y": ["u", "d", "u", "d"]})
    with pytest.raises(DataError, match="row 4: missing body"):
        from_dataframe(frame, text_column="body", label_column="y", on_error="raise")
    frame = frame.iloc[:3]
    data = from_dataframe(frame, text_column="body", label_column="y", class_names=["u", "d"])
    assert data.class_names == ["u", "d"] and data.labels.tolist() == [0, 1, 0]
    assert data.sources == ["manifest row 1", "manifest row 2", "manifest row 3"]
    with pytest.raises(DataError, match=r"row 2: label 'd'"):
        from_dataframe(frame, text_column="body", label_column="y", class_names=["u", "x"])
    with pytest.raises(DataError, match=r"classes \['x'\] in class_names have no rows"):
        from_dataframe(frame, text_column="body", label_column="y", class_names=["u", "d", "x"])


def test_from_arrays():
    data = from_arrays(["good", b"bad \xff", ""], np.array([1, 0, 0]), class_names=["neg", "pos"])
    assert data.inputs == ["good", "bad \ufffd", ""]
    assert data.class_names == ["neg", "pos"] and data.labels.tolist() == [1, 0, 0]
    series = from_arrays(pd.Series(["x", "y"]), pd.Series(["b", "a"]))
    assert series.class_names == ["a", "b"] and series.labels.tolist() == [1, 0]
    with pytest.raises(ValueError, match=r"`texts\[1\]` must be a string"):
        from_arrays(["fine", 3.5], [0, 1])
    with pytest.raises(ValueError, match="not one string"):
        from_arrays("one text", [0])
    with pytest.raises(ValueError, match="2 texts but `labels` has 3"):
        from_arrays(["a", "b"], ["x", "y", "x"])


def test_docstrings_run():
    result = doctest.testmod(text_data, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
