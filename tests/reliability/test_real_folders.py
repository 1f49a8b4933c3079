"""What real users' folders hold, through the Python API of every modality (issue 20, data side).

Each case is built from real files (PIL, soundfile) and checks that nothing about the
user's data changes silently: a class whose files were all skipped, labels that differ
only by whitespace or case, a manifest that is not UTF-8, repaired text files, silent
clips, phone photos with an EXIF orientation, and formats mmcnn does not read.
"""

import io
import logging
import os
import struct

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from bad_files import noise_pixels, png_bytes, tone, write_wav
from PIL import Image, ImageOps

import mmcnn.audio
import mmcnn.image
import mmcnn.text
from mmcnn.data import DataError
from mmcnn.image.image_converter import ImageConverter


@pytest.fixture
def warnings_of_mmcnn(caplog):
    caplog.set_level(logging.INFO, logger="mmcnn")
    return lambda: " | ".join(r.getMessage() for r in caplog.records)


def image_class(root, name, n=2, base=128):
    os.makedirs(root / name, exist_ok=True)
    for i in range(n):
        (root / name / f"{i}.png").write_bytes(png_bytes(noise_pixels(i, base=base)))


# ------------------------------------------------------------- classes left empty
@pytest.mark.parametrize("modality", ["image", "audio", "text"])
def test_a_class_whose_files_were_all_skipped_is_named_or_dropped(tmp_path, modality, warnings_of_mmcnn):
    suffix = {"image": ".png", "audio": ".wav", "text": ".txt"}[modality]
    for c, hz in (("cat", 300.0), ("dog", 2000.0)):
        os.makedirs(tmp_path / c)
        if modality == "image":
            (tmp_path / c / "0.png").write_bytes(png_bytes(noise_pixels(0, base=60 if c == "cat" else 190)))
        elif modality == "audio":
            write_wav(tmp_path / c / "0.wav", tone(hz=hz))
        else:
            (tmp_path / c / "0.txt").write_text(f"a text about a {c}")
    os.makedirs(tmp_path / "bird")
    for i in range(3):
        if modality == "text":  # a text file fails only when it cannot be read at all
            os.symlink(tmp_path / f"gone{i}.txt", tmp_path / "bird" / f"{i}.txt")
        else:
            (tmp_path / "bird" / f"{i}{suffix}").write_bytes(b"\x00garbage, not a file of this kind" * 4)
    module = getattr(mmcnn, modality)
    with pytest.raises(DataError) as info:
        module.from_directory(tmp_path, verbose=0)
    message = str(info.value)
    assert "class 'bird': all 3 " in message and "were skipped (0" + suffix in message
    assert "and 1 more" in message and "empty_classes='drop'" in message
    data = module.from_directory(tmp_path, verbose=0, empty_classes="drop")
    assert data.class_names == ["cat", "dog"] and len(data) == 2
    assert [name for name, _ in data.dropped_classes] == ["bird"]
    assert "dropping class 'bird'" in warnings_of_mmcnn()
    report = data.data_report()
    assert report["dropped_classes"][0][0] == "bird" and len(report["skipped"]) == 3
    # What loading reported travels with the training part of a split.
    rest, _ = data.split(0.5, seed=0)
    assert rest.dropped_classes == data.dropped_classes


def test_a_manifest_class_whose_files_were_all_skipped_is_named_or_dropped(tmp_path):
    image_class(tmp_path, "cat")
    image_class(tmp_path, "dog")
    (tmp_path / "bad.png").write_bytes(b"")
    frame = pd.DataFrame({"path": ["cat/0.png", "dog/0.png", "bad.png"], "label": ["cat", "dog", "bird"]})
    frame.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(
        DataError, match=r"m\.csv: class 'bird': all 1 images were skipped \(bad\.png: file is empty"
    ):
        mmcnn.image.from_dataframe(tmp_path / "m.csv", verbose=0)
    data = mmcnn.image.from_dataframe(tmp_path / "m.csv", verbose=0, empty_classes="drop")
    assert data.class_names == ["cat", "dog"] and data.dropped_classes[0][0] == "bird"


