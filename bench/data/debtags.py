"""A multi-label text corpus: Debian package short descriptions with their debtags (no download).

Each example is one package's one-line `Description:` from the apt lists of this machine
(`apt-cache dumpavail`); its labels are the package's debtags (`Tag:` field, e.g.
`interface::commandline, use::converting, works-with::image`) among a fixed set of frequent,
informative tags. The package name is never part of the text: names such as `python3-foo` or
`libbar-perl` give tags like `implemented-in::python` away.

The label set: the `num_tags` most frequent tags of the facets in `FACETS` (what a package is
for, works with, is made with, how it is used), without `role::program` (on nearly every
application, so it says little) and the `::TODO` placeholders. Facets named after suites,
toolkits, hardware or culture are left out: they are mostly read off the package name or
its section, not its description. Packages without any kept tag are dropped, and identical
(text, labels) rows are kept once (many arch-specific or per-version packages share their
description and tags). The same text can still occur with different label sets; every copy
of a text lands in the same split, because the split is a seeded hash of the text.

The apt lists change with `apt-get update`, so the counts depend on the snapshot:
`apt_lists_snapshot()` names it (codename and `Date:` of each `Release` file).

Example:

>>> frame = load_debtags()  # doctest: +SKIP
>>> list(frame.columns)  # doctest: +SKIP
['text', 'labels', 'split']

Command line (prints the counts; `--out` writes the manifest that `from_dataframe` and
`mmcnn train text` read, `--split-files` also one CSV per split next to it):

    .venv/bin/python -m bench.data.debtags --out /tmp/debtags/debtags.csv --split-files
"""

import argparse
import collections
import glob
import hashlib
import os
import subprocess

import pandas as pd

# Facets whose tags describe what a package does or is, rather than where it comes from.
FACETS = ("use", "works-with", "field", "interface", "implemented-in", "devel", "role")
# Kept out of the label set: a tag on almost every application, or a placeholder.
EXCLUDED_TAGS = ("role::program",)
SPLITS = ("train", "validation", "test")
LABEL_SEPARATOR = ";"
APT_LISTS = "/var/lib/apt/lists"


