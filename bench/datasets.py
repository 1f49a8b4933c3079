"""The data sets of the benchmarks: loading the bench data, splits, draws and synthetic data.

The real data come from Debian packages (`bench/setup.sh` installs them; `bench/data/` builds and
reads them, see `bench/data/README.md`); nothing here downloads anything.

- `load_speech(out_dir, ...)`: the espeak-ng spoken commands (`bench.data.speech`), split by voice
  into train / validation (held-out training voices) / test (unheard voices).
- `split_fortunes()`: the fortunes corpus (`bench.data.fortunes`), 10 % of training held out.
- `app_table_csvs(data_dir, demo_data)`: `{split: CSV path}` of the Debian desktop apps table
  (`bench.data.appstream_table`, built in `data_dir` first when absent; or the demo table).
- `load_split(modality, demo_data, speech_dir)`: `(train, val, test)` of one modality's bench
  data (or of the demo data shipped in `mmcnn/demo_data`); `limit(data, count)` keeps a seeded
  subset.
- `subset(x, y, classes, ...)`, `draw(x, y, per_class, seed)`: Fashion-MNIST classes and draws;
  `SOURCE_CLASSES` / `TARGET_CLASSES`: its halves for transfer runs. `select_texts(frame, ...)`:
  fortunes of some classes.
- Synthetic data, for benchmarks whose timings do not depend on the data: `synthetic_images`,
  `synthetic_waves`, `synthetic_texts`, `synthetic_clips` (learnable tones), `write_pngs`, and
  `labeled(modality, x, y)` to make `LabeledData` of them.
- `write_class_pngs`: picture arrays (Fashion-MNIST's) as PNG class folders, what a user has.
"""

import os
import tempfile
import time

import numpy as np

SEED = 0
NUM_CLASSES = 10
SAMPLE_RATE = 16000
# Validation share of the fortunes training texts.
VALIDATION_FRACTION = 0.1
# Fashion-MNIST halves of the transfer benchmarks: sources 0..4, targets 5..9.
SOURCE_CLASSES = [0, 1, 2, 3, 4]
TARGET_CLASSES = [5, 6, 7, 8, 9]


# ---------------------------------------------------------------------------- bench data
def load_speech(out_dir, clips_per_word_per_voice, val_fraction, cache_dir, train_voices=None):
    """`(data, voices, built seconds, decode seconds)`: `data` maps train / val / test to LabeledData
    of the spoken commands in `out_dir` (built there first when it has no `manifest.csv`)."""
    import pandas as pd

    from bench.data.speech import build_speech_commands
    from mmcnn.audio import from_dataframe

    manifest_path = os.path.join(out_dir, "manifest.csv")
    start = time.perf_counter()
    if os.path.exists(manifest_path):
        manifest = pd.read_csv(manifest_path)
        built = None
    else:
        manifest = build_speech_commands(
            out_dir, clips_per_word_per_voice=clips_per_word_per_voice, seed=SEED
        )
        built = time.perf_counter() - start
    manifest["path"] = [os.path.join(out_dir, p) for p in manifest["path"]]
    # Validation: a share of the *training voices*, so early stopping also measures
    # unheard voices, and the test voices stay untouched.
    heard = sorted(manifest.loc[manifest.split == "train", "voice"].unique())
    rng = np.random.default_rng(SEED)
    val_voices = set(rng.choice(heard, int(round(len(heard) * val_fraction)), replace=False))
    is_val = manifest.voice.isin(val_voices) & (manifest.split == "train")
    is_train = (manifest.split == "train") & ~is_val
    if train_voices is not None:
        # Fewer speakers to learn from (see the results for why).
        candidates = sorted(manifest.loc[is_train, "voice"].unique())
        kept = set(rng.choice(candidates, min(train_voices, len(candidates)), replace=False))
        is_train &= manifest.voice.isin(kept)
    parts = {"train": manifest[is_train], "val": manifest[is_val], "test": manifest[manifest.split == "test"]}
    words = sorted(manifest.label.unique())
    start = time.perf_counter()
    data = {
        k: from_dataframe(v[["path", "label"]], class_names=words, cache_dir=cache_dir, verbose=0)
        for k, v in parts.items()
    }
    decode = time.perf_counter() - start
    voices = {k: v.voice.nunique() for k, v in parts.items()}
    return data, voices, built, decode


def split_fortunes():
    """`(train, val, test)` LabeledData of the fortunes corpus (`load_fortunes()` defaults)."""
    from bench.data.fortunes import load_fortunes
    from mmcnn.text import from_dataframe

    train_frame, test_frame = load_fortunes()
    train_all = from_dataframe(train_frame, verbose=0)
    test = from_dataframe(test_frame, class_names=train_all.class_names, verbose=0)
    train, val = train_all.split(VALIDATION_FRACTION, seed=SEED)
    return train, val, test