# ---------------------------------------------------------------------- silence
def test_a_keyword_spotting_silence_class_is_kept(tmp_path, warnings_of_mmcnn):
    for word, hz in (("yes", 500.0), ("no", 1500.0)):
        os.makedirs(tmp_path / word)
        for i in range(2):
            write_wav(tmp_path / word / f"{i}.wav", tone(hz=hz * (1 + 0.1 * i)))
    os.makedirs(tmp_path / "_silence_")
    for i in range(3):
        write_wav(tmp_path / "_silence_" / f"{i}.wav", np.zeros(4000))
    write_wav(tmp_path / "_silence_" / "hiss.wav", 1e-5 * np.random.default_rng(0).normal(size=4000))
    data = mmcnn.audio.from_directory(tmp_path, verbose=0)
    assert data.class_names == ["_silence_", "no", "yes"] and data.skipped == []
    assert np.bincount(data.labels).tolist() == [4, 2, 2]
    assert "kept 4 silent clip(s) (peak below -80 dBFS): 4 in '_silence_'" in warnings_of_mmcnn()
    # Broken audio is still refused: NaN samples.
    bad = tone()
    bad[10] = np.nan
    write_wav(tmp_path / "yes" / "nan.wav", bad, subtype="FLOAT")
    data = mmcnn.audio.from_directory(tmp_path, verbose=0)
    assert [os.path.basename(p) for p, _ in data.skipped] == ["nan.wav"]


# ------------------------------------------------------------- whitespace, case
@pytest.mark.parametrize("modality", ["image", "text"])
def test_labels_differing_only_by_surrounding_whitespace_are_one_class(tmp_path, modality, warnings_of_mmcnn):
    image_class(tmp_path, "img", n=4)
    column = "path" if modality == "image" else "text"
    values = [f"img/{i}.png" for i in range(4)] if modality == "image" else list("abcd")
    frame = pd.DataFrame({column: values, "label": ["cat", "cat ", " dog", "Dog"]})
    frame.to_csv(tmp_path / "m.csv", index=False)
    module = getattr(mmcnn, modality)
    data = module.from_dataframe(tmp_path / "m.csv", verbose=0)
    assert data.class_names == ["Dog", "cat", "dog"]
    assert data.labels.tolist() == [1, 1, 2, 0] and data.stripped_labels == 2
    messages = warnings_of_mmcnn()
    assert "removed surrounding whitespace from 2 label(s) (e.g. 'cat ' -> 'cat')" in messages
    assert "labels 'Dog' and 'dog' differ only by case" in messages
    assert data.data_report()["stripped_labels"] == 2


def test_a_row_duplicated_once_whitespace_is_stripped_is_counted(tmp_path, warnings_of_mmcnn):
    messages = warnings_of_mmcnn
    image_class(tmp_path, "img")
    frame = pd.DataFrame({"path": ["img/0.png", "img/0.png", "img/1.png"], "label": ["cat", "cat ", "dog"]})
    data = mmcnn.image.from_dataframe(frame, base_dir=str(tmp_path), verbose=0)
    assert len(data) == 3 and data.data_report()["duplicate_rows"] == 1
    assert "1 row(s) repeat an earlier row (e.g. row 2 repeats row 1)" in messages()
    data = mmcnn.image.from_dataframe(frame, base_dir=str(tmp_path), verbose=0, duplicates="drop")
    assert len(data) == 2 and data.dropped_duplicates == 1 and data.duplicate_rows == 0


