"""Does `mmcnn tune` pay? A timed search per modality, its best settings retrained and scored on test data.

For each modality: a search with a wall-clock budget on the training data, every
trial scored on a validation split (`mmcnn.tune.tune`); then the best
configuration (`best.toml`) trained again with `mmcnn.runs.train_run`, exactly
as `mmcnn train --config best.toml` would, and the default classifier (its
default preset and schedule) trained the same way; both are scored once on the
test split, which the search never sees. The table reports the gain, or its
absence, with the seconds each part took (the default trains its own schedule,
with early stopping; it is not stretched to the search's time).

Data:
- full (the issue's measure, 30 minutes per modality): the benchmark data of
  bench/bench_image.py (Fashion-MNIST), bench/bench_audio.py (synthesised
  speech commands, unseen test voices) and bench/bench_text.py (fortunes);
  see bench/data/README.md and bench/setup.sh.
- `--quick`: the demo data that ships with mmcnn, a few minutes in all (a smoke
  run of the whole measure, not a result).

Run from the repository root:

    .venv/bin/python -m bench.bench_tune --quick
    nice -n 0 .venv/bin/python -m bench.bench_tune --budget 30m --out bench/results/tune.md
    .venv/bin/python -m bench.bench_tune --rescore --only image --work DIR   # retrain a finished search
"""

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time

import numpy as np

from bench.harness import load_average, machine_line, write_results

MODALITIES = ("image", "audio", "text")
DEMO_DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mmcnn", "demo_data")
SEED = 0


# ------------------------------------------------------------------- data
def _image_folders(x, y, names, root):
    """Arrays as PNG class folders: `mmcnn train --config best.toml` reads what users have."""
    from PIL import Image

    for i, (pixels, label) in enumerate(zip(x, y)):
        folder = os.path.join(root, names[label].replace("/", "-"))
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(pixels).save(os.path.join(folder, f"{i}.png"))
    return root


def _split_csv(frame, root, fraction=0.1):
    """A text frame as train/val CSV manifests, `fraction` of each class held out with the seed."""
    rng = np.random.default_rng(SEED)
    held = np.zeros(len(frame), bool)
    for label in frame["label"].unique():
        rows = np.flatnonzero(frame["label"].to_numpy() == label)
        rng.shuffle(rows)
        held[rows[: max(1, int(round(len(rows) * fraction)))]] = True
    paths = {}
    for name, part in (("train", frame[~held]), ("val", frame[held])):
        paths[name] = os.path.join(root, f"{name}.csv")
        part.to_csv(paths[name], index=False)
    return paths


