"""Every ```python block of README.md and docs/*.md runs as written.

Each document's blocks run in order in one fresh interpreter (a subprocess), in a folder
holding small stand-ins for the files and folders they name ("photos/train", "tags.csv", a run
directory, exports): a block may use what an earlier block of the same page defined or wrote,
as a reader following the page would. A block that needs what no test can have (a server, a
cluster, a weights file of the user's) is preceded in the Markdown by `<!-- not run: why -->`;
`NOT_RUN` below lists those blocks, so a new marker cannot skip a block silently.

Speed: the subprocess first runs `PREAMBLE`, which gives every classifier the docs build
`epochs=1` and, for images and audio, `preset="tiny"` where the block names none (arguments the
block passes are kept), and `MMCNN_SCHEDULE=preset` (tests/conftest.py) keeps those epochs.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from doc_standins import build_exports

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_RUN_MARK = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->\s*$")

# (document, first line of the block's code) -> the reason its marker gives.
NOT_RUN = {}

# What each page's folder holds; see `build_standin`.
STANDINS = {
    "README.md": ["photos", "birds", "items"],
    "docs/deploy.md": ["exports"],
    "docs/distributed.md": ["train"],
    "docs/multilabel.md": ["tags"],
    "docs/multimodal.md": ["items"],
    "docs/serving.md": ["exports"],
    "docs/transfer.md": ["birds", "runs/photos", "mobilenet"],
    "docs/tune.md": ["data"],
}

PREAMBLE = textwrap.dedent(
    """
    import functools

    import mmcnn.audio
    import mmcnn.image
    import mmcnn.multimodal
    import mmcnn.text


    def small_defaults(cls, **defaults):
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self, *args, **kwargs):
            for name, value in defaults.items():
                kwargs.setdefault(name, value)
            init(self, *args, **kwargs)

        cls.__init__ = __init__


    small_defaults(mmcnn.image.ImageClassifier, preset="tiny", epochs=1)
    small_defaults(mmcnn.audio.AudioClassifier, preset="tiny", epochs=1)
    small_defaults(mmcnn.text.TextClassifier, epochs=1)
    small_defaults(mmcnn.multimodal.TableClassifier, epochs=1)
    """
)

# Runs a page's blocks in order in one namespace; writes one result per block as it goes
# ("ok" or the traceback), so a crash still leaves the blocks before it recorded.
DRIVER = textwrap.dedent(
    """
    import json, os, sys, time, traceback

    blocks, results_path, preamble = json.load(open(sys.argv[1])), os.path.abspath(sys.argv[2]), sys.argv[3]
    exec(compile(preamble, "<test preamble>", "exec"), {"__name__": "preamble"})
    namespace, results, home = {"__name__": "__main__"}, {}, os.getcwd()
    for block in blocks:
        os.chdir(os.path.join(home, block["folder"]))
        print(f"--- {block['name']}", flush=True)
        start = time.monotonic()
        try:
            exec(compile(block["code"], block["name"], "exec"), namespace)
            results[block["name"]] = "ok"
        except BaseException:
            results[block["name"]] = traceback.format_exc()
        print(f"--- {block['name']}: {time.monotonic() - start:.1f} s", flush=True)
        with open(results_path, "w") as f:
            json.dump(results, f)
        if results[block["name"]] != "ok":
            break
    """
)


def python_blocks(path, page=None):
    """`[(name, code, not_run_reason or None)]` of the page's ```python blocks, in order;
    `name` is `<page>:<line of the fence>`; the reason is that of a `<!-- not run: ... -->`
    marker on the line right before the fence."""
    page = page or path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if lines[i] == "```python":
            end = lines.index("```", i + 1)
            mark = NOT_RUN_MARK.match(lines[i - 1].strip()) if i else None
            code = "\n".join(lines[i + 1 : end]) + "\n"
            blocks.append((f"{page}:{i + 1}", code, mark.group(1) if mark else None))
            i = end
        i += 1
    return blocks


def all_blocks():
    return [block for path in DOCS for block in python_blocks(path)]


def block_folder(name, code):
    """The folder (under the page's folder) a block runs in: docs/serving.md's and deploy.md's examples each
    open their modality's export as `model` (or its `model.keras`), and say which in their first line."""
    match = re.match(r"# (image|audio|text) (export|on-device|browser)\b", code)
    return match.group(1) if name.startswith(("docs/serving.md:", "docs/deploy.md:")) and match else "."


# ---------------------------------------------------------------------------------------------
# Stand-ins


def write_image(path, pixels):
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.repeat(pixels[..., None], 3, axis=-1)).save(path)


