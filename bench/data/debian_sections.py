"""A single-label text corpus: Debian package short descriptions -> the package's archive section.

Each example is one package's one-line `Description:` from the apt lists of this machine
(`apt-cache dumpavail`, as `bench.data.debtags` reads them); its label is the package's
`Section:` without the archive area (`contrib/net` -> `net`). The package name is never part of
the text. Texts found under two sections are dropped (their label is ambiguous), repeated
(text, section) rows are kept once. The classes are the `num_classes` sections with the most
distinct texts (ties by name); a seeded hash of each text picks at most `max_per_class` texts
of each class and assigns the split, so a text's split never depends on the other texts.

Example:

>>> frame = load_debian_sections()  # doctest: +SKIP
>>> list(frame.columns)  # doctest: +SKIP
['text', 'label', 'split']

Command line (prints the counts):

    .venv/bin/python -m bench.data.debian_sections
"""

import argparse

import pandas as pd

from bench.data.debtags import SPLITS, _hash_unit, apt_lists_snapshot, parse_records, read_dumpavail


def build_debian_sections(
    records, num_classes=12, max_per_class=600, validation_fraction=0.15, test_fraction=0.2, seed=0
):
    """The corpus of `records` (as `bench.data.debtags.parse_records` gives): see `load_debian_sections`."""
    rows = [
        (r["Description"], r["Section"].rsplit("/", 1)[-1])
        for r in records
        if r.get("Description") and r.get("Section")
    ]
    if not rows:
        raise ValueError(
            f"None of the {len(records)} package records has both a `Description:` and a `Section:` "
            "field. The apt lists may be missing: run `apt-get update` (as root) and retry."
        )
    frame = pd.DataFrame(rows, columns=["text", "label"]).drop_duplicates(ignore_index=True)
    frame = frame[frame.groupby("text")["label"].transform("nunique") == 1]
    counts = frame["label"].value_counts()
    classes = sorted(counts.index, key=lambda name: (-counts[name], name))[:num_classes]
    frame = frame[frame["label"].isin(classes)].copy()
    frame["_pick"] = frame["text"].map(lambda text: _hash_unit(text, f"pick{seed}"))
    frame = frame.sort_values(["label", "_pick"]).groupby("label", sort=True).head(max_per_class)
    unit = frame["text"].map(lambda text: _hash_unit(text, f"split{seed}"))
    frame["split"] = "train"
    frame.loc[unit < test_fraction + validation_fraction, "split"] = "validation"
    frame.loc[unit < test_fraction, "split"] = "test"
    frame = frame.drop(columns="_pick").reset_index(drop=True)
    frame.attrs.update(classes=sorted(classes), records=len(records))
    return frame


def load_debian_sections(
    num_classes=12, max_per_class=600, validation_fraction=0.15, test_fraction=0.2, seed=0
):
    """Package short descriptions labelled with their section, split into train, validation, test.

    Returns:
        pandas DataFrame with columns `text`, `label` (the section) and `split`; `frame.attrs`
        holds `classes` (sorted) and `records` (package records read).
    """
    return build_debian_sections(
        parse_records(read_dumpavail()), num_classes, max_per_class, validation_fraction, test_fraction, seed
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description="Print the counts of the Debian sections corpus.")
    parser.add_argument("--num-classes", type=int, default=12)
    parser.add_argument("--max-per-class", type=int, default=600)
    args = parser.parse_args(argv)
    frame = load_debian_sections(args.num_classes, args.max_per_class)
    print(f"apt lists: {apt_lists_snapshot() or 'unknown'}; {frame.attrs['records']} package records")
    counts = pd.crosstab(frame["label"], frame["split"]).reindex(columns=list(SPLITS))
    print(counts.to_string())
    lengths = frame["text"].str.len()
    print(f"{len(frame)} texts; characters per text: median {lengths.median():.0f}, max {lengths.max()}")


if __name__ == "__main__":
    main()
