"""Writes the small demo data sets that ship inside the package, under `mmcnn/demo_data/`.

    image/fashion_mnist_subset.npz   Fashion-MNIST, 3000 train + 1000 test, balanced
    audio/{train,test}/<word>/*.flac espeak-ng spoken commands, split by voice, + manifest.csv
    text/{train,test}.csv            fortune cookies labelled by their file (8 classes)
    table/{train,test}.csv, icons/   Debian desktop apps: icon, description, size, depends, section

Deterministic for a given seed (and the same Debian package versions). Needs the packages of
`bench/setup.sh`. Run from the repository root:

    .venv/bin/python -m bench.data.make_demo_data
"""

import argparse
import os
import shutil
import time

import numpy as np
import pandas as pd

from bench.data import appstream_table, fashion_mnist, fortunes, speech

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO_ROOT, "mmcnn", "demo_data")

IMAGE_TRAIN_PER_CLASS = 300
IMAGE_TEST_PER_CLASS = 100

# 50 voices x 10 words x 1 clip: ~7 KB per noise-free FLAC clip keeps audio/ under 4 MB.
# Noise is left out on purpose: white noise does not compress (~19 KB per clip), and the
# audio augmentation can add it at training time.
AUDIO_NUM_VOICES = 50
AUDIO_TEST_FRACTION = 0.2

# Eight fortune files with distinct topics and >= 300 fortunes each.
TEXT_CLASSES = (
    "bofh-excuses",
    "computers",
    "definitions",
    "men-women",
    "politics",
    "science",
    "songs-poems",
    "zippy",
)
TEXT_MAX_PER_CLASS = 400

# Apps per class (all 10 classes of bench.data.appstream_table): train from its train split,
# test from its validation and test splits (other source packages); icons at 32x32.
TABLE_TRAIN_PER_CLASS = 30
TABLE_TEST_PER_CLASS = 10
TABLE_ICON_SIZE = 32
PARTS = ("image", "audio", "text", "table")


def make_image(out_dir, seed=0):
    """Balanced Fashion-MNIST subset as one compressed `.npz`. Returns its path."""
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_fashion_mnist()
    rng = np.random.default_rng(seed)

    def pick(y, per_class):
        chosen = [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)]
        # Sorted indices keep the original order; classes come interleaved, not in blocks.
        return np.sort(np.concatenate(chosen))

    train_idx = pick(y_train, IMAGE_TRAIN_PER_CLASS)
    test_idx = pick(y_test, IMAGE_TEST_PER_CLASS)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "fashion_mnist_subset.npz")
    np.savez_compressed(
        path,
        x_train=x_train[train_idx],
        y_train=y_train[train_idx],
        x_test=x_test[test_idx],
        y_test=y_test[test_idx],
        # A fixed-width unicode array loads without allow_pickle.
        class_names=np.array(fashion_mnist.CLASS_NAMES),
    )
    return path


def make_audio(out_dir, seed=0):
    """Spoken commands by `AUDIO_NUM_VOICES` voices as 16-bit FLAC. Returns the manifest."""
    voices = speech.default_voices()
    rng = np.random.default_rng(seed)
    chosen = sorted(voices[i] for i in rng.choice(len(voices), AUDIO_NUM_VOICES, replace=False))
    # Old clips of other voices would otherwise linger next to the new ones.
    for split in ("train", "test"):
        shutil.rmtree(os.path.join(out_dir, split), ignore_errors=True)
    return speech.build_speech_commands(
        out_dir,
        clips_per_word_per_voice=1,
        seed=seed,
        voices=chosen,
        test_fraction=AUDIO_TEST_FRACTION,
        noise=False,
        file_format="flac",
    )


def make_text(out_dir, seed=0):
    """Fortune texts as `train.csv` and `test.csv` (columns text,label). Returns both frames."""
    train, test = fortunes.load_fortunes(max_per_class=TEXT_MAX_PER_CLASS, classes=TEXT_CLASSES, seed=seed)
    os.makedirs(out_dir, exist_ok=True)
    train.to_csv(os.path.join(out_dir, "train.csv"), index=False)
    test.to_csv(os.path.join(out_dir, "test.csv"), index=False)
    return train, test


def make_table(out_dir, seed=0, lists=None):
    """Debian desktop apps as `train.csv`, `test.csv` and `icons/*.png` (32x32). Returns the frame."""
    frame, _, icons = appstream_table.load_apps(lists, seed)
    frame["split"] = frame["split"].replace({"val": "test"})
    # A seeded hash of the app's id picks the rows of each class (stable when others change).
    frame["_unit"] = [appstream_table._unit(app_id, f"demo{seed}") for app_id in frame["id"]]
    picked = []
    for split, count in (("train", TABLE_TRAIN_PER_CLASS), ("test", TABLE_TEST_PER_CLASS)):
        part = frame[frame["split"] == split].sort_values(["label", "_unit"])
        picked.append(part.groupby("label", sort=True).head(count))
    frame = pd.concat(picked).sort_values(["split", "id"], ascending=[False, True]).drop(columns="_unit")
    shutil.rmtree(os.path.join(out_dir, "icons"), ignore_errors=True)
    with icons:
        appstream_table.write_table(frame, icons, out_dir, icon_size=TABLE_ICON_SIZE)
    return frame.reset_index(drop=True)


def _size(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(
        os.path.getsize(os.path.join(root, name)) for root, _, names in os.walk(path) for name in names
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write mmcnn/demo_data/.")
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    args = parser.parse_args(argv)

    if "image" in args.parts:
        start = time.perf_counter()
        make_image(os.path.join(args.out, "image"), seed=args.seed)
        print(f"image: {time.perf_counter() - start:.1f} s")
    if "audio" in args.parts:
        start = time.perf_counter()
        manifest = make_audio(os.path.join(args.out, "audio"), seed=args.seed)
        counts = manifest.groupby("split").agg(clips=("path", "size"), voices=("voice", "nunique"))
        print(f"audio: {time.perf_counter() - start:.1f} s\n{counts.to_string()}")
    if "text" in args.parts:
        start = time.perf_counter()
        train, test = make_text(os.path.join(args.out, "text"), seed=args.seed)
        print(f"text: {time.perf_counter() - start:.1f} s, {len(train)} train, {len(test)} test")
    if "table" in args.parts:
        start = time.perf_counter()
        frame = make_table(os.path.join(args.out, "table"), seed=args.seed)
        counts = pd.crosstab(frame["label"], frame["split"])[["train", "test"]]
        print(f"table: {time.perf_counter() - start:.1f} s\n{counts.to_string()}")
    for part in PARTS:
        path = os.path.join(args.out, part)
        if os.path.exists(path):
            print(f"{part}/: {_size(path) / 1e6:.2f} MB")
    print(f"total: {_size(args.out) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
