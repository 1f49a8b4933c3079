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
- text: `PythonTokenizer` ported (modes `unicode_script`, the default, `word`,
  `char`, `byte`; not `wordpiece`); full case folding from a table written from
  Python's `str.casefold` beside the model, NFKC by the browser's
  `String.normalize`; in mode `unicode_script` the script table
  (`mmcnn/text/text_scripts.py`) goes into `mmcnn.json`.
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


def is_web_export(path):
    """True for a folder this format wrote (what `overwrite=True` may replace)."""
    return all(os.path.isfile(os.path.join(path, name)) for name in (MODEL_NAME, DOCUMENT_NAME, PAGE_NAME))


def export_web(clf, path, overwrite=False, check_data=None, seed=0):
    """Writes the static web folder for `clf` at `path` (see the module's docstring).

    Args:
        clf: an mmcnn classifier (image, audio, or text in any mode but wordpiece).
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
    # Refused before anything is converted: a modality without a page, or an input it cannot make.
    settings = clf.web_settings()
    if settings is None:
        raise ValueError(
            f"the web page has no reader for the input of {type(clf).__name__} "
            f"(modality {getattr(clf, 'modality', None)!r}); it classifies images, audio and texts"
        )
    dist = find_runtime()
    path = os.path.abspath(os.fspath(path))
    with atomic_write(path, overwrite, is_web_export, "a web export folder") as tmp:
        model = export_onnx(
            clf,
            os.path.join(tmp, MODEL_NAME),
            check_data=check_data,
            seed=seed,
            endpoint=lambda clf: clf.web_endpoint(),
        )
        document = read_onnx_document(model)
        document["format"] = "web"
        document["preprocessing"].update(settings.pop("preprocessing", {}))
        document["web"] = {
            "runtime": f"onnxruntime-web {ONNXRUNTIME_WEB_VERSION}",
            "model": MODEL_NAME,
            **settings,
        }
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
