"""The web export opened in headless Chromium: the page's class probabilities equal `predict_proba`.

Each test exports a tiny classifier with `--format web`, serves the folder
with Python's http.server on 127.0.0.1 (WebAssembly needs http), opens
`index.html?test=inputs.json` in Debian's Chromium (`./run test` installs it
as root) and reads the page's `<pre id="results">` from `--dump-dom`. Without
Chromium or onnxruntime-web (`./run setup` installs it) these tests are
skipped, saying so, except under CI (`CI` set), where they fail.
"""

import http.server
import json
import os
import queue
import re
import shutil
import subprocess
import threading

import numpy as np
import pytest
import soundfile
from edge_models import DEMO_TEXT
from PIL import Image

import mmcnn.audio
import mmcnn.image
import mmcnn.text
from mmcnn.export import web

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TOLERANCE = 1e-3
RUN_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "run")


def _unavailable(why):
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI is set: ./run installs it)")
    pytest.skip(why)


@pytest.fixture
def browser():
    if CHROMIUM is None:
        _unavailable("no Chromium: `apt-get install chromium` (./run test does as root)")
    try:
        web.find_runtime()
    except FileNotFoundError as error:
        _unavailable(str(error))
    return CHROMIUM


def classify_in_browser(chromium, folder, items, tmp_path, timeout=180):
    """Serves `folder`, has its page classify `items` and returns its results, one dict per item.

    The page (`index.html?test=inputs.json&post=results`) POSTs its results
    back to this server; Chromium is stopped once they arrive."""
    with open(os.path.join(folder, "inputs.json"), "w", encoding="utf-8") as f:
        json.dump(items, f, ensure_ascii=False)
    received = queue.Queue()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def do_POST(self):
            received.put(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # a free port
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/index.html?test=inputs.json&post=results"
    log = open(tmp_path / "chromium.log", "w+", encoding="utf-8")
    process = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", url],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    try:
        text = received.get(timeout=timeout)
    except queue.Empty:
        log.seek(0)
        pytest.fail(f"the page sent no results in {timeout} s; Chromium's log:\n{log.read()[-3000:]}")
    finally:
        process.terminate()
        process.wait(timeout=30)
        server.shutdown()
        server.server_close()
        log.close()
    results = json.loads(text)
    assert [r.get("name") for r in results] == [i["name"] for i in items], results
    return results


def spread(clf, inputs):
    """Rescales an untrained model's last Dense layer so that its logits on `inputs` are centred with
    a spread of about 3: each input is decided clearly, and the inputs are decided differently."""
    features = clf.embed(inputs)
    dense = [layer for layer in clf.model._flatten_layers() if layer.__class__.__name__ == "Dense"][-1]
    kernel, bias = dense.get_weights()
    assert kernel.shape[0] == features.shape[1], "the head has a hidden layer"
    logits = features @ kernel + bias
    scale = 3.0 / max(float(logits.std(axis=0).mean()), 1e-6)
    dense.set_weights([kernel * scale, (bias - logits.mean(axis=0)) * scale])


def assert_page_equals_predict(results, expected):
    for result, row in zip(results, expected):
        assert "error" not in result, result
        np.testing.assert_allclose(result["probabilities"], row, atol=TOLERANCE, err_msg=result["name"])
    # The inputs give different answers, so that equal answers mean something.
    assert np.ptp(np.asarray(expected), axis=0).max() > 20 * TOLERANCE


# ----------------------------------------------------------------------- text
TRICKY_TEXTS = [
    "STRASSE Straße straße",  # full case folding: ß -> ss (toLowerCase keeps ß)
    "ΟΔΟΣ οδος ὁδός",  # final sigma: casefold gives σ, toLowerCase ς at a word's end
    "ﬁne ＦＵＬＬ width",  # NFKC: ligature, full-width letters
    "İstanbul ᏣᎳᎩ\u200bzero\u00adwidth",  # dotted I, Cherokee (folds to upper case), ignorables
    "tabs\tand\u3000ideographic\u2003spaces",
]
# Where mode unicode_script splits a word: scripts, punctuation and digits (Common), combining marks
# (Inherited), emoji, unassigned code points (Unknown), and code points above U+FFFF.
SCRIPT_TEXTS = [
    "abc,123déjà-vu ΟΔΟΣ-abc日本語のテキスト한국어 русский/English",
    "e\u0301\u0302x a\u0308\u20dd q\u0323\u0307 (tm)™ x²½Ⅻ",
    "😀👍🏽a🇫🇷1 family:👨\u200d👩\u200d👧 ok!?",
    "עברית123العربية٣ हिन्दी ไทย\u0378\U000e01ef\U0010ffff 𝔘𝔫𝔦 𐌰𐌱",
]


@pytest.mark.parametrize("mode", ["unicode_script", "word", "char", "byte"])
def test_text_page_equals_predict(browser, mode, tmp_path):
    import pandas as pd

    train = pd.read_csv(DEMO_TEXT)
    names = sorted(train.label.unique())
    texts = list(train.text[:8]) + TRICKY_TEXTS + SCRIPT_TEXTS
    clf = mmcnn.text.TextClassifier(
        class_names=names, mode=mode, max_tokens=16 if mode == "word" else 48,
        min_frequency=1, embedding_dim=8, filters=4, seed=0,
    )  # fmt: skip
    # Half the script texts are learned, so that the other half meets unknown pieces too.
    learned = TRICKY_TEXTS + SCRIPT_TEXTS[::2]
    clf.adapt(list(train.text) + learned + [t.casefold() for t in learned])
    if mode == "unicode_script":
        pieces = mmcnn.text.PythonTokenizer.from_layer(clf.tokenizer).tokens(SCRIPT_TEXTS[0])
        assert " ".join(pieces[:11]) == "abc ,123 déjà - vu οδοσ - abc 日本語 の テキスト"
    spread(clf, texts)
    folder = clf.export(tmp_path / "web", format="web")
    assert sorted(os.listdir(folder)) == ["index.html", "mmcnn.json", "model.onnx", "ort"]
    items = [{"name": f"text{i}", "text": text} for i, text in enumerate(texts)]
    results = classify_in_browser(browser, folder, items, tmp_path)
    assert_page_equals_predict(results, clf.predict_proba(texts))


def test_text_wordpiece_is_refused_saying_why(tmp_path):
    clf = mmcnn.text.TextClassifier(class_names=["a", "b"], mode="wordpiece", max_tokens=8, min_frequency=1)
    clf.adapt(["one two", "three four"])
    with pytest.raises(
        ValueError,
        match=r"reproduces the modes \['word', 'unicode_script', 'char', 'byte'\] only.*'wordpiece'",
    ):
        clf.export(tmp_path / "web", format="web")
    assert not os.path.exists(tmp_path / "web")


def test_missing_runtime_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv(web.RUNTIME_ENV, str(tmp_path / "nowhere"))
    clf = mmcnn.image.ImageClassifier(class_names=["a", "b"], image_size=(8, 8), preset="tiny")
    with pytest.raises(FileNotFoundError, match=r"npm install --prefix \.venv/web onnxruntime-web@1\.22\.0"):
        clf.export(tmp_path / "web", format="web")
    assert not os.path.exists(tmp_path / "web")


def test_run_script_installs_the_pinned_runtime():
    with open(RUN_SCRIPT, encoding="utf-8") as f:
        script = f.read()
    found = re.search(r'web_runtime\(\) \{\n\s+local version="([^"]+)"', script)
    assert found and found.group(1) == web.ONNXRUNTIME_WEB_VERSION
    assert 'npm install --prefix "$folder"' in script and '"onnxruntime-web@$version"' in script


# ----------------------------------------------------------------------- image
def _picture(rng, height, width, channels):
    # Smooth random pictures: every brightness, with structure for the convolutions.
    pixels = np.cumsum(rng.integers(0, 256, (height, width, channels)), axis=0) % 256
    return pixels.astype("uint8").squeeze(-1) if channels == 1 else pixels.astype("uint8")


@pytest.mark.parametrize(("channels", "resize_mode"), [(1, "crop"), (3, "pad"), (3, "stretch")])
def test_image_page_equals_predict(browser, channels, resize_mode, tmp_path):
    clf = mmcnn.image.ImageClassifier(
        class_names=["a", "b", "c"], image_size=(16, 16), channels=channels, resize_mode=resize_mode,
        preset="tiny", augmentation="none", seed=0,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    # At the model's size, shrunk (antialiased), enlarged, wide and tall, grey and colour files,
    # and one with transparent pixels (composited over white by both).
    sizes = [(16, 16, 3), (40, 24, 3), (9, 13, 3), (23, 61, 1), (64, 64, 3), (16, 30, 1), (20, 20, 4)]
    items, paths = [], []
    (tmp_path / "inputs").mkdir()
    for i, (height, width, file_channels) in enumerate(sizes):
        path = str(tmp_path / "inputs" / f"picture{i}.png")
        pixels = _picture(rng, height, width, file_channels)
        if file_channels == 4:  # opaque or transparent: the browser's premultiplied alpha is exact there
            pixels[..., 3] = np.where(rng.random((height, width)) < 0.5, 0, 255)
        Image.fromarray(pixels).save(path)
        items.append({"name": f"picture{i}", "file": f"inputs/picture{i}.png"})
        paths.append(path)
    spread(clf, paths)
    folder = clf.export(tmp_path / "web", format="web")
    shutil.copytree(tmp_path / "inputs", os.path.join(folder, "inputs"))
    results = classify_in_browser(browser, folder, items, tmp_path)
    assert_page_equals_predict(results, clf.predict_proba(paths))


# ----------------------------------------------------------------------- audio
def test_audio_page_equals_predict(browser, tmp_path):
    clf = mmcnn.audio.AudioClassifier(
        class_names=["a", "b", "c"], sample_rate=8000, clip_seconds=0.25, n_mels=32, preset="tiny",
        augmentation="none", seed=0,
    )  # fmt: skip
    rng = np.random.default_rng(2)
    # A short clip (centre-padded), one window, several windows with one flush at the end, stereo.
    clips = [
        ("short16", rng.normal(0, 0.3, 1201), "PCM_16"),
        ("window16", rng.normal(0, 0.1, 2000), "PCM_16"),
        ("long_float", np.sin(np.arange(7777) * 0.05) * 0.5, "FLOAT"),
        ("stereo24", rng.normal(0, 0.2, (5000, 2)), "PCM_24"),
        ("loud32", rng.uniform(-1, 1, 3000), "PCM_32"),
    ]
    items, paths = [], []
    (tmp_path / "inputs").mkdir()
    for name, wave, subtype in clips:
        path = str(tmp_path / "inputs" / f"{name}.wav")
        soundfile.write(path, np.clip(wave, -1, 1), 8000, subtype=subtype)
        items.append({"name": name, "file": f"inputs/{name}.wav"})
        paths.append(path)
    other = str(tmp_path / "inputs" / "other_rate.wav")
    soundfile.write(other, rng.normal(0, 0.1, 4000), 16000, subtype="PCM_16")
    spread(clf, paths)
    folder = clf.export(tmp_path / "web", format="web")
    shutil.copytree(tmp_path / "inputs", os.path.join(folder, "inputs"))
    results = classify_in_browser(
        browser, folder, items + [{"name": "other_rate", "file": "inputs/other_rate.wav"}], tmp_path
    )
    assert_page_equals_predict(results[:-1], clf.predict_proba(paths))
    assert "recorded at 16000 Hz; this model takes 8000 Hz" in results[-1]["error"]