def read_dumpavail(command=("apt-cache", "dumpavail")):
    """The text of `apt-cache dumpavail`: every package record of the apt lists.

    Raises:
        FileNotFoundError: when `apt-cache` is not installed.
        RuntimeError: when it fails, with its error output.
    """
    try:
        result = subprocess.run(list(command), capture_output=True, check=False)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"`{command[0]}` not found: the debtags corpus needs a Debian or Ubuntu machine with apt."
        ) from error
    if result.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command)}` failed with exit status {result.returncode}: "
            f"{result.stderr.decode('utf-8', 'replace').strip()[:500]}"
        )
    return result.stdout.decode("utf-8", errors="replace")


def parse_records(text):
    """The package records of a Debian control-file text (`Packages`, `dumpavail`).

    Records are separated by blank lines; a line starting with a space or tab continues the
    field before it (joined with one space).

    Returns:
        list of dicts, field name -> stripped value.

    Example:
    >>> parse_records("Package: a\\nTag: use::editing,\\n works-with::text\\n\\nPackage: b\\n")
    [{'Package': 'a', 'Tag': 'use::editing, works-with::text'}, {'Package': 'b'}]
    """
    records, record, field = [], {}, None
    for line in text.splitlines():
        if not line.strip():
            if record:
                records.append(record)
            record, field = {}, None
        elif line[0] in " \t":
            if field is not None:
                record[field] = f"{record[field]} {line.strip()}".strip()
        else:
            field, _, value = line.partition(":")
            record[field] = value.strip()
    if record:
        records.append(record)
    return records


def split_tags(cell):
    """The tags of a `Tag:` field value, in order: `"a::b, c::d"` -> `["a::b", "c::d"]`."""
    return [tag.strip() for tag in cell.split(",") if tag.strip()]


def choose_tags(tag_lists, num_tags=30, facets=FACETS, excluded=EXCLUDED_TAGS):
    """The `num_tags` most frequent tags of `facets` over `tag_lists` (ties broken by name).

    `excluded` tags and `::TODO` placeholders are never chosen.

    Example:
    >>> choose_tags([["use::editing", "suite::gnu"], ["use::editing", "role::plugin"]], num_tags=5)
    ['use::editing', 'role::plugin']
    """
    counts = collections.Counter(
        tag
        for tags in tag_lists
        for tag in tags
        if tag.split("::", 1)[0] in facets and tag not in excluded and not tag.endswith("::TODO")
    )
    return [tag for tag, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:num_tags]]


def _hash_unit(text, seed):
    """A number in [0, 1) fixed by the text and the seed (stable across runs and platforms)."""
    digest = hashlib.sha256(f"{seed}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def build_debtags(records, num_tags=30, validation_fraction=0.1, test_fraction=0.2, seed=0):
    """The corpus of `records` (as `parse_records` gives): see `load_debtags`."""
    for name, value in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"`{name}` must be strictly between 0 and 1. Received: {name}={value}")
    if validation_fraction + test_fraction >= 1.0:
        raise ValueError(
            "`validation_fraction + test_fraction` must leave a training split. Received: "
            f"validation_fraction={validation_fraction}, test_fraction={test_fraction}"
        )
    tagged = [r for r in records if r.get("Tag") and r.get("Description")]
    if not tagged:
        raise ValueError(
            f"None of the {len(records)} package records has both a `Tag:` and a `Description:` "
            "field. The apt lists may be missing or old: run `apt-get update` (as root) and retry."
        )
    tag_lists = [split_tags(r["Tag"]) for r in tagged]
    kept = choose_tags(tag_lists, num_tags)
    if not kept:
        raise ValueError(f"No tag of the facets {FACETS} in the {len(tagged)} tagged package records.")
    rank = {tag: i for i, tag in enumerate(kept)}
    rows = []
    for record, tags in zip(tagged, tag_lists):
        labels = sorted({t for t in tags if t in rank}, key=rank.get)
        if labels:
            rows.append((record["Description"], LABEL_SEPARATOR.join(labels)))
    frame = pd.DataFrame(rows, columns=["text", "labels"]).drop_duplicates(ignore_index=True)
    unit = frame["text"].map(lambda text: _hash_unit(text, f"split{seed}"))
    frame["split"] = "train"
    frame.loc[unit < test_fraction + validation_fraction, "split"] = "validation"
    frame.loc[unit < test_fraction, "split"] = "test"
    order = pd.Categorical(frame["split"], categories=SPLITS, ordered=True)
    frame = frame.assign(_order=order, _unit=unit).sort_values(["_order", "_unit"])
    frame = frame.drop(columns=["_order", "_unit"]).reset_index(drop=True)
    frame.attrs.update(tags=kept, records=len(records), tagged_records=len(tagged))
    return frame


def load_debtags(num_tags=30, validation_fraction=0.1, test_fraction=0.2, seed=0, text=None):
    """Package short descriptions with their debtags, split into train, validation and test.

    Args:
        num_tags: how many of the most frequent tags (of `FACETS`) to keep as classes.
        validation_fraction: share of the distinct texts in the validation split.
        test_fraction: share of the distinct texts in the test split.
        seed: seed of the per-text hash that assigns the splits.
        text: a control-file text to read instead of running `apt-cache dumpavail`.

    Returns:
        pandas DataFrame with columns `text` (the short description), `labels` (the kept
        tags, most frequent first, joined with `;`) and `split` (`"train"`, `"validation"`,
        `"test"`), ordered by split, then text hash. `frame.attrs` holds `tags` (the label
        set, most frequent first), `records` and `tagged_records` (package records read and
        those with a `Tag:` field).

    Raises:
        ValueError: when no record carries a `Tag:` field (run `apt-get update`).
    """
    records = parse_records(read_dumpavail() if text is None else text)
    return build_debtags(records, num_tags, validation_fraction, test_fraction, seed)


def apt_lists_snapshot(directory=APT_LISTS):
    """Which apt lists the corpus comes from: `"bookworm 2026-07-11, ..."` from each `*Release`
    file's `Codename:` and `Date:` (an empty string where none is readable)."""
    parts = []
    for path in sorted(glob.glob(os.path.join(directory, "*Release"))):
        fields = {}
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if line.startswith(("Codename:", "Date:")):
                        name, _, value = line.partition(":")
                        fields.setdefault(name, value.strip())
                    elif line.startswith(" ") or len(fields) == 2:
                        break  # the checksum lists (or the signature) follow the header fields
        except OSError:
            continue
        if fields:
            parts.append(f"{fields.get('Codename', os.path.basename(path))} ({fields.get('Date', '?')})")
    return ", ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Build the debtags multi-label corpus and print its counts.")
    parser.add_argument("--out", help="CSV manifest to write (columns text,labels,split)")
    parser.add_argument(
        "--split-files",
        action="store_true",
        help="with --out: also write <out>_train.csv, _validation.csv, _test.csv (text,labels)",
    )
    parser.add_argument(
        "--max-per-split", type=int, help="keep at most this many rows of each split (a quick subset)"
    )
    parser.add_argument("--num-tags", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    frame = load_debtags(num_tags=args.num_tags, seed=args.seed)
    tags = frame.attrs["tags"]
    if args.max_per_split is not None:
        frame = frame.groupby("split", sort=False).head(args.max_per_split).reset_index(drop=True)
    print(f"apt lists: {apt_lists_snapshot() or 'unknown'}")
    print(
        f"{frame.attrs['records']} package records, {frame.attrs['tagged_records']} with tags; "
        f"{len(frame)} distinct (text, labels) rows with a kept tag"
    )
    print(frame["split"].value_counts().reindex(SPLITS).to_string())
    label_sets = frame["labels"].str.split(LABEL_SEPARATOR)
    per_split = {split: label_sets[frame["split"] == split].explode().value_counts() for split in SPLITS}
    counts = pd.DataFrame(per_split).reindex(tags).fillna(0).astype(int)
    print(f"\n{len(tags)} tags (rows per split):")
    print(counts.to_string())
    print(f"labels per row: mean {label_sets.str.len().mean():.2f}, max {label_sets.str.len().max()}")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        frame.to_csv(args.out, index=False)
        written = [args.out]
        if args.split_files:
            stem = os.path.splitext(args.out)[0]
            for split in SPLITS:
                path = f"{stem}_{split}.csv"
                frame[frame["split"] == split][["text", "labels"]].to_csv(path, index=False)
                written.append(path)
        print("wrote " + ", ".join(written))


if __name__ == "__main__":
    main()
