"""Real pictures larger than 32x32: Tux Paint's clip-art stamps -> their top-level category.

Debian's `tuxpaint-stamps-default` installs the stamps of the children's paint program Tux Paint
under `STAMPS_DIR/<category>/<sub>/.../<name>.png` (with SVG versions of some, and sounds and
descriptions beside them): about 800 PNGs, drawn pictures of animals, food, vehicles, letters
and so on, most of them with transparency (RGBA, grey + alpha or a palette), median about
130x130 pixels, from 7 to 2348 pixels a side. The label is the top-level folder; the categories
with at least `MIN_CLASS_FILES` PNGs are kept (8 with the defaults: symbols, animals, town,
food, seasonal, plants, vehicles, household). SVGs are ignored, and so would be masks and
shadows (names ending in `SKIP_SUFFIXES`; the package has none); byte-identical files are
kept once (the package has one such pair, in two dropped categories).

The files are copied as they are (no conversion, no compositing of the alpha channel): the
benchmark measures what a user gets by pointing mmcnn at the folder. Layout:
`out/<split>/<category>/<file>.png`, the sub-folders flattened into the file name
(`animals/birds/cartoon/owl.png` -> `animals/birds-cartoon-owl.png`), and `out/sources.csv`
(each file's source path, category, split, width, height, PIL mode, SHA-256).

The split is stratified and seeded: within each category the files are ordered by a SHA-256
of `seed` and the file's bytes, and the first `test_fraction` of them (rounded up) are the
test pictures, so every category has test pictures and `seed` changes which.

Licence: GPL-2 (`/usr/share/doc/tuxpaint-stamps-default/copyright`).

    .venv/bin/python -m bench.data.tuxpaint_stamps --out /tmp/stamps [--seed 0]
"""

import argparse
import collections
import csv
import hashlib
import math
import os
import shutil
import time

STAMPS_DIR = os.environ.get("MMCNN_TUXPAINT_STAMPS", "/usr/share/tuxpaint/stamps")
PACKAGE = "tuxpaint-stamps-default"
MIN_CLASS_FILES = 30
TEST_FRACTION = 0.25
SPLITS = ("train", "test")
# Tux Paint's naming of images that are not stamps by themselves.
SKIP_SUFFIXES = ("_mask", "_shadow")
SOURCE_COLUMNS = ("file", "source", "category", "split", "width", "height", "mode", "sha256")


class MissingStamps(FileNotFoundError):
    """The stamps folder of `tuxpaint-stamps-default` is missing or holds no PNG."""


def find_stamps(root=None):
    """`[(category, path relative to its category folder, absolute path, sha256 of the bytes)]`
    of every PNG under `root` (default `STAMPS_DIR`), sorted by category and path, without the
    `SKIP_SUFFIXES` names and the later copies of byte-identical files.

    Raises:
        MissingStamps: naming the folder and the package to install (bench/setup.sh).
    """
    root = root or STAMPS_DIR
    if not os.path.isdir(root):
        raise MissingStamps(
            f"no Tux Paint stamps at {root}: install the Debian package {PACKAGE} "
            "(bench/setup.sh does, as root)"
        )
    found, seen = [], set()
    for category in sorted(os.listdir(root)):
        folder = os.path.join(root, category)
        if not os.path.isdir(folder):
            continue
        for parent, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                stem, ext = os.path.splitext(name)
                if ext.lower() != ".png" or stem.lower().endswith(SKIP_SUFFIXES):
                    continue
                path = os.path.join(parent, name)
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                if digest in seen:
                    continue
                seen.add(digest)
                found.append((category, os.path.relpath(path, folder), path, digest))
    if not found:
        raise MissingStamps(f"no PNG under {root}: install the Debian package {PACKAGE} (bench/setup.sh)")
    return found


def flat_name(relative):
    """The file name of a stamp in its class folder: its sub-folders joined with `-`.

    Example:
    >>> flat_name("birds/cartoon/owl.png")
    'birds-cartoon-owl.png'
    """
    return "-".join(relative.replace(os.sep, "/").split("/"))


def _unit(digest, seed):
    value = hashlib.sha256(f"tuxpaint-split{seed}\x00{digest}".encode()).digest()
    return int.from_bytes(value[:8], "big")


