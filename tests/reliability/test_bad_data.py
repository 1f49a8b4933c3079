"""Every kind of broken input in class folders, through each modality's `from_directory`.

With `on_error="skip"` each bad file is left out, counted, and named in `skipped`; with
`on_error="raise"` the `DataError` names it. Good-but-unusual files (a PNG named `.jpg`, a
clip at 11025 Hz, a 6-channel clip) are kept. Manifests report all their bad rows at once.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading

import numpy as np
import pandas as pd
import pytest
from bad_files import (
    RATE,
    bad_audio,
    bad_images,
    image_tree,
    noise_pixels,
    png_bytes,
    refused_images,
    texts,
    tone,
    write_wav,
)

import mmcnn.audio
import mmcnn.image
import mmcnn.text
from mmcnn.data import DataError, scan_directory


def test_images_skip_counts_and_names_every_bad_file(tmp_path):
    root = image_tree(tmp_path)
    data = mmcnn.image.from_directory(root, verbose=0)
    assert sorted(path for path, _ in data.skipped) == refused_images(root)
    assert len(data) == 6 + 1  # the good PNGs and the PNG named .jpg
    assert str(root / "a" / "png_named.jpg") in data.inputs
    reasons = dict(data.skipped)
    assert "zero bytes" in reasons[str(root / "a" / "empty.png")]
    assert "not an image" in reasons[str(root / "a" / "random.png")]
    assert "decompression bomb" in reasons[str(root / "a" / "enormous.png")]
    assert "does not exist" in reasons[str(root / "a" / "dangling.png")]
    # What is kept trains: a whole epoch over it runs.
    clf = mmcnn.image.ImageClassifier(image_size=(16, 16), channels=1, preset="tiny", augmentation="none")
    clf.fit(data, epochs=1, batch_size=4, verbose=0)


@pytest.mark.parametrize("name", [n for n, (_, refused) in bad_images().items() if refused])
def test_images_raise_names_the_file(tmp_path, name):
    root = image_tree(tmp_path, [name])
    with pytest.raises(DataError) as info:
        mmcnn.image.from_directory(root, on_error="raise", verbose=0)
    assert str(root / "a" / name) in str(info.value)


@pytest.fixture(scope="module")
def audio_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("audio")
    for c, hz in (("a", 300.0), ("b", 2000.0)):
        os.makedirs(root / c)
        for i in range(2):
            write_wav(root / c / f"good{i}.wav", tone(0.25, hz=hz * (1 + 0.1 * i)))
    refused = bad_audio(root / "a")
    return root, refused


def test_audio_skip_counts_and_names_every_bad_file(audio_root):
    root, refused = audio_root
    data = mmcnn.audio.from_directory(root, verbose=0)
    expected = sorted(str(root / "a" / n) for n, bad in refused.items() if bad)
    assert sorted(path for path, _ in data.skipped) == expected
    reasons = {os.path.basename(p): r for p, r in data.skipped}
    assert "truncated" in reasons["truncated.wav"] and "header" in reasons["truncated.wav"]
    assert "no samples" in reasons["header_only.wav"]
    kept = dict(zip((os.path.basename(s) for s in data.sources), data.inputs))
    # The 11025 Hz clip is resampled, the 6-channel one mixed down: both 0.25 s at 16 kHz.
    assert kept["rate_11025.wav"].shape == kept["six_channels.wav"].shape == (RATE // 4,)
    assert np.all(kept["silent.wav"] == 0.0)
    assert len(data) == 4 + 3


@pytest.mark.parametrize("name", ["truncated.wav", "header_only.wav", "random.wav"])
def test_audio_raise_names_the_file(audio_root, tmp_path, name):
    root, _ = audio_root
    for c in ("a", "b"):
        os.makedirs(tmp_path / c)
        shutil.copy(root / c / "good0.wav", tmp_path / c / "good0.wav")
    shutil.copy(root / "a" / name, tmp_path / "a" / name)
    with pytest.raises(DataError) as info:
        mmcnn.audio.from_directory(tmp_path, on_error="raise", verbose=0)
    assert str(tmp_path / "a" / name) in str(info.value)


def text_tree(root):
    for c in ("a", "b"):
        os.makedirs(root / c)
        (root / c / "good.txt").write_text(f"a normal text of class {c}", encoding="utf-8")
    for name, data in texts().items():
        (root / "a" / name).write_bytes(data)
    os.symlink(root / "a" / "gone.txt", root / "a" / "dangling.txt")
    return root


def test_texts_are_repaired_or_skipped_and_named(tmp_path):
    root = text_tree(tmp_path)
    data = mmcnn.text.from_directory(root, verbose=0)
    # Only the file that cannot be read at all is skipped; see mmcnn/text/text_data.py.
    assert [path for path, _ in data.skipped] == [str(root / "a" / "dangling.txt")]
    kept = dict(zip((os.path.basename(s) for s in data.sources), data.inputs))
    assert kept["invalid_utf8.txt"] == "caf\ufffd ok \ufffd\ufffd bytes"
    assert kept["empty.txt"] == ""
    assert len(kept["ten_megabytes.txt"]) == 10 * 1024 * 1024
    with pytest.raises(DataError, match="dangling.txt"):
        mmcnn.text.from_directory(root, on_error="raise", verbose=0)
    # The tokenizer cuts the 10 MB line to its byte budget; an empty text is all padding.
    clf = mmcnn.text.TextClassifier(class_names=data.class_names, max_tokens=16, min_frequency=1)
    clf.adapt(data.inputs)
    ids = clf.tokenizer(np.array([kept["ten_megabytes.txt"], "", kept["invalid_utf8.txt"]], dtype=object))
    ids = np.asarray(ids)
    assert ids.shape == (3, 16) and (ids[0] > 0).all() and (ids[1] == 0).all() and (ids[2, :4] > 0).all()


def read_in_thread(function, fifo, seconds=10):
    """Runs `function`; if it blocks on the FIFO, unblocks it and reports the hang."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except Exception as error:  # noqa: BLE001 - reported by the caller
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    hung = thread.is_alive()
    if hung:
        with open(fifo, "wb"):  # a writer that closes at once: the reader sees end of file
            pass
        thread.join(seconds)
    return hung, outcome


