"""The `web` export: a static folder where a browser classifies a dropped file or a typed text.

`mmcnn export RUN --format web --out DIR` writes

| file | what |
|---|---|
| `model.onnx` | the classifier's ONNX file (`mmcnn.export.onnx`), checked in onnxruntime |
| `mmcnn.json` | the file's document plus what the page needs (tokenizer, case folding table) |
| `ort/` | onnxruntime-web's browser build (`ort.wasm.min.js`, its `.mjs` and `.wasm`) |
| `index.html` | the page: self-contained JavaScript, nothing fetched from the internet |

Serve the folder over http (`python -m http.server -d DIR`; WebAssembly is not
loaded from `file://`) and open `index.html`. The page does what `mmcnn
predict` does before the model, in JavaScript:
- image: decodes the file with the browser (`createImageBitmap`, no colour
  conversion), resizes the RGB pixels as `resize_image` does (TensorFlow's
  antialiased bilinear `scale_and_translate`, on the pixel array) and feeds
  the float pixels unrounded (this file's input is float32, not the uint8 of
  the LiteRT and ONNX files; a grey model converts inside the file).
- text: `PythonTokenizer` ported (modes `word`, `char`, `byte`); full case
  folding from a table written from Python's `str.casefold` beside the model,
  NFKC by the browser's `String.normalize`.
- audio: WAV only (PCM 8/16/24/32-bit, float 32/64), at the model's sample
  rate (librosa's soxr resampling is not reproduced: other rates are refused);
  channels averaged, cut into the windows `predict` cuts, probabilities averaged.

The runtime comes from the npm registry: `./run setup` installs
`onnxruntime-web@ONNXRUNTIME_WEB_VERSION` in `.venv/web`; `MMCNN_ONNXRUNTIME_WEB`
names another copy (its `dist/` folder or the package folder).
"""

import json
import os
import shutil
import sys
from importlib import resources

from mmcnn.export.atomic import atomic_write
from mmcnn.export.exporter import ExportError
from mmcnn.export.formats import ExportFormat, register_format
from mmcnn.export.onnx import export_onnx, read_onnx_document

ONNXRUNTIME_WEB_VERSION = "1.22.0"  # also in ./run's set-up
RUNTIME_ENV = "MMCNN_ONNXRUNTIME_WEB"
# The browser build for the CPU (WebAssembly) backend: the script, the module it imports, the binary.
RUNTIME_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MODEL_NAME = "model.onnx"
DOCUMENT_NAME = "mmcnn.json"
PAGE_NAME = "index.html"
RUNTIME_FOLDER = "ort"
INSTALL_HINT = (
    f"install it with `npm install --prefix .venv/web onnxruntime-web@{ONNXRUNTIME_WEB_VERSION}` "
    f"(what ./run setup does), or set {RUNTIME_ENV} to its dist/ folder"
)
# What the page cannot reproduce, said on the page and in the refusal.
PAGE_MODALITIES = ("image", "audio", "text")
TEXT_MODES = ("word", "char", "byte")
REFUSED_TEXT_MODE = (
    "the web page tokenizes in JavaScript and reproduces the modes {modes} only; this model tokenizes "
    "in mode {mode!r}, which is not reproducible outside TensorFlow ({why}). Train the text model with "
    "`--set mode='word'` (or 'char', 'byte') to export it for the web"
)


def _runtime_candidates():
    given = os.environ.get(RUNTIME_ENV)
    if given:
        return [given], True
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    folders = [os.path.join(sys.prefix, "web"), os.path.join(package_root, ".venv", "web")]
    return [os.path.join(f, "node_modules", "onnxruntime-web") for f in folders], False