def split_stamps(stamps, seed=0, min_class_files=MIN_CLASS_FILES, test_fraction=TEST_FRACTION):
    """`[(category, relative path, path, digest, split)]` of the categories with at least
    `min_class_files` stamps: in each, the `ceil(test_fraction * n)` stamps first in the order
    of a seeded hash of their bytes are `"test"`, the others `"train"`.

    Example:
    >>> stamps = [("a", f"{i}.png", f"/a/{i}.png", f"{i:064x}") for i in range(8)]
    >>> stamps += [("b", "0.png", "/b/0.png", "f" * 64)]
    >>> rows = split_stamps(stamps, seed=0, min_class_files=4)
    >>> sorted(collections.Counter(r[4] for r in rows).items())
    [('test', 2), ('train', 6)]
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"`test_fraction` must be in (0, 1). Received: test_fraction={test_fraction!r}")
    by_class = collections.defaultdict(list)
    for stamp in stamps:
        by_class[stamp[0]].append(stamp)
    rows = []
    for category in sorted(by_class):
        members = by_class[category]
        if len(members) < min_class_files:
            continue
        order = sorted(members, key=lambda s: (_unit(s[3], seed), s[1]))
        test = {s[1] for s in order[: math.ceil(test_fraction * len(members))]}
        rows += [(*s, "test" if s[1] in test else "train") for s in members]
    return rows


def write_stamps(rows, out_dir):
    """Copies the stamps of `split_stamps` to `out_dir/<split>/<category>/<flat name>` (byte for
    byte), writes `out_dir/sources.csv`, and returns its rows as dicts."""
    from PIL import Image

    for split in SPLITS:
        shutil.rmtree(os.path.join(out_dir, split), ignore_errors=True)
    records, used = [], set()
    for category, relative, path, digest, split in rows:
        file = os.path.join(split, category, flat_name(relative))
        if file in used:
            raise ValueError(f"two stamps flatten to {file}; rename one of them (source: {path})")
        used.add(file)
        os.makedirs(os.path.join(out_dir, split, category), exist_ok=True)
        shutil.copyfile(path, os.path.join(out_dir, file))
        with Image.open(path) as picture:
            (width, height), mode = picture.size, picture.mode
        records.append(
            dict(
                file=file,
                source=path,
                category=category,
                split=split,
                width=width,
                height=height,
                mode=mode,
                sha256=digest,
            )
        )
    with open(os.path.join(out_dir, "sources.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=SOURCE_COLUMNS)
        writer.writeheader()
        writer.writerows(records)
    return records


def build_stamps(out_dir, seed=0, root=None, min_class_files=MIN_CLASS_FILES, test_fraction=TEST_FRACTION):
    """Finds, splits and writes the stamps (see the module docstring); returns `sources.csv`'s rows.

    Raises:
        MissingStamps: the package is not installed.
    """
    rows = split_stamps(find_stamps(root), seed, min_class_files, test_fraction)
    return write_stamps(rows, out_dir)


def describe(records):
    """Class counts per split and the pictures' sizes and modes, as text lines."""
    counts = collections.Counter((r["category"], r["split"]) for r in records)
    categories = sorted(
        {r["category"] for r in records}, key=lambda c: (-sum(counts[c, s] for s in SPLITS), c)
    )
    lines = [f"{'category':12} {'train':>6} {'test':>6}"]
    lines += [f"{c:12} {counts[c, 'train']:6} {counts[c, 'test']:6}" for c in categories]
    lines.append(
        f"{'all':12} {sum(counts[c, 'train'] for c in categories):6} "
        f"{sum(counts[c, 'test'] for c in categories):6}"
    )
    return lines + [size_line(records)]


def size_line(records):
    """One line: the median height and width, their range, and the PIL modes of `records`."""
    heights = sorted(r["height"] for r in records)
    widths = sorted(r["width"] for r in records)
    modes = collections.Counter(r["mode"] for r in records)
    return (
        f"size (height x width): median {_median(heights):g}x{_median(widths):g}, "
        f"{heights[0]}..{heights[-1]} x {widths[0]}..{widths[-1]}; modes "
        + ", ".join(f"{mode} {n}" for mode, n in modes.most_common())
    )


def hidden_colours(records, out_dir):
    """What lies under the fully transparent pixels of the pictures of `records` (files under
    `out_dir`), as the files store them (mmcnn composites alpha over white since e86da62;
    before, it dropped alpha and the model saw these colours):
    a Counter of `"no transparent pixel"`, `"black"`, `"white"` or `"other colours"` per file."""
    import numpy as np
    from PIL import Image

    kinds = collections.Counter()
    for record in records:
        with Image.open(os.path.join(out_dir, record["file"])) as picture:
            rgba = np.asarray(picture.convert("RGBA"))
        hidden = rgba[..., :3][rgba[..., 3] == 0]
        if not len(hidden):
            kinds["no transparent pixel"] += 1
        elif (hidden == 0).all():
            kinds["black"] += 1
        elif (hidden == 255).all():
            kinds["white"] += 1
        else:
            kinds["other colours"] += 1
    return kinds


def _median(values):
    n = len(values)
    return (values[(n - 1) // 2] + values[n // 2]) / 2


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for train/, test/ and sources.csv")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split")
    parser.add_argument("--root", help=f"the stamps folder (default {STAMPS_DIR})")
    parser.add_argument("--min-class-files", type=int, default=MIN_CLASS_FILES)
    parser.add_argument("--test-fraction", type=float, default=TEST_FRACTION)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        records = build_stamps(args.out, args.seed, args.root, args.min_class_files, args.test_fraction)
    except MissingStamps as error:
        raise SystemExit(f"tuxpaint_stamps: {error}") from None
    print("\n".join(describe(records)))
    print(f"wrote {len(records)} stamps to {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
