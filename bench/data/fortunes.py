"""A text classification corpus from the Debian fortune-cookie files (no download).

Each fortune's label is the file it comes from (`computers`, `science`, `politics`, ...).
Fortune files hold texts separated by lines containing only `%`. The offensive collection
(`off/`, package `fortunes-off`) and the per-language subfolders are never read.

Needs the Debian packages `fortunes`, `fortunes-min`, `fortunes-bofh-excuses` (run
`bench/setup.sh`).

Example:

>>> train, test = load_fortunes()  # doctest: +SKIP
>>> list(train.columns)
['text', 'label']

Command line (prints the class counts):

    .venv/bin/python -m bench.data.fortunes
"""

import argparse
import hashlib
import os
import re

import pandas as pd

DEFAULT_DIR = "/usr/share/games/fortunes"

# Backspace overstriking (`_\bx` underlines x, `x\bx` bolds it) from the days of line printers.
_OVERSTRIKE = re.compile(r".\x08")
# Every bofh-excuses entry starts with "BOFH excuse #123:", which would give its label away.
_BOFH_HEADER = re.compile(r"\ABOFH excuse #\d+:\s*")


def read_fortune_file(path):
    """Returns the fortunes of one file as a list of stripped strings (empty ones dropped)."""
    with open(path, "rb") as f:
        raw = f.read()
    # A few files are Latin-1; the rest UTF-8 (Debian's `.u8` names are links to the same files).
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    text = _OVERSTRIKE.sub("", text).replace("\r\n", "\n")
    fortunes = re.split(r"^%\s*$", text, flags=re.MULTILINE)
    fortunes = [_BOFH_HEADER.sub("", f.strip("\n")).rstrip() for f in fortunes]
    return [f for f in fortunes if f.strip()]


def read_all_fortunes(directory=DEFAULT_DIR):
    """Reads every top-level fortune file of `directory`.

    Returns:
        DataFrame with columns text,label (label = file name), one row per fortune; texts that
        occur in more than one file are dropped (their label is ambiguous), duplicates within a
        file are kept once.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"No fortune files in {directory}. Install the Debian packages `fortunes` and "
            "`fortunes-min` with `bench/setup.sh` (or `apt-get install fortunes fortunes-min`)."
        )
    rows = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        # `.dat` are strfile indices and `.u8` links to the same text; folders hold other
        # languages or, for `off/`, the offensive collection.
        if "." in name or os.path.islink(path) or not os.path.isfile(path):
            continue
        rows.extend({"text": t, "label": name} for t in read_fortune_file(path))
    if not rows:
        raise FileNotFoundError(
            f"No fortune files in {directory}. Run `bench/setup.sh` to install `fortunes`."
        )
    frame = pd.DataFrame(rows).drop_duplicates()
    labels_per_text = frame.groupby("text")["label"].transform("nunique")
    return frame[labels_per_text == 1].reset_index(drop=True)


def _hash_unit(text, seed):
    """A number in [0, 1) fixed by the text and the seed (stable across runs and platforms)."""
    digest = hashlib.sha256(f"{seed}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def load_fortunes(
    min_per_class=300,
    max_per_class=600,
    test_fraction=0.2,
    seed=0,
    classes=None,
    directory=DEFAULT_DIR,
):
    """Loads the fortunes as a train and a test DataFrame with columns text,label.

    Args:
        min_per_class: keep only files with at least this many (distinct) fortunes.
        max_per_class: at most this many fortunes per class (train + test), chosen by a seeded
            hash so the choice is deterministic; `None` keeps all.
        test_fraction: share of each class that goes to the test set.
        seed: seed of the per-text hash that picks and splits the examples.
        classes: file names to use (overrides `min_per_class`); default all that qualify.
        directory: where the fortune files are.

    Returns:
        `(train, test)` pandas DataFrames with columns `text` (str) and `label` (str), sorted by
        label, then text hash. A text is in train or test by its hash alone, so changing
        `max_per_class` or the classes never moves a text from train to test.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"`test_fraction` must be strictly between 0 and 1. Received: test_fraction={test_fraction}"
        )
    if max_per_class is not None and max_per_class < 2:
        raise ValueError(f"`max_per_class` must be at least 2. Received: max_per_class={max_per_class}")
    frame = read_all_fortunes(directory)
    counts = frame["label"].value_counts()
    if classes is None:
        classes = sorted(counts.index[counts >= min_per_class])
    else:
        unknown = sorted(set(classes) - set(counts.index))
        if unknown:
            raise ValueError(f"Unknown fortune classes {unknown}. Available: {sorted(counts.index)}")
        classes = sorted(classes)
    if not classes:
        raise ValueError(
            f"No fortune file has min_per_class={min_per_class} fortunes; the largest has {counts.max()}."
        )
    frame = frame[frame["label"].isin(classes)].copy()
    # Two independent hashes: one picks which texts are kept, the other which split they go to.
    frame["_pick"] = [_hash_unit(t, f"pick{seed}") for t in frame["text"]]
    frame["_split"] = [_hash_unit(t, f"split{seed}") for t in frame["text"]]
    frame = frame.sort_values(["label", "_pick"])
    if max_per_class is not None:
        frame = frame.groupby("label", sort=True).head(max_per_class)
    is_test = frame["_split"] < test_fraction
    columns = ["text", "label"]
    train = frame[~is_test][columns].reset_index(drop=True)
    test = frame[is_test][columns].reset_index(drop=True)
    return train, test


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print the class counts of the fortunes corpus.")
    parser.add_argument("--min-per-class", type=int, default=300)
    parser.add_argument("--max-per-class", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    all_counts = read_all_fortunes()["label"].value_counts().sort_index()
    print("fortunes per file (after de-duplication):")
    print(all_counts.to_string())
    train, test = load_fortunes(args.min_per_class, args.max_per_class, seed=args.seed)
    counts = (
        pd.DataFrame({"train": train["label"].value_counts(), "test": test["label"].value_counts()})
        .fillna(0)
        .astype(int)
    )
    print(
        f"\nload_fortunes(min_per_class={args.min_per_class}, "
        f"max_per_class={args.max_per_class}): {len(counts)} classes, "
        f"{len(train)} train, {len(test)} test"
    )
    print(counts.to_string())
    lengths = pd.concat([train, test])["text"].str.len()
    print(
        f"characters per text: median {lengths.median():.0f}, 90th percentile "
        f"{lengths.quantile(0.9):.0f}, max {lengths.max()}"
    )


if __name__ == "__main__":
    main()
