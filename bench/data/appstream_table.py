"""A real multi-modal table: Debian's desktop apps, each with its icon, its description and its package.

One row per desktop application of Debian main's AppStream (DEP-11) metadata that has a 64x64
icon and a main freedesktop category:

- `icon`: the app's icon (the 64x64 PNG of the DEP-11 icon tarball, composited on white, RGB),
  a path relative to the CSV;
- `text`: the app's summary and description (English, the `C` locale; paragraphs and list items
  joined with spaces, markup removed);
- `installed_size_kb`, `depends`: the package's `Installed-Size:` and how many packages its
  `Depends:` and `Pre-Depends:` name, from the apt `Packages` list of the same suite;
- `section`: the package's Debian section (`games`, `graphics`, `sound`, ...); the sections of
  fewer than `MIN_SECTION_ROWS` training apps are `other`, so the column stays a category of a few values;
- `label`: the app's main category: the first of `MAIN_CATEGORIES` that its `Categories` list
  has (the specific ones first, the catch-alls `System` and `Utility` last). Classes with fewer
  than `MIN_CLASS_ROWS` apps are dropped (with the defaults: `Settings`).

The split is a seeded hash of the *source* package, so the apps of one source (KDE's or
GNOME's suites, a game and its editor) are all in one split; rows whose text repeats an earlier
row's are dropped. `section` predicts the label well but is not a copy of it (`main` prints how
well: the accuracy of the majority label of each section, learnt on train, on test).

Inputs (bench/setup.sh fetches them with `apt-get update` into `DEFAULT_LISTS`): the
`*_dep11_Components-amd64.yml.gz`, `*_dep11_icons-64x64.tar.gz` and `*_binary-amd64_Packages*`
files of one apt lists folder. The YAML is read through `appstreamcli convert` (package
`appstream`), which writes it as AppStream XML.

    .venv/bin/python -m bench.data.appstream_table --out /tmp/apps
"""

import argparse
import glob
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET

import pandas as pd

from bench.data.debtags import parse_records

DEFAULT_LISTS = os.environ.get("MMCNN_APPSTREAM_LISTS", "/var/lib/mmcnn-bench/appstream")
SYSTEM_LISTS = "/var/lib/apt/lists"
# Main categories of the freedesktop menu specification, the specific ones first.
MAIN_CATEGORIES = (
    "Game",
    "Science",
    "Education",
    "Development",
    "Graphics",
    "AudioVideo",
    "Office",
    "Network",
    "Settings",
    "System",
    "Utility",
)
MIN_CLASS_ROWS = 50
# Counted on the training split: 16 sections and `other` with the defaults (a category column
# must have at most 20 values for `mmcnn.multimodal.read_table` to detect it).
MIN_SECTION_ROWS = 20
# A category that this many training apps list is a tag of `category_tags`' multi-label task.
MIN_TAG_ROWS = 20
SPLITS = ("train", "val", "test")
FRACTIONS = (0.70, 0.15, 0.15)
COLUMNS = ("icon", "text", "installed_size_kb", "depends", "section", "label")
ICON_SIZE = 64
_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


class MissingMetadata(FileNotFoundError):
    """The DEP-11 metadata, the icons, the Packages list or appstreamcli is missing."""


def _one(lists, pattern, what):
    found = sorted(glob.glob(os.path.join(lists, pattern)))
    # The suite itself (bookworm), not its -updates / -security pockets, which have no DEP-11 data.
    main = [p for p in found if "-updates_" not in p and "-security_" not in p]
    if not main:
        raise MissingMetadata(
            f"no {what} ({pattern}) in {lists}: run bench/setup.sh (as root), which fetches the "
            "AppStream metadata and icons with apt-get update"
        )
    return main[0]