def app_table_csvs(data_dir="/tmp/mmcnn-bench/apps", demo_data=False):
    """`({"train", "val", "test"}: CSV path, built seconds or None)` of the apps table.

    The bench table (`bench.data.appstream_table`) is built in `data_dir` when it has no
    `train.csv`. `demo_data`: the 400-row table of `mmcnn/demo_data/table`, whose `test.csv`
    also serves as validation (a smoke run, not a measurement).
    """
    if demo_data:
        import importlib.util

        root = list(importlib.util.find_spec("mmcnn").submodule_search_locations)[0]
        folder = os.path.join(root, "demo_data", "table")
        csvs = {
            split: os.path.join(folder, f"{name}.csv")
            for split, name in (("train", "train"), ("val", "test"), ("test", "test"))
        }
        return csvs, None
    from bench.data import appstream_table

    built = None
    if not os.path.exists(os.path.join(data_dir, "train.csv")):
        start = time.perf_counter()
        frame, _, icons = appstream_table.load_apps()
        with icons:
            appstream_table.write_table(frame, icons, data_dir)
        built = time.perf_counter() - start
    return {split: os.path.join(data_dir, f"{split}.csv") for split in appstream_table.SPLITS}, built


# The text sets of `bench/bench_text_vs_linear.py`, in table order.
TEXT_SETS = ("debian-sections", "fortunes-10", "debtags", "apps", "app-categories")
# The 10 largest fortune files (distinct fortunes): the fortunes-10 classes.
FORTUNES_10 = (
    "people", "definitions", "cookie", "computers", "songs-poems",
    "politics", "miscellaneous", "work", "science", "men-women",
)  # fmt: skip
# Training texts kept of the debtags corpus (a seeded draw): its 18,000 would take most of a run.
DEBTAGS_TRAIN = 6000


def _frame_splits(frame, label_column, class_names):
    from mmcnn.text import from_dataframe

    data = from_dataframe(
        frame[["text", label_column]], label_column=label_column, class_names=class_names, verbose=0
    )
    return [
        data.subset(np.flatnonzero(frame["split"].to_numpy() == s)) for s in ("train", "validation", "test")
    ]


def text_sets(names=TEXT_SETS):
    """`{name: (train, val, test, description)}` of the text benchmark sets (`TEXT_SETS`)."""
    from mmcnn.text import from_dataframe

    sets = {}
    for name in names:
        if name == "debian-sections":
            from bench.data.debian_sections import load_debian_sections

            frame = load_debian_sections()
            parts = _frame_splits(frame, "label", frame.attrs["classes"])
            about = (
                "`load_debian_sections()` (12 most frequent sections, 600 texts each, 65/15/20 % hash split)"
            )
        elif name == "fortunes-10":
            from bench.data.fortunes import load_fortunes

            train_frame, test_frame = load_fortunes(classes=FORTUNES_10, max_per_class=600)
            train_all = from_dataframe(train_frame, verbose=0)
            test = from_dataframe(test_frame, class_names=train_all.class_names, verbose=0)
            parts = [*train_all.split(0.15, seed=SEED), test]
            about = "`load_fortunes(classes=FORTUNES_10, max_per_class=600)`, 15 % of train for validation"
        elif name == "debtags":
            from bench.data.debtags import load_debtags

            frame = load_debtags(num_tags=30, seed=SEED)
            parts = _frame_splits(frame, "labels", frame.attrs["tags"])
            parts[0] = limit(parts[0], DEBTAGS_TRAIN)
            about = f"`load_debtags(num_tags=30)`, a seeded {DEBTAGS_TRAIN} of its training texts"
        elif name == "apps":
            csvs, _ = app_table_csvs()
            train = from_dataframe(csvs["train"], verbose=0)
            parts = [
                train,
                *(from_dataframe(csvs[s], class_names=train.class_names, verbose=0) for s in ("val", "test")),
            ]
            about = (
                "the apps table's `text` column (AppStream summary and description, "
                "`bench.data.appstream_table`) -> the app's main category"
            )
        elif name == "app-categories":
            from bench.data import appstream_table

            apps, _, icons = appstream_table.load_apps()
            icons.close()
            frame, tags = appstream_table.category_tags(apps)
            parts = _frame_splits(frame, "labels", tags)
            about = (
                "the same apps' text -> every freedesktop category they list that "
                f"{appstream_table.MIN_TAG_ROWS}+ training apps list (`category_tags`)"
            )
        else:
            raise ValueError(f"Unknown text set {name!r}. Expected one of {TEXT_SETS}")
        sets[name] = (*parts, about)
    return sets