@pytest.mark.parametrize(
    "modality,name", [("image", "pipe.png"), ("audio", "pipe.wav"), ("text", "pipe.txt")]
)
def test_a_fifo_in_a_class_folder_is_skipped_not_waited_on(tmp_path, modality, name):
    # A named pipe looks like a file to os.walk; reading it waits for a writer forever.
    for c in ("a", "b"):
        os.makedirs(tmp_path / c)
    if modality == "image":
        for c in ("a", "b"):
            (tmp_path / c / "good.png").write_bytes(png_bytes(noise_pixels(0)))
    elif modality == "audio":
        for c in ("a", "b"):
            write_wav(tmp_path / c / "good.wav", tone())
    else:
        for c in ("a", "b"):
            (tmp_path / c / "good.txt").write_text("some text")
    fifo = tmp_path / "a" / name
    os.mkfifo(fifo)
    module = getattr(mmcnn, modality)
    hung, outcome = read_in_thread(lambda: module.from_directory(tmp_path, verbose=0), fifo)
    assert not hung, f"mmcnn.{modality}.from_directory blocked reading the FIFO {fifo}"
    assert "error" not in outcome, outcome.get("error")
    assert [path for path, _ in outcome["value"].skipped] == [str(fifo)]


# ----------------------------------------------------------------- manifests
def test_manifest_problems_are_reported_by_row_before_decoding(tmp_path):
    image_tree(tmp_path / "imgs", [])
    frame = pd.DataFrame(
        {
            "path": [
                "imgs/a/good0.png",
                "imgs/a/good1.png",
                "imgs/a/good0.png",
                "imgs/nowhere.png",
                "imgs/b/good0.png",
                "imgs/b/good1.png",
            ],
            "label": ["a", None, "a", "b", "b", "c"],
        }
    )
    frame.to_csv(tmp_path / "m.csv", index=False)
    for module in (mmcnn.image, mmcnn.audio):
        with pytest.raises(DataError) as info:
            module.from_dataframe(tmp_path / "m.csv", verbose=0, on_error="raise")
        message = str(info.value)
        assert str(tmp_path / "m.csv") in message
        assert "row 2: missing label" in message and "duplicate" not in message
        assert "row 4: file not found" in message and "nowhere.png" in message
        # By default the row without a label is skipped; a missing file still stops, named.
        with pytest.raises(DataError) as info:
            module.from_dataframe(tmp_path / "m.csv", verbose=0)
        assert "row 2" not in str(info.value) and "row 4: file not found" in str(info.value)
    # An unknown label (one not in class_names) is named by its row too.
    good = frame.drop(index=[1, 2, 3]).reset_index(drop=True)
    good.to_csv(tmp_path / "unknown.csv", index=False)
    with pytest.raises(DataError, match=r"row 3: label 'c'"):
        mmcnn.image.from_dataframe(tmp_path / "unknown.csv", class_names=["a", "b"], verbose=0)
    pd.DataFrame({"file": ["imgs/a/good0.png"], "label": ["a"]}).to_csv(tmp_path / "col.csv", index=False)
    for module in (mmcnn.image, mmcnn.audio):
        with pytest.raises(DataError, match=r"missing column.*'path'"):
            module.from_dataframe(tmp_path / "col.csv", verbose=0)
    text = pd.DataFrame({"text": ["x", "y", "x", None], "label": ["a", float("nan"), "a", "b"]})
    with pytest.raises(DataError) as info:
        mmcnn.text.from_dataframe(text, on_error="raise")
    assert "row 2: missing label" in str(info.value) and "row 4: missing text" in str(info.value)
    data = mmcnn.text.from_dataframe(text)
    assert data.inputs == ["x", "x"] and data.duplicate_rows == 1
    assert data.skipped == [("manifest row 2", "missing label"), ("manifest row 4", "missing text")]


