"""Labelled images from folders, manifests and arrays, read through the classifier's tf.data path.

Real files written with PIL into pytest's tmp_path; no mocks.
"""

import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import mmcnn.image as mi
from mmcnn.data import DataError

SIZE = (16, 16)


def write_image(path, array, fmt=None, **save_kwargs):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(np.asarray(array, np.uint8)).save(path, fmt, **save_kwargs)
    return str(path)


def write_gif(path, first, second):
    # A two-frame animation: only the first frame must be read.
    os.makedirs(os.path.dirname(path), exist_ok=True)
    frames = [Image.fromarray(np.asarray(f, np.uint8)).convert("P") for f in (first, second)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return str(path)


def pixels(data, clf):
    """All model inputs and labels of `data`, in order, through the classifier's pipeline."""
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in clf.make_dataset(data, batch_size=64)])
    return np.concatenate(xs), np.concatenate(ys)


def mixed_formats_tree(root):
    """Two classes, four formats, grey and colour: PNG (RGB), JPEG (grey), BMP (RGB), GIF (animated)."""
    bright, dark = np.full(SIZE, 230, np.uint8), np.full(SIZE, 20, np.uint8)
    write_image(root / "bright" / "a.png", np.stack([bright] * 3, -1))
    write_image(root / "bright" / "b.jpg", bright, quality=95)
    write_image(root / "bright" / "c.bmp", np.stack([bright] * 3, -1))
    write_gif(root / "bright" / "d.gif", bright, dark)
    write_image(root / "dark" / "a.png", dark)
    write_image(root / "dark" / "b.jpeg", np.stack([dark] * 3, -1), quality=95)
    write_image(root / "dark" / "c.bmp", dark)
    write_gif(root / "dark" / "d.gif", dark, bright)
    return root


def test_from_directory_reads_every_format_grey_and_colour(tmp_path):
    root = mixed_formats_tree(tmp_path / "images")
    data = mi.from_directory(root, verbose=0)
    assert data.class_names == ["bright", "dark"]
    assert len(data) == 8 and data.kind == "files" and data.skipped == []
    assert data.labels.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    for channels in (1, 3):
        clf = mi.ImageClassifier(class_names=data.class_names, image_size=SIZE, channels=channels)
        x, y = pixels(data, clf)
        assert x.shape == (8, *SIZE, channels) and x.dtype == np.float32
        assert y.tolist() == data.labels.tolist()
        # Every format (GIF: its first frame) decodes to the colour it was written with.
        means = x.reshape(8, -1).mean(axis=1)
        np.testing.assert_allclose(means[:4], 230, atol=3)
        np.testing.assert_allclose(means[4:], 20, atol=3)


def test_explicit_class_order_is_kept(tmp_path):
    root = mixed_formats_tree(tmp_path / "images")
    data = mi.from_directory(root, class_names=["dark", "bright"], verbose=0)
    assert data.class_names == ["dark", "bright"]
    assert sorted(data.labels.tolist()) == [0, 0, 0, 0, 1, 1, 1, 1]
    assert data.labels[0] == 1  # bright/a.png comes first on disk and is class 1 now