def data_paths(modality, quick, root):
    """`({train, val, test} paths, fixed settings)`: what the search and both trainings read."""
    import pandas as pd

    os.makedirs(root, exist_ok=True)
    if modality == "image":
        if quick:
            subset = np.load(os.path.join(DEMO_DATA, "image", "fashion_mnist_subset.npz"))
            names = [str(n) for n in subset["class_names"]]
            (x, y), (xt, yt) = (subset["x_train"], subset["y_train"]), (subset["x_test"], subset["y_test"])
            x, y, xt, yt = x[:600], y[:600], xt[:300], yt[:300]
        else:
            from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

            names = list(CLASS_NAMES)
            (x, y), (xt, yt) = load_fashion_mnist()
        order = np.random.default_rng(SEED).permutation(len(x))
        n_val = max(len(names), len(x) // 12)
        val, train = order[:n_val], order[n_val:]
        paths = {
            "train": _image_folders(x[train], y[train], names, os.path.join(root, "train")),
            "val": _image_folders(x[val], y[val], names, os.path.join(root, "val")),
            "test": _image_folders(xt, yt, names, os.path.join(root, "test")),
        }
        return paths, {"image_size": [28, 28], "channels": 1}
    if modality == "audio":
        if quick:
            manifest = pd.read_csv(os.path.join(DEMO_DATA, "audio", "manifest.csv"))
            manifest["path"] = [os.path.join(DEMO_DATA, "audio", p) for p in manifest["path"]]
        else:
            from bench.data.speech import build_speech_commands

            out_dir = os.path.join(root, "speech")
            manifest = build_speech_commands(out_dir, clips_per_word_per_voice=1, seed=SEED)
            manifest["path"] = [os.path.join(out_dir, p) for p in manifest["path"]]
        # Validation: a tenth of the training voices, so that it, too, measures unheard voices.
        heard = sorted(manifest.loc[manifest.split == "train", "voice"].unique())
        rng = np.random.default_rng(SEED)
        val_voices = set(rng.choice(heard, max(1, round(len(heard) * 0.1)), replace=False))
        is_val = manifest.voice.isin(val_voices) & (manifest.split == "train")
        parts = {
            "train": manifest[(manifest.split == "train") & ~is_val],
            "val": manifest[is_val],
            "test": manifest[manifest.split == "test"],
        }
        paths = {}
        for name, part in parts.items():
            paths[name] = os.path.join(root, f"{name}.csv")
            part[["path", "label"]].to_csv(paths[name], index=False)
        return paths, {}
    if quick:
        train = pd.read_csv(os.path.join(DEMO_DATA, "text", "train.csv"))
        test_path = os.path.join(DEMO_DATA, "text", "test.csv")
    else:
        from bench.data.fortunes import load_fortunes

        train, test = load_fortunes()
        test_path = os.path.join(root, "test.csv")
        test.to_csv(test_path, index=False)
    paths = _split_csv(train, root)
    paths["test"] = test_path
    return paths, {}


# ------------------------------------------------------------------ measure
def train_and_test(modality, paths, out, config_file=None, settings=()):
    """`mmcnn train` (with `--config`), then the test split scored once: (test accuracy, seconds)."""
    from mmcnn import runs

    config = runs.resolve_train_config(
        modality,
        {"train": paths["train"], "val": paths["val"], "test": paths["test"], "out": out},
        config_file=config_file,
        settings=settings,
    )
    start = time.perf_counter()
    metrics = runs.train_run(config, verbose=0)
    return metrics["test"]["accuracy"], metrics["validation"]["accuracy"], time.perf_counter() - start


def finished_search(out):
    """What `tune` returned (the fields used here), read back from the search finished in `out`;
    its seconds are the sum of the trials' training seconds."""
    from mmcnn.tune import tuner as tuner_module
    from mmcnn.tune.report import best_settings, best_trial, read_trials

    with open(os.path.join(out, "tune.json"), encoding="utf-8") as f:
        search = json.load(f)
    trials = read_trials(os.path.join(out, tuner_module.PROJECT))
    best = best_trial(trials)
    return {
        "best_toml": os.path.join(out, "best.toml"),
        "trials": len(trials),
        "algorithm": search["algorithm"],
        "best": best_settings(best, search),
        "val_accuracy": best["val_accuracy"],
        "seconds": sum(t.get("train_seconds", 0.0) for t in trials),
    }


def measure(modality, budget, quick, work, rescore=False):
    from mmcnn.tune import tune

    paths, fixed = data_paths(modality, quick, os.path.join(work, modality, "data"))
    start = time.perf_counter()
    out = os.path.join(work, modality, "tune")
    if rescore:
        result = finished_search(out)
        search_s = result["seconds"]
        for run in ("default", "best"):
            # A finished run directory would be taken as done (mmcnn train resumes it): train anew.
            shutil.rmtree(os.path.join(work, modality, run), ignore_errors=True)
    else:
        result = tune(
            modality, paths["train"], val=paths["val"], out=out, budget=budget, settings=fixed, seed=SEED
        )
        search_s = time.perf_counter() - start
    settings = [f"{k}={v}".replace("'", '"') for k, v in fixed.items()]
    default = train_and_test(modality, paths, os.path.join(work, modality, "default"), settings=settings)
    best = train_and_test(
        modality, paths, os.path.join(work, modality, "best"), config_file=result["best_toml"]
    )
    return {
        "modality": modality,
        "search_s": search_s,
        "trials": result["trials"],
        "algorithm": result["algorithm"],
        "best": result["best"],
        "search_val": result["val_accuracy"],
        "default": default,
        "tuned": best,
    }


def table(rows):
    lines = [
        "| modality | search | trials | default: test acc (val, s) | tuned: test acc (val, s) | gain |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        (dt, dv, ds), (tt, tv, ts) = r["default"], r["tuned"]
        lines.append(
            f"| {r['modality']} | {r['algorithm']}, {r['search_s']:.0f} s | {r['trials']} | "
            f"{dt:.4f} ({dv:.4f}, {ds:.0f} s) | {tt:.4f} ({tv:.4f}, {ts:.0f} s) | {tt - dt:+.4f} |"
        )
    lines.append("")
    for r in rows:
        lines.append(f"- {r['modality']} best settings: `{r['best']}`")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="demo data and a short budget (a smoke run)")
    parser.add_argument("--budget", help="search budget per modality (default: 30m, --quick: 60s)")
    parser.add_argument("--only", nargs="*", choices=MODALITIES, default=list(MODALITIES))
    parser.add_argument("--work", help="folder for data, searches and runs (default: a temporary one)")
    parser.add_argument("--out", help="markdown results file (default: print only)")
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="do not search: retrain and score the searches already finished in --work (after a fix "
        "to training; the search column then sums the trials' training seconds)",
    )
    args = parser.parse_args(argv)
    if args.rescore and not args.work:
        parser.error("--rescore needs --work, the folder of the finished searches")
    budget = args.budget or ("60s" if args.quick else "30m")
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stdout)
    load_before = load_average()
    work = args.work or tempfile.mkdtemp(prefix="bench_tune_")
    rows = []
    for modality in args.only:
        what = "retraining the finished search's best" if args.rescore else f"searching for {budget}"
        print(f"== {modality}: {what}", flush=True)
        rows.append(measure(modality, budget, args.quick, work, rescore=args.rescore))
        print(table(rows[-1:]), flush=True)
    text = "\n".join(
        [
            f"# mmcnn tune: {budget} searches{' (--quick: demo data, a smoke run)' if args.quick else ''}",
            "",
            table(rows),
            "",
            f"- Machine: {machine_line()}",
            f"- Load before: `{load_before}`; after: `{load_average()}`",
            f"- Command: `{' '.join(['python -m bench.bench_tune', *(argv or sys.argv[1:])])}`",
            "",
        ]
    )
    print(text)
    if args.out:
        write_results(args.out, text.splitlines())


if __name__ == "__main__":
    main()