def load_split(modality, demo_data=False, speech_dir="/tmp/speech_bench"):
    """`(train, val, test)` LabeledData of a modality's benchmark (or shipped demo) data."""
    if demo_data:
        from mmcnn.demo import _data_paths
        from mmcnn.runs import load_data

        paths = _data_paths(modality, tempfile.mkdtemp(prefix="bench-edge-"))
        train = load_data(modality, paths["train"], verbose=0)
        test = load_data(modality, paths["test"], class_names=train.class_names, verbose=0)
        train, val = train.split(0.1, seed=SEED)
        return train, val, test
    if modality == "image":
        import mmcnn.image as mi
        from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

        (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
        train = mi.from_arrays(x_train, y_train, class_names=CLASS_NAMES)
        train, val = train.split(5000 / len(train), seed=SEED)
        return train, val, mi.from_arrays(x_test, y_test, class_names=CLASS_NAMES)
    if modality == "audio":
        data = load_speech(speech_dir, 1, 0.1, None)[0]
        return data["train"], data["val"], data["test"]
    return split_fortunes()


def limit(data, count):
    """`data`, or a seeded subset of `count` of its examples (in their order)."""
    if count is None or len(data) <= count:
        return data
    return data.subset(np.sort(np.random.default_rng(SEED).choice(len(data), count, replace=False)))


# ---------------------------------------------------------------------------- draws
def subset(x, y, classes, per_class=None, seed=0, counts=None):
    """Images of `classes` (relabelled 0..n-1): all, `per_class` each, or `counts[i]` of class i."""
    rng = np.random.default_rng(seed)
    keep = []
    for i, c in enumerate(classes):
        index = np.flatnonzero(y == c)
        n = counts[i] if counts is not None else per_class
        keep.append(index if n is None else rng.choice(index, n, replace=False))
    keep = np.sort(np.concatenate(keep))
    relabel = {c: i for i, c in enumerate(classes)}
    return x[keep], np.array([relabel[v] for v in y[keep]])


def draw(x, y, per_class, seed):
    """`per_class` examples of each of the 10 classes, drawn with `seed`, in their order."""
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(10)]
    keep = np.sort(np.concatenate(picks))
    return x[keep], y[keep]


def select_texts(frame, classes, per_class=None, seed=0):
    """`LabeledData` of the texts of `classes` (in that order): all, or `per_class` of each, drawn."""
    from mmcnn.text import from_arrays

    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for name in classes:
        rows = frame.index[frame["label"] == name].to_numpy()
        if per_class is not None:
            rows = np.sort(rng.choice(rows, per_class, replace=False))
        texts += frame.loc[rows, "text"].tolist()
        labels += [name] * len(rows)
    return from_arrays(texts, labels, class_names=list(classes))


# ---------------------------------------------------------------------------- synthetic data
def synthetic_images(n, rng, size=28):
    return rng.integers(0, 256, (n, size, size, 1)).astype("float32"), rng.integers(0, NUM_CLASSES, n)


def synthetic_waves(n, rng, samples=16000):
    t = np.arange(samples) / 16000.0
    freqs = rng.uniform(200, 2000, (n, 1))
    waves = 0.3 * np.sin(2 * np.pi * freqs * t) + 0.05 * rng.standard_normal((n, samples))
    return waves.astype("float32"), rng.integers(0, NUM_CLASSES, n)


def synthetic_texts(n, rng, vocabulary=3000):
    words = [f"w{i}" for i in range(vocabulary)]
    lengths = rng.integers(5, 40, n)
    # Zipf-like word frequencies, as in real text.
    p = 1.0 / np.arange(1, vocabulary + 1)
    p /= p.sum()
    texts = [" ".join(rng.choice(words, size=k, p=p)) + "." for k in lengths]
    return texts, rng.integers(0, NUM_CLASSES, n)


def synthetic_clips(n, seed=0):
    """`(waves, labels)`: 1 s tones of 10 pitches in white noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    waves = 0.3 * np.sin(2 * np.pi * (200 + 150 * labels[:, None]) * t) + 0.05 * rng.standard_normal(
        (n, t.size)
    )
    return waves.astype("float32"), labels.astype("int32")


def write_pngs(root, n, size, rng, per_class_dirs=NUM_CLASSES):
    from PIL import Image

    for c in range(per_class_dirs):
        os.makedirs(os.path.join(root, f"class{c}"), exist_ok=True)
    # Smooth random blobs compress like real photos, unlike white noise.
    base = rng.integers(0, 256, (n, size // 8, size // 8), dtype=np.uint8)
    for i in range(n):
        image = Image.fromarray(base[i]).resize((size, size), Image.BILINEAR)
        image.save(os.path.join(root, f"class{i % per_class_dirs}", f"{i:06d}.png"))


def write_class_pngs(root, x, y, names):
    """`root/<class name>/<i>.png` for the pictures `x` (uint8 arrays) labelled `y` (indices into
    `names`; a `/` in a name becomes `-`); returns `root`."""
    from PIL import Image

    for i, (pixels, label) in enumerate(zip(x, y)):
        folder = os.path.join(root, names[int(label)].replace("/", "-"))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(pixels).save(os.path.join(folder, f"{i}.png"))
    return root


def labeled(modality, x, y):
    """LabeledData of `x`, `y` for `modality`, classes named "0" to "9"."""
    import mmcnn.audio
    import mmcnn.image
    import mmcnn.text

    names = [str(i) for i in range(NUM_CLASSES)]
    module = {"image": mmcnn.image, "audio": mmcnn.audio, "text": mmcnn.text}[modality]
    return module.from_arrays(x, y, class_names=names)