def test_corrupt_files_are_skipped_and_counted_or_named(tmp_path):
    root = tmp_path / "images"
    for i in range(3):
        write_image(root / "a" / f"{i}.png", np.full(SIZE, 10 * i))
        write_image(root / "b" / f"{i}.png", np.full(SIZE, 200))
    good = (root / "a" / "0.png").read_bytes()
    truncated = root / "a" / "truncated.png"
    truncated.write_bytes(good[: len(good) // 2])
    garbage = root / "b" / "garbage.jpg"
    garbage.write_bytes(b"this is not an image" * 10)
    empty = root / "b" / "empty.bmp"
    empty.write_bytes(b"")

    data = mi.from_directory(root, verbose=0)
    assert len(data) == 6
    assert sorted(source for source, _ in data.skipped) == sorted(map(str, (truncated, garbage, empty)))
    assert all(reason for _, reason in data.skipped)
    # The skipped files are really gone from the pipeline.
    clf = mi.ImageClassifier(class_names=data.class_names, image_size=SIZE, channels=1)
    assert pixels(data, clf)[0].shape[0] == 6

    with pytest.raises(DataError, match="truncated.png"):
        mi.from_directory(root, on_error="raise", verbose=0)
    with pytest.raises(ValueError, match="on_error"):
        mi.from_directory(root, on_error="ignore", verbose=0)


@pytest.mark.parametrize("mode", ["crop", "pad", "stretch"])
def test_mixed_sizes_are_resized(tmp_path, mode):
    root = tmp_path / "images"
    sizes = [(16, 16), (20, 40), (40, 20), (9, 13), (64, 48)]
    for i, (h, w) in enumerate(sizes):
        write_image(root / ("wide" if w > h else "other") / f"{i}.png", np.full((h, w, 3), 200))
    data = mi.from_directory(root, verbose=0)
    clf = mi.ImageClassifier(class_names=data.class_names, image_size=SIZE, channels=3, resize_mode=mode)
    x, _ = pixels(data, clf)
    assert x.shape == (len(sizes), *SIZE, 3)
    wide = x[data.labels == data.class_names.index("wide")][0]  # the 20x40 image
    if mode == "pad":
        # A 1:2 image fits as 8x16, centred: 4 rows of zeros above and below.
        assert np.all(wide[:4] == 0) and np.all(wide[-4:] == 0)
        np.testing.assert_allclose(wide[5:11], 200, atol=1e-3)
    else:
        np.testing.assert_allclose(wide, 200, atol=1e-3)


def test_missing_and_empty_class_folders_are_errors(tmp_path):
    root = tmp_path / "images"
    write_image(root / "cat" / "0.png", np.zeros(SIZE))
    write_image(root / "dog" / "0.png", np.zeros(SIZE))
    with pytest.raises(DataError, match=r"\['bird'\].*no folder"):
        mi.from_directory(root, class_names=["cat", "dog", "bird"], verbose=0)
    with pytest.raises(DataError, match="dog"):
        mi.from_directory(root, class_names=["cat"], verbose=0)
    with pytest.raises(DataError, match="not a directory"):
        mi.from_directory(tmp_path / "nowhere", verbose=0)
    os.makedirs(root / "empty")
    (root / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError, match="class 'empty' has no files"):
        mi.from_directory(root, verbose=0)


def manifest_files(tmp_path):
    root = tmp_path / "data"
    rows = []
    for i in range(3):
        rows.append((write_image(root / "img" / f"light{i}.png", np.full(SIZE, 220)), "light"))
        rows.append((write_image(root / "img" / f"shade{i}.jpg", np.full(SIZE, 30)), "shade"))
    return root, rows


def test_manifest_csv_with_relative_and_absolute_paths(tmp_path):
    root, rows = manifest_files(tmp_path)
    # Half the rows relative to the CSV's folder, half absolute.
    lines = ["path,label"] + [
        f"{os.path.relpath(p, root) if i % 2 else p},{label}" for i, (p, label) in enumerate(rows)
    ]
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    data = mi.from_dataframe(root / "manifest.csv", verbose=0)
    assert data.class_names == ["light", "shade"] and len(data) == 6
    assert all(os.path.isabs(p) for p in data.inputs)
    clf = mi.ImageClassifier(class_names=data.class_names, image_size=SIZE, channels=1)
    x, y = pixels(data, clf)
    np.testing.assert_allclose(x[y == 0].mean(), 220, atol=3)
    np.testing.assert_allclose(x[y == 1].mean(), 30, atol=3)

    frame = pd.DataFrame(rows, columns=["path", "label"])
    from_frame = mi.from_dataframe(frame, class_names=["shade", "light"], verbose=0)
    assert from_frame.class_names == ["shade", "light"]
    assert from_frame.labels.tolist() == [1, 0, 1, 0, 1, 0]


def test_manifest_errors_name_rows(tmp_path):
    root, rows = manifest_files(tmp_path)
    frame = pd.DataFrame(rows, columns=["path", "label"])
    with pytest.raises(DataError, match=r"missing column\(s\) \['label'\]"):
        mi.from_dataframe(frame.rename(columns={"label": "class"}), verbose=0)
    with pytest.raises(DataError, match=r"row 2: label 'shade'.*row 4: label 'shade'"):
        mi.from_dataframe(frame, class_names=["light", "dark"], verbose=0)
    with pytest.raises(DataError, match=r"\['dark'\] in class_names have no rows"):
        mi.from_dataframe(frame, class_names=["light", "shade", "dark"], verbose=0)
    missing = frame.copy()
    missing.loc[3, "path"] = str(root / "img" / "gone.png")
    with pytest.raises(DataError, match=r"row 4: file not found: .*gone.png"):
        mi.from_dataframe(missing, verbose=0)
    duplicated = pd.concat([frame, frame.iloc[[0]]], ignore_index=True)
    data = mi.from_dataframe(duplicated, verbose=0)
    assert len(data) == 7 and data.duplicate_rows == 1
    # CSV rows are counted the same way (data rows, after the header).
    csv = root / "bad.csv"
    frame.assign(label=["light", "", "shade", "light", "shade", "light"]).to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"bad.csv: .*row 2: missing label"):
        mi.from_dataframe(csv, verbose=0, on_error="raise")
    data = mi.from_dataframe(csv, verbose=0)
    assert len(data) == 5 and data.skipped == [(f"{csv} row 2", "missing label")]


def test_manifest_corrupt_file_is_skipped_or_named(tmp_path):
    root, rows = manifest_files(tmp_path)
    bad = root / "img" / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    frame = pd.DataFrame(rows + [(str(bad), "light")], columns=["path", "label"])
    data = mi.from_dataframe(frame, verbose=0)
    assert len(data) == 6 and [s for s, _ in data.skipped] == [str(bad)]
    with pytest.raises(DataError, match="bad.png"):
        mi.from_dataframe(frame, on_error="raise", verbose=0)


def test_from_arrays_grey_colour_and_string_labels():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (5, 16, 16)).astype("uint8")
    data = mi.from_arrays(grey, ["b", "a", "b", "a", "a"])
    assert data.class_names == ["a", "b"] and data.labels.tolist() == [1, 0, 1, 0, 0]
    assert data.inputs.shape == (5, 16, 16, 1) and data.kind == "arrays"
    clf = mi.ImageClassifier(class_names=data.class_names, image_size=SIZE, channels=1)
    x, y = pixels(data, clf)
    np.testing.assert_array_equal(x[..., 0], grey.astype("float32"))
    assert y.tolist() == [1, 0, 1, 0, 0]

    # Colour arrays of another size are resized and converted to grey by the pipeline.
    colour = rng.integers(0, 256, (4, 24, 20, 3)).astype("uint8")
    data = mi.from_arrays(colour, np.array([0, 1, 0, 1]), class_names=["x", "y"])
    x, _ = pixels(data, clf)
    assert x.shape == (4, *SIZE, 1)