def find_inputs(lists=None):
    """`{"components", "icons", "packages"}` paths in `lists` (default: `DEFAULT_LISTS`, then
    the system's apt lists when they have the DEP-11 files).

    Raises:
        MissingMetadata: naming the missing file and saying to run bench/setup.sh.
    """
    folders = [lists] if lists else [DEFAULT_LISTS, SYSTEM_LISTS]
    error = None
    for folder in folders:
        try:
            return {
                "components": _one(folder, "*_dep11_Components-amd64.yml.gz", "AppStream components"),
                "icons": _one(folder, "*_dep11_icons-64x64.tar.gz", "AppStream 64x64 icons"),
                "packages": _one(folder, "*_binary-amd64_Packages*", "apt Packages list"),
            }
        except MissingMetadata as missing:
            error = error or missing
    raise error


def read_packages(path):
    """`{package: record}` of an apt `Packages` list (plain, .gz, .xz or .lz4 through apt-helper)."""
    if path.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
            text = f.read()
    elif path.endswith((".lz4", ".xz", ".zst", ".bz2")):
        helper = "/usr/lib/apt/apt-helper"
        if not os.path.exists(helper):
            raise MissingMetadata(f"{helper} (package apt) is needed to read {path}")
        text = subprocess.run([helper, "cat-file", path], capture_output=True, check=True).stdout
        text = text.decode("utf-8", errors="replace")
    else:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    return {record["Package"]: record for record in parse_records(text) if "Package" in record}


def read_components(path):
    """The root element of the AppStream XML that `appstreamcli convert` makes of a DEP-11 file."""
    if shutil.which("appstreamcli") is None:
        raise MissingMetadata("appstreamcli not found (package appstream): run bench/setup.sh")
    with tempfile.TemporaryDirectory() as tmp:
        yml, xml = os.path.join(tmp, "components.yml"), os.path.join(tmp, "components.xml")
        with gzip.open(path) as src, open(yml, "wb") as dst:
            shutil.copyfileobj(src, dst)
        result = subprocess.run(["appstreamcli", "convert", yml, xml], capture_output=True, text=True)
        if result.returncode != 0 or not os.path.exists(xml):
            message = (result.stderr or result.stdout)[:500]
            raise RuntimeError(f"appstreamcli convert {path} failed: {message}")
        return ET.parse(xml).getroot()


def _english(element, tag):
    for child in element.findall(tag):
        if child.get(_LANG) in (None, "C"):
            return child
    return None


def _words(element):
    """The text of an element: its paragraphs and list items joined by spaces (inline markup such
    as `<em>` joins its neighbours without a space), whitespace collapsed."""
    if element is None:
        return ""
    blocks = [block for block in element.iter() if block.tag in ("p", "li")] or [element]
    return " ".join(" ".join("".join(block.itertext()).split()) for block in blocks)


def _dependencies(record):
    fields = (record.get("Depends", ""), record.get("Pre-Depends", ""))
    return sum(1 for field in fields for item in field.split(",") if item.strip())