# -------------------------------------------------------------------- encodings
def test_a_windows_1252_manifest_fails_naming_row_and_byte_then_reads_with_encoding(tmp_path):
    image_class(tmp_path, "img")
    raw = "path,label\nimg/0.png,chat\nimg/1.png,café\n".encode("cp1252")
    (tmp_path / "m.csv").write_bytes(raw)
    offset = raw.index(b"\xe9")
    for call in (
        lambda **kw: mmcnn.image.from_dataframe(tmp_path / "m.csv", verbose=0, **kw),
        lambda **kw: mmcnn.audio.from_dataframe(tmp_path / "m.csv", verbose=0, **kw),
    ):
        with pytest.raises(DataError) as info:
            call()
        assert str(info.value) == (
            f"{tmp_path / 'm.csv'}: row 2 (byte {offset}: 0xE9) is not valid UTF-8; pass encoding='cp1252' "
            "(--encoding cp1252 on the command line) if it was saved by Excel on Windows, or the file's "
            "own encoding"
        )
    data = mmcnn.image.from_dataframe(tmp_path / "m.csv", verbose=0, encoding="cp1252")
    assert data.class_names == ["café", "chat"]
    texts = 'text,label\n"un texte",fr\n"déjà vu",fr\nok,en\n'.encode("cp1252")
    (tmp_path / "t.csv").write_bytes(texts)
    with pytest.raises(DataError, match=r"row 2 \(byte \d+: 0xE9\) is not valid UTF-8"):
        mmcnn.text.from_dataframe(tmp_path / "t.csv")
    assert mmcnn.text.from_dataframe(tmp_path / "t.csv", encoding="cp1252").inputs[1] == "déjà vu"
    with pytest.raises(ValueError, match="`encoding` must be the name of a text encoding"):
        mmcnn.text.from_dataframe(tmp_path / "t.csv", encoding="klingon")


def test_a_byte_order_mark_and_a_bad_header_byte(tmp_path):
    (tmp_path / "bom.csv").write_bytes("\ufefftext,label\nnaïve,a\nplain,b\n".encode())
    data = mmcnn.text.from_dataframe(tmp_path / "bom.csv")
    assert data.inputs == ["naïve", "plain"] and data.class_names == ["a", "b"]
    (tmp_path / "head.csv").write_bytes(b"t\xe9xt,label\nx,a\n")
    with pytest.raises(DataError, match=r"the header \(byte 1: 0xE9\)"):
        mmcnn.text.from_dataframe(tmp_path / "head.csv")
    # A quoted cell spanning lines is one row: the row number follows the CSV, not the lines.
    (tmp_path / "multi.csv").write_bytes(b'text,label\n"two\nlines",a\n"bad \xff",b\n')
    with pytest.raises(DataError, match=r"row 2 \(byte 30: 0xFF\)"):
        mmcnn.text.from_dataframe(tmp_path / "multi.csv")