def test_from_arrays_list_of_different_sizes():
    images = [np.full((16, 16), 50), np.full((30, 20, 3), 150), np.full((8, 40), 250)]
    data = mi.from_arrays(images, [0, 1, 1])
    clf = mi.ImageClassifier(num_classes=2, image_size=SIZE, channels=3, resize_mode="stretch")
    x, _ = pixels(data, clf)
    assert x.shape == (3, *SIZE, 3)
    np.testing.assert_allclose(x.reshape(3, -1).mean(axis=1), [50, 150, 250], atol=1e-3)


def test_from_arrays_errors():
    with pytest.raises(ValueError, match=r"x.shape=\(4, 16\)"):
        mi.from_arrays(np.zeros((4, 16)), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="3 images but `y` has 2 labels"):
        mi.from_arrays(np.zeros((3, 8, 8)), [0, 1])
    nan = np.zeros((3, 8, 8))
    nan[2, 1, 1] = np.nan
    with pytest.raises(ValueError, match=r"non-finite.*\[2\]"):
        mi.from_arrays(nan, [0, 1, 0])
    with pytest.raises(DataError, match="not in class_names"):
        mi.from_arrays(np.zeros((2, 8, 8)), ["cat", "cow"], class_names=["cat", "dog"])


# --- real users' folders: formats, whitespace, empty classes ----------------------