def test_symlink_loop_is_reported_not_followed(tmp_path):
    image_tree(tmp_path, [])
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    with pytest.raises(DataError, match="symlink loop"):
        scan_directory(tmp_path)
    with pytest.raises(DataError, match="symlink loop"):
        mmcnn.image.from_directory(tmp_path, verbose=0)


# `mmcnn.data` without `mmcnn/__init__.py` (which imports Keras): a bare package stands in for it.
_AS_NOBODY = r"""
import sys, types
package = types.ModuleType("mmcnn")
package.__path__ = [sys.argv[1]]
sys.modules["mmcnn"] = package
import mmcnn.data as data
try:
    data.scan_directory(sys.argv[2])
except data.DataError as error:
    print("DataError:", error)
"""


def test_unreadable_sub_folder_is_reported():
    # Tests run as root, whom chmod 000 does not stop; the check runs as `nobody` instead.
    setpriv = shutil.which("setpriv")
    if os.geteuid() != 0:
        runner = []
    elif setpriv:
        runner = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    else:
        pytest.skip("running as root without setpriv: cannot make a folder unreadable")
    import mmcnn.data

    root = tempfile.mkdtemp(prefix="mmcnn-unreadable-")
    try:
        os.chmod(root, 0o755)
        for c in ("a", "b"):
            os.makedirs(os.path.join(root, c, "inner"))
            open(os.path.join(root, c, "x.png"), "wb").close()
            os.chmod(os.path.join(root, c), 0o755)
        locked = os.path.join(root, "a", "inner")
        os.chmod(locked, 0)
        package = os.path.dirname(mmcnn.__file__)
        result = subprocess.run(
            [*runner, sys.executable, "-c", _AS_NOBODY, package, root],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0 and "Permission denied" in result.stderr and package not in result.stderr:
            pytest.skip(f"`nobody` cannot run the interpreter here: {result.stderr[-300:]}")
        assert result.returncode == 0, result.stderr[-2000:]
        assert (
            "DataError:" in result.stdout
            and locked in result.stdout
            and "cannot read folder" in result.stdout
        )
    finally:
        os.chmod(os.path.join(root, "a", "inner"), 0o755)
        shutil.rmtree(root)