def image_folders(root, splits, classes, per_class, pictures):
    """`root/<split>/<class>/<i>.png`: Fashion-MNIST pictures of the demo data."""
    x, y, names = pictures
    for split in splits:
        for cls in classes:
            index = names.index(cls)
            chosen = np.flatnonzero(y == index)
            offset = {"train": 0, "test": per_class, "val": per_class}.get(split, 0)
            for i in chosen[offset : offset + per_class]:
                write_image(root / split / cls.replace("/", "-") / f"{i}.png", x[i])


def fashion():
    with np.load(ROOT / "mmcnn" / "demo_data" / "image" / "fashion_mnist_subset.npz") as data:
        return data["x_train"], data["y_train"], [str(n) for n in data["class_names"]]


def build_standin(name, root):
    """Writes the stand-in `name` under `root`."""
    pictures = fashion()
    x = pictures[0]
    if name == "photos":
        image_folders(root / "photos", ["train", "test"], ["Trouser", "Bag", "Sneaker"], 6, pictures)
        write_image(root / "photos" / "new.jpg", x[0])
    elif name == "birds":
        image_folders(root / "birds", ["train"], ["Sandal", "Ankle boot"], 6, pictures)
        for i, file in enumerate(["new.jpg", "a.jpg", "b.jpg"]):
            write_image(root / "birds" / file, x[i])
        write_image(root / "query.jpg", x[3])
        for i in range(6):
            write_image(root / "gallery" / f"{i}.jpg", x[10 + i])
    elif name == "train":
        image_folders(root, ["train"], ["Trouser", "Bag"], 8, pictures)
    elif name == "data":
        image_folders(root / "data", ["train", "val"], ["Trouser", "Bag"], 6, pictures)
    elif name == "items":
        # The first rows of the demo table (real Debian apps: icon, description, numbers, section).
        table = ROOT / "mmcnn" / "demo_data" / "table"
        import pandas as pd

        (root / "items").mkdir(exist_ok=True)
        for split, per_class in (("train", 4), ("test", 1)):
            frame = pd.read_csv(table / f"{split}.csv", dtype=str, keep_default_na=False)
            frame.groupby("label").head(per_class).to_csv(root / "items" / f"{split}.csv", index=False)
        shutil.copytree(table / "icons", root / "items" / "icons")
    elif name == "tags":
        words = {
            "python": ["flask", "pip", "django"],
            "web": ["route", "http", "html"],
            "data": ["csv", "plot"],
        }
        rng = np.random.default_rng(0)
        for file, rows in [("tags.csv", 30), ("tags_test.csv", 12)]:
            lines = ["text,label"]
            for i in range(rows):
                tags = [t for t in words if rng.random() < 0.5] or [list(words)[i % 3]]
                text = " ".join(rng.choice(words[t]) for t in tags for _ in range(2))
                lines.append(f"note {i} on {text},{'; '.join(tags)}")
            (root / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif name == "runs/photos":
        build_standin("photos", root / "source")
        command = [sys.executable, "-m", "mmcnn.cli", "train", "image", "--train", "source/photos/train"]
        command += [
            "--out",
            "runs/photos",
            "--preset",
            "tiny",
            "--epochs",
            "1",
            "--set",
            "image_size=[64,64]",
        ]
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        shutil.rmtree(root / "source")
    elif name == "mobilenet":
        # Random weights in the file's format: the page loads "your file".
        import keras

        net = keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), include_top=False, weights=None)
        net.save_weights(root / "mobilenet_v3_small_no_top.weights.h5")
    elif name == "exports":
        build_exports(root)
    else:
        raise ValueError(f"no stand-in named {name!r}")