def find_runtime():
    """The `dist/` folder of onnxruntime-web `ONNXRUNTIME_WEB_VERSION`.

    Looked for in `MMCNN_ONNXRUNTIME_WEB` (its `dist/` or package folder),
    else in the virtual environment's `web/node_modules` (`./run setup`).

    Raises:
        FileNotFoundError: no copy is found, or the one found is another
            version; the message says how to install it.
    """
    candidates, from_env = _runtime_candidates()
    for folder in candidates:
        folder = os.path.abspath(folder)
        dist = folder if os.path.basename(folder) == "dist" else os.path.join(folder, "dist")
        package = os.path.join(os.path.dirname(dist), "package.json")
        if not os.path.isdir(dist):
            if from_env:
                raise FileNotFoundError(
                    f"{RUNTIME_ENV}={folder}: no onnxruntime-web dist/ folder there; {INSTALL_HINT}"
                )
            continue
        missing = [name for name in RUNTIME_FILES if not os.path.isfile(os.path.join(dist, name))]
        version = None
        if os.path.isfile(package):
            with open(package, encoding="utf-8") as f:
                version = json.load(f).get("version")
        if missing or version != ONNXRUNTIME_WEB_VERSION:
            found = f"lacks {missing}" if missing else f"is version {version}"
            raise FileNotFoundError(
                f"the onnxruntime-web in {dist} {found}; the web export needs version "
                f"{ONNXRUNTIME_WEB_VERSION}: {INSTALL_HINT}"
            )
        return dist
    raise FileNotFoundError(
        f"the web export copies onnxruntime-web {ONNXRUNTIME_WEB_VERSION} (the browser runtime) into the "
        f"folder, and none was found in {candidates}: {INSTALL_HINT}"
    )