def test_repaired_text_files_are_counted_and_logged(tmp_path, warnings_of_mmcnn):
    for c in ("a", "b"):
        os.makedirs(tmp_path / c)
        (tmp_path / c / "fine.txt").write_text("fine text \ufffd with a real replacement character")
    (tmp_path / "a" / "latin1.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "b" / "cut.txt").write_bytes("日本".encode()[:-1])
    data = mmcnn.text.from_directory(tmp_path, verbose=0)
    assert data.repaired_texts == 2 and data.data_report()["repaired_texts"] == 2
    assert "2 text(s) held invalid UTF-8, replaced by U+FFFD" in warnings_of_mmcnn()
    frame = pd.DataFrame({"text": [b"ok", b"caf\xe9"], "label": ["x", "y"]})
    assert mmcnn.text.from_dataframe(frame).repaired_texts == 1


# ---------------------------------------------------------------- phone photos
def phone_photo(path, orientation, pixels):
    # Stored as the sensor saw it, with the EXIF tag saying how to turn it upright.
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHIH", 0x0112, 3, 1, orientation) + b"\0\0"
    Image.fromarray(pixels).save(
        path, "JPEG", quality=95, subsampling=0, exif=b"Exif\x00\x00" + tiff + b"\0" * 4
    )


def test_phone_photos_are_upright_in_training_predict_and_export(tmp_path):
    y, x = np.mgrid[0:24, 0:40]
    pixels = np.stack([x * 6, y * 10, np.full_like(x, 128)], -1).astype(np.uint8)
    for c in ("a", "b"):
        os.makedirs(tmp_path / c)
    for k in range(1, 9):
        phone_photo(tmp_path / ("a" if k % 2 else "b") / f"o{k}.jpg", k, pixels)
    data = mmcnn.image.from_directory(tmp_path, verbose=0)
    clf = mmcnn.image.ImageClassifier(class_names=data.class_names, image_size=(16, 16), resize_mode="pad")
    training = np.concatenate([x.numpy() for x, _ in clf.make_dataset(data, batch_size=8)])
    predicted = clf.preprocess(list(data.inputs))
    encoded = [open(p, "rb").read() for p in data.inputs]
    exported = ImageConverter((16, 16), 3, "pad", "bytes")(tf.constant(encoded)).numpy()
    for i, path in enumerate(data.inputs):
        with Image.open(path) as image:
            upright = np.asarray(ImageOps.exif_transpose(image), np.float32)
        expected = tf.image.resize(upright, (10, 16), antialias=True).numpy()  # 40x24 upright fits as 16x10
        if upright.shape[0] > upright.shape[1]:
            expected = tf.image.resize(upright, (16, 10), antialias=True).numpy()
        top = (16 - expected.shape[0]) // 2
        left = (16 - expected.shape[1]) // 2
        window = training[i, top : top + expected.shape[0], left : left + expected.shape[1]]
        assert np.abs(window - expected).mean() < 3, path
    np.testing.assert_allclose(training, predicted, atol=1e-3)
    np.testing.assert_allclose(training, exported, atol=1e-3)


# -------------------------------------------------------------------- formats
def test_unsupported_formats_are_ignored_in_folders_and_refused_in_manifests_and_predict(
    tmp_path, warnings_of_mmcnn
):
    image_class(tmp_path, "cat")
    image_class(tmp_path, "dog")
    for i in range(12):
        (tmp_path / "cat" / f"IMG_{i}.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(16))
    data = mmcnn.image.from_directory(tmp_path, verbose=0)
    assert len(data) == 4 and data.ignored_files == {".heic": 12}
    assert (
        f"ignored 12 .heic file(s) in {tmp_path} (e.g. {tmp_path / 'cat' / 'IMG_0.HEIC'}): not a supported "
        "image format; supported: .bmp, .gif, .jpeg, .jpg, .png, .webp"
    ) in warnings_of_mmcnn()
    frame = pd.DataFrame(
        {"path": ["cat/0.png", "dog/0.png", "cat/IMG_0.HEIC"], "label": ["cat", "dog", "cat"]}
    )
    data = mmcnn.image.from_dataframe(frame, base_dir=str(tmp_path), verbose=0)
    assert len(data) == 2 and "not a supported image format (.heic)" in data.skipped[0][1]
    clf = mmcnn.image.ImageClassifier(class_names=["cat", "dog"], image_size=(16, 16))
    with pytest.raises(ValueError, match=r"IMG_0\.HEIC: not a supported image format \(\.heic\)"):
        clf.preprocess([str(tmp_path / "cat" / "IMG_0.HEIC")])
    # Only the class's own unsupported files: the message says why the class is empty.
    os.makedirs(tmp_path / "fish")
    (tmp_path / "fish" / "scan.tiff").write_bytes(io.BytesIO(b"II*\x00").getvalue())
    with pytest.raises(
        DataError, match=r"class 'fish' has no files with a supported extension .*\(ignored 1 \.tiff"
    ):
        mmcnn.image.from_directory(tmp_path, verbose=0)


def test_the_run_summary_counts_repeated_rows(tmp_path):
    from mmcnn.runs.train import summary_line

    frame = pd.DataFrame({"text": ["a tree", "a ball", "a tree", ""], "label": ["x", "y", "x", "y"]})
    data = mmcnn.text.from_dataframe(frame)
    train, val = data.split(0.5, seed=0)
    metrics = {
        "validation": {"accuracy": 0.5, "macro_f1": 0.5},
        "skipped": {"train": train.skipped, "val": val.skipped},
        "data": {"train": train.data_report(), "val": val.data_report()},
    }
    line = summary_line(metrics, str(tmp_path), "text")
    assert "1 bad files skipped, 1 duplicate rows kept" in line