@pytest.fixture(scope="session")
def standins(tmp_path_factory):
    """name -> a folder holding that stand-in, built on first use."""
    built = {}

    def get(name):
        if name not in built:
            folder = tmp_path_factory.mktemp("standin")
            build_standin(name, folder)
            built[name] = folder
        return built[name]

    return get


@pytest.fixture(scope="session")
def page_results(tmp_path_factory, standins):
    """page -> `{block name: "ok" or traceback}` of its runnable blocks, run once per session."""
    done = {}

    def run(page):
        if page in done:
            return done[page]
        folder = tmp_path_factory.mktemp("page")
        for name in STANDINS.get(page, []):
            shutil.copytree(standins(name), folder, dirs_exist_ok=True)
        blocks = [
            {"name": name, "code": code, "folder": block_folder(name, code)}
            for name, code, reason in python_blocks(ROOT / page)
            if reason is None
        ]
        (folder / "_blocks.json").write_text(json.dumps(blocks), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        result = subprocess.run(
            [sys.executable, "-c", DRIVER, "_blocks.json", "_results.json", PREAMBLE],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        results = {}
        if (folder / "_results.json").exists():
            results = json.loads((folder / "_results.json").read_text(encoding="utf-8"))
        done[page] = (results, result)
        return done[page]

    return run


def runnable_blocks():
    return [pytest.param(name, id=name) for name, _, reason in all_blocks() if reason is None]


@pytest.mark.slow
@pytest.mark.parametrize("name", runnable_blocks())
def test_block_runs(name, page_results):
    page = name.rsplit(":", 1)[0]
    results, process = page_results(page)
    if name not in results:
        failed = [n for n, r in results.items() if r != "ok"]
        reason = f"not reached: {failed[0]} failed" if failed else "the interpreter died"
        pytest.fail(f"{name}: {reason}\n{process.stdout[-2000:]}\n{process.stderr[-3000:]}")
    assert results[name] == "ok", f"{name} failed:\n{results[name]}"


def test_blocks_not_run_are_listed():
    # Each `<!-- not run: ... -->` marker is known here, so none hides a block silently.
    marked = {
        (name.rsplit(":", 1)[0], code.splitlines()[0]): reason
        for name, code, reason in all_blocks()
        if reason
    }
    assert marked == NOT_RUN


def test_every_page_with_blocks_to_run_names_its_standins():
    pages = {name.rsplit(":", 1)[0] for name, _, reason in all_blocks() if reason is None}
    assert pages <= set(STANDINS), "add the page to STANDINS (with the stand-ins its blocks open)"


def test_markers_stand_right_before_a_python_block():
    for path in DOCS:
        lines = path.read_text(encoding="utf-8").splitlines()
        for i, line in enumerate(lines):
            if NOT_RUN_MARK.match(line.strip()):
                assert lines[i + 1 : i + 2] == ["```python"], (
                    f"{path.name}:{i + 1}: a `not run` marker must stand on the line before a ```python fence"
                )


def test_python_is_fenced_as_python():
    # Blocks fenced `py`, `python3`, `pycon` or `ipython` would escape `python_blocks`.
    for path in DOCS:
        fences = re.findall(r"^```\s*(py|python3|pycon|ipython)\b", path.read_text(encoding="utf-8"), re.M)
        assert not fences, f"{path.name}: fence as ```python: {fences}"


def test_a_marked_block_is_reported_with_its_reason(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n```python\nx = 1\n```\n\n<!-- not run: needs a server -->\n```python\ncall()\n```\n",
        encoding="utf-8",
    )
    assert python_blocks(page, page="page.md") == [
        ("page.md:3", "x = 1\n", None),
        ("page.md:8", "call()\n", "needs a server"),
    ]