def casefold_table():
    """`{character: its full case folding}` where `str.casefold` changes it (up to U+2FFFF).

    JavaScript has no case folding, and `toLowerCase` differs from it (German
    sharp s, Cherokee, final sigma, ...): the page folds with this table."""
    table = {}
    for code in range(0x30000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        folded = char.casefold()
        if folded != char:
            table[char] = folded
    return table


def web_settings(clf, document):
    """What the page needs besides the ONNX file's own document."""
    from mmcnn.text import text_constants, text_ids

    preprocessing = document["preprocessing"]
    web = {"runtime": f"onnxruntime-web {ONNXRUNTIME_WEB_VERSION}", "model": MODEL_NAME}
    if clf.modality == "text":
        tokenizer = preprocessing["tokenizer"]
        if tokenizer["mode"] not in TEXT_MODES:
            why = text_ids._REFUSED.get(tokenizer["mode"], "not reimplemented")
            raise ValueError(
                REFUSED_TEXT_MODE.format(modes=list(TEXT_MODES), mode=tokenizer["mode"], why=why)
            )
        web["text"] = {
            **tokenizer,
            "pad_id": text_constants.PAD_ID,
            "oov_id": text_constants.OOV_ID,
            "first_token_id": text_constants.NUM_RESERVED,
            "bytes_per_token": text_constants.BYTES_PER_TOKEN,
            "white_space": text_constants.WHITE_SPACE,
            "casefold": casefold_table() if tokenizer["lowercase"] else {},
        }
        web["ignorable"] = text_ids._DEFAULT_IGNORABLE.pattern
    return web


def float_pixels_endpoint(clf):
    """The image model on float32 RGB pixels `(1, height, width, 3)`, 0..255, already resized.

    The LiteRT and ONNX files take uint8 pixels; the page keeps the resized
    values unrounded, as `mmcnn predict` does (rounding moves a model's
    probabilities by up to a few thousandths). A grey model converts inside."""
    import tensorflow as tf

    from mmcnn.export.endpoints import Endpoint, tensor_spec
    from mmcnn.image.image_converter import convert_channels

    model, channels = clf.model, clf.channels
    height, width = clf.image_size

    def probabilities(pixels):
        return model(convert_channels(pixels, channels), training=False)

    return Endpoint(
        "edge",
        probabilities,
        [tensor_spec([1, height, width, 3], tf.float32, "pixels")],
        f"float32 RGB pixels (1, {height}, {width}, 3), values 0..255, resized ({clf.resize_mode}) to the "
        f"model's size, not rounded" + (" (converted to grey inside the file)" if channels == 1 else ""),
    )


def is_web_export(path):
    """True for a folder this format wrote (what `overwrite=True` may replace)."""
    return all(os.path.isfile(os.path.join(path, name)) for name in (MODEL_NAME, DOCUMENT_NAME, PAGE_NAME))


def export_web(clf, path, overwrite=False, check_data=None, seed=0):
    """Writes the static web folder for `clf` at `path` (see the module's docstring).

    Args:
        clf: an mmcnn classifier (image, audio, or text in mode word, char or byte).
        path: the folder to write.
        overwrite: replace an earlier web export at `path`.
        check_data: held-out examples on which the ONNX file must decide as
            the Keras model does (`export_onnx`).
        seed: seed of that check's draw.

    Returns:
        The absolute path of the folder.

    Raises:
        FileNotFoundError: onnxruntime-web is not installed (the message says how).
        ValueError: a text model whose tokenizer mode the page cannot reproduce.
        ExportError: the ONNX conversion failed or disagrees with the Keras model.
    """
    if getattr(clf, "modality", None) not in PAGE_MODALITIES:
        raise ValueError(
            f"the web page classifies {' or '.join(PAGE_MODALITIES)} inputs; "
            f"{type(clf).__name__} (modality {getattr(clf, 'modality', None)!r}) has no page"
        )
    if clf.modality == "text":
        web_settings(clf, {"preprocessing": clf.edge_metadata()})  # refuse before converting
    dist = find_runtime()
    path = os.path.abspath(os.fspath(path))
    with atomic_write(path, overwrite, is_web_export, "a web export folder") as tmp:
        model = export_onnx(
            clf,
            os.path.join(tmp, MODEL_NAME),
            check_data=check_data,
            seed=seed,
            endpoint=float_pixels_endpoint if clf.modality == "image" else None,
        )
        document = read_onnx_document(model)
        document["format"] = "web"
        if clf.modality == "image":
            document["preprocessing"]["dtype"] = "float32"
        document["web"] = web_settings(clf, document)
        document["checked_in"] = [
            "onnxruntime (Python, CPU) on model.onnx; the page in headless Chromium by mmcnn's "
            "tests/export/test_web_page.py, not at each export"
        ]
        with open(os.path.join(tmp, DOCUMENT_NAME), "w", encoding="utf-8") as f:
            json.dump(document, f, ensure_ascii=False)
        os.chmod(tmp, 0o755)  # a web server may run as another user
        os.makedirs(os.path.join(tmp, RUNTIME_FOLDER))
        for name in RUNTIME_FILES:
            shutil.copyfile(os.path.join(dist, name), os.path.join(tmp, RUNTIME_FOLDER, name))
        page = resources.files("mmcnn.export").joinpath("web_page", PAGE_NAME).read_text(encoding="utf-8")
        if "__MMCNN_TITLE__" not in page:
            raise ExportError("the page template mmcnn/export/web_page/index.html is damaged")
        title = f"mmcnn {clf.modality} classifier: {', '.join(clf.class_names)}"
        page = page.replace("__MMCNN_TITLE__", _html_escape(title[:200]))
        with open(os.path.join(tmp, PAGE_NAME), "w", encoding="utf-8") as f:
            f.write(page)
    return path


def read_web_document(path):
    """The `mmcnn.json` document of a web export folder."""
    with open(os.path.join(os.fspath(path), DOCUMENT_NAME), encoding="utf-8") as f:
        return json.load(f)


def _html_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


WEB = register_format(
    ExportFormat(
        name="web",
        writer=export_web,
        suffix=None,
        default_name="web",
        read_document=read_web_document,
        checked=True,
        description="web (folder: index.html + model.onnx in onnxruntime-web, runs in the browser)",
    )
)