def _unit(text, seed):
    digest = hashlib.sha256(f"{seed}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def split_of(source, seed=0):
    """`"train"`, `"val"` or `"test"` for a source package (70/15/15, a seeded hash of its name)."""
    unit = _unit(source, f"appstream-split{seed}")
    return "train" if unit < FRACTIONS[0] else "val" if unit < FRACTIONS[0] + FRACTIONS[1] else "test"


def main_category(categories):
    """The first of `MAIN_CATEGORIES` in `categories`, or None.

    Example:
    >>> main_category(["Education", "Science", "Math"])
    'Science'
    """
    return next((name for name in MAIN_CATEGORIES if name in categories), None)


def collect_apps(components, packages, icon_names):
    """One dict per desktop application with a main category, an icon and a package record."""
    apps = []
    for component in components:
        if component.get("type") != "desktop-application":
            continue
        package = component.findtext("pkgname")
        categories = [c.text for c in component.findall("categories/category") if c.text]
        label = main_category(categories)
        icons = [
            i.text
            for i in component.findall("icon")
            if i.get("type") == "cached" and i.get("width") == str(ICON_SIZE) and i.text in icon_names
        ]
        if label is None or not icons or package not in packages:
            continue
        record = packages[package]
        summary = _words(_english(component, "summary"))
        description = _words(_english(component, "description"))
        if summary and summary[-1] not in ".!?":
            summary += "."
        text = " ".join(part for part in (summary, description) if part)
        if not text:
            continue
        apps.append(
            dict(
                id=component.findtext("id"),
                package=package,
                source=record.get("Source", package).split()[0],
                version=record.get("Version", ""),
                project_license=component.findtext("project_license") or "",
                icon_member=icons[0],
                text=text,
                installed_size_kb=int(record.get("Installed-Size", "0") or 0),
                depends=_dependencies(record),
                section=record.get("Section", "unknown").rsplit("/", 1)[-1],
                label=label,
                categories=";".join(dict.fromkeys(categories)),
            )
        )
    return apps


def category_tags(frame, min_rows=MIN_TAG_ROWS):
    """`(frame, tags)`: a multi-label task on `build_frame`'s table: each app's text -> every
    freedesktop category it lists that at least `min_rows` training apps list (`tags`, most
    frequent first; `Game` with `LogicGame`, `AudioVideo` with `Audio` and `Player`, ...).

    The frame keeps `text`, gains `labels` (the app's kept tags joined with `;`, never empty:
    every app's main category is kept where it has `min_rows` apps, else the app is dropped) and
    names its splits as `bench.datasets` reads them (`"train"`, `"validation"`, `"test"`)."""
    train = frame[frame["split"] == "train"]
    counts = pd.Series([t for cats in train["categories"] for t in cats.split(";") if t]).value_counts()
    tags = [t for t, n in counts.items() if n >= min_rows]
    kept = set(tags)
    labels = [";".join(t for t in cats.split(";") if t in kept) for cats in frame["categories"]]
    out = frame.assign(labels=labels, split=frame["split"].replace({"val": "validation"}))
    return out[out["labels"] != ""][["text", "labels", "split"]].reset_index(drop=True), tags


def build_frame(apps, seed=0, min_class_rows=MIN_CLASS_ROWS, min_section_rows=MIN_SECTION_ROWS):
    """The table of `apps` (as `collect_apps` gives): duplicates of a text dropped, rare classes
    dropped, rare sections merged into `other`, a `split` column; sorted by split then id."""
    frame = pd.DataFrame(apps).sort_values("id", kind="stable").reset_index(drop=True)
    frame = frame.drop_duplicates("text").reset_index(drop=True)
    counts = frame["label"].value_counts()
    frame = frame[frame["label"].isin(counts[counts >= min_class_rows].index)].reset_index(drop=True)
    frame["split"] = [split_of(source, seed) for source in frame["source"]]
    sections = frame.loc[frame["split"] == "train", "section"].value_counts()
    frame.loc[~frame["section"].isin(sections[sections >= min_section_rows].index), "section"] = "other"
    order = pd.Categorical(frame["split"], categories=SPLITS, ordered=True)
    frame = frame.assign(_order=order).sort_values(["_order", "id"]).drop(columns="_order")
    return frame.reset_index(drop=True)


def icon_file_name(app_id):
    """A file name for an app's icon: its AppStream id made safe, e.g. `org.gnome.Maps.png`."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in app_id)
    return (safe[: -len(".desktop")] if safe.endswith(".desktop") else safe) + ".png"


def write_icon(data, path, size=None):
    """The PNG `data` composited on white as an RGB PNG at `path` (resized to `size` if given)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        rgba = image.convert("RGBA")
    if size is not None and rgba.size != (size, size):
        rgba = rgba.resize((size, size), Image.LANCZOS)
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    Image.alpha_composite(white, rgba).convert("RGB").save(path, optimize=True)


def load_apps(lists=None, seed=0):
    """`(frame, inputs, icons_tar)`: the table of `build_frame` with an `icon_member` column, the
    input paths, and the open icon tarball (close it when done)."""
    inputs = find_inputs(lists)
    packages = read_packages(inputs["packages"])
    components = read_components(inputs["components"])
    icons = tarfile.open(inputs["icons"])
    apps = collect_apps(components, packages, set(icons.getnames()))
    if not apps:
        icons.close()
        raise MissingMetadata(f"no desktop application with an icon in {inputs['components']}")
    return build_frame(apps, seed), inputs, icons


def write_table(frame, icons, out_dir, icon_size=None, icon_dir="icons"):
    """Writes `out_dir/<split>.csv` (the `COLUMNS`), the icons under `out_dir/icon_dir/` and
    `out_dir/sources.csv` (each icon's app id, package, source package, version, split, and the
    app's `project_license` where its AppStream data declares one).

    Returns:
        `{split: path of its CSV}`.
    """
    os.makedirs(os.path.join(out_dir, icon_dir), exist_ok=True)
    names = []
    for app_id, member in zip(frame["id"], frame["icon_member"]):
        name = f"{icon_dir}/{icon_file_name(app_id)}"
        write_icon(icons.extractfile(member).read(), os.path.join(out_dir, name), icon_size)
        names.append(name)
    frame = frame.assign(icon=names)
    columns = ["icon", "id", "package", "source", "version", "split", "project_license"]
    frame[columns].to_csv(os.path.join(out_dir, "sources.csv"), index=False)
    written = {}
    for split in SPLITS:
        part = frame[frame["split"] == split]
        if len(part):
            written[split] = os.path.join(out_dir, f"{split}.csv")
            part[list(COLUMNS)].to_csv(written[split], index=False)
    return written


def section_accuracy(frame):
    """Test accuracy of the majority training label of each section (the section alone)."""
    train, test = frame[frame["split"] == "train"], frame[frame["split"] == "test"]
    majority = train.groupby("section")["label"].agg(lambda labels: labels.value_counts().index[0])
    fallback = train["label"].value_counts().index[0]
    guesses = test["section"].map(majority).fillna(fallback)
    return float((guesses == test["label"]).mean())


def suite_date(inputs):
    """`"debian-bookworm-main, generated 20230609T082314"` from the DEP-11 file's header."""
    origin, when = "?", "?"
    with gzip.open(inputs["components"], "rt", encoding="utf-8") as f:
        for _, line in zip(range(10), f):
            if line.startswith("Origin:"):
                origin = line.split(":", 1)[1].strip()
            elif line.startswith("Time:"):
                when = line.split(":", 1)[1].strip()
    return f"{origin}, generated {when}"


def describe(frame):
    """Class counts per split, as a text table."""
    counts = pd.crosstab(frame["label"], frame["split"]).reindex(columns=list(SPLITS), fill_value=0)
    counts["all"] = counts.sum(axis=1)
    return counts.sort_values("all", ascending=False).to_string()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for train.csv, val.csv, test.csv and icons/")
    parser.add_argument("--lists", help=f"apt lists folder with the DEP-11 files (default {DEFAULT_LISTS})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        frame, inputs, icons = load_apps(args.lists, args.seed)
    except MissingMetadata as error:
        raise SystemExit(f"appstream_table: {error}") from None
    with icons:
        written = write_table(frame, icons, args.out)
    print(f"metadata: {suite_date(inputs)} ({inputs['components']})")
    print(
        f"{len(frame)} apps of {frame['source'].nunique()} source packages, "
        f"{frame['label'].nunique()} classes, {frame['section'].nunique()} sections"
    )
    print(describe(frame))
    print(f"section alone (majority label per section, train -> test): {section_accuracy(frame):.3f}")
    seconds = time.perf_counter() - start
    print(f"wrote {', '.join(written.values())} and {len(frame)} icons in {seconds:.1f} s")


if __name__ == "__main__":
    main()