def test_webp_is_read_and_other_formats_are_ignored_and_counted_once(tmp_path, caplog):
    root = tmp_path / "photos"
    write_image(root / "cat" / "a.webp", np.full(SIZE, 200), "WEBP", lossless=True)
    write_image(root / "cat" / "b.png", np.full(SIZE, 200))
    write_image(root / "dog" / "a.png", np.full(SIZE, 20))
    for i in range(3):
        write_image(root / "cat" / f"IMG_{i}.tif", np.full(SIZE, 200), "TIFF")
    (root / "dog" / "IMG_9.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 32)
    (root / "dog" / "notes.txt").write_text("taken in May")
    with caplog.at_level("WARNING", logger="mmcnn"):
        data = mi.from_directory(root, verbose=0)
    assert sorted(os.path.basename(p) for p in data.inputs) == ["a.png", "a.webp", "b.png"]
    assert data.skipped == [] and data.ignored_files == {".heic": 1, ".tif": 3, ".txt": 1}
    ignored = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert len(ignored) == 3  # one line per extension, not one per file
    assert any(
        m.startswith(f"ignored 3 .tif file(s) in {root}")
        and "not a supported image format; supported: .bmp, .gif, .jpeg, .jpg, .png, .webp" in m
        for m in ignored
    )
    with pytest.raises(ValueError, match=r"`extensions` must be a subset"):
        mi.from_directory(root, extensions=(".png", ".tif"), verbose=0)


def test_manifest_rows_with_an_unsupported_format_are_skipped_or_named(tmp_path):
    # The same decision as in a folder: the one list of formats decides, per row.
    root = tmp_path / "data"
    rows = [
        (write_image(root / "a.png", np.full(SIZE, 220)), "light"),
        (write_image(root / "b.webp", np.full(SIZE, 30), "WEBP"), "shade"),
        (write_image(root / "c.tif", np.full(SIZE, 30), "TIFF"), "shade"),
    ]
    frame = pd.DataFrame(rows, columns=["path", "label"])
    data = mi.from_dataframe(frame, verbose=0)
    assert len(data) == 2 and data.class_names == ["light", "shade"]
    assert data.skipped == [
        (rows[2][0], "not a supported image format (.tif); supported: .bmp, .gif, .jpeg, .jpg, .png, .webp")
    ]
    with pytest.raises(DataError, match=r"c\.tif: not a supported image format \(\.tif\)"):
        mi.from_dataframe(frame, on_error="raise", verbose=0)


def test_folder_names_with_surrounding_whitespace_are_one_class(tmp_path, caplog):
    root = tmp_path / "images"
    write_image(root / "cat" / "0.png", np.full(SIZE, 200))
    write_image(root / "cat " / "1.png", np.full(SIZE, 200))
    write_image(root / " dog" / "0.png", np.full(SIZE, 20))
    write_image(root / "Dog" / "1.png", np.full(SIZE, 20))
    with caplog.at_level("WARNING", logger="mmcnn"):
        data = mi.from_directory(root, verbose=0)
    assert data.class_names == ["Dog", "cat", "dog"]
    assert np.bincount(data.labels).tolist() == [1, 2, 1] and data.stripped_labels == 2
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "removed surrounding whitespace from 2 label(s)" in messages
    assert "labels 'Dog' and 'dog' differ only by case" in messages
    assert mi.from_directory(root, class_names=["dog", "cat ", "Dog"], verbose=0).class_names == [
        "dog",
        "cat",
        "Dog",
    ]


def test_class_with_every_file_skipped_is_an_error_or_dropped(tmp_path, caplog):
    root = tmp_path / "images"
    for i in range(2):
        write_image(root / "cat" / f"{i}.png", np.full(SIZE, 200))
        write_image(root / "dog" / f"{i}.png", np.full(SIZE, 20))
    for i in range(3):
        (root / "bird" / f"{i}.png").parent.mkdir(exist_ok=True)
        (root / "bird" / f"{i}.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError) as info:
        mi.from_directory(root, verbose=0)
    message = str(info.value)
    assert message.startswith(f"{root}: class 'bird': all 3 images were skipped (0.png: not an image")
    assert "empty_classes='drop'" in message
    with caplog.at_level("WARNING", logger="mmcnn"):
        data = mi.from_directory(root, verbose=0, empty_classes="drop")
    assert data.class_names == ["cat", "dog"] and np.bincount(data.labels).tolist() == [2, 2]
    assert [name for name, _ in data.dropped_classes] == ["bird"]
    assert data.dropped_classes[0][1].startswith("all 3 images were skipped")
    assert len(data.skipped) == 3
    assert any("dropping class 'bird'" in r.getMessage() for r in caplog.records)
    assert data.data_report()["dropped_classes"] == [list(data.dropped_classes[0])]
    # An empty folder is the same case: an error by default, dropped on request.
    os.makedirs(root / "fish")
    with pytest.raises(DataError, match="class 'fish' has no files"):
        mi.from_directory(root, verbose=0)
    data = mi.from_directory(root, verbose=0, empty_classes="drop")
    assert [name for name, _ in data.dropped_classes] == ["fish", "bird"]
    with pytest.raises(ValueError, match="`empty_classes` must be one of"):
        mi.from_directory(root, verbose=0, empty_classes="keep")
