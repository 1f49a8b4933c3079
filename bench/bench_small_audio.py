"""Small real sound data: the audio default against a plain spectrogram CNN on real non-speech sets.

Two sets (`--set`), both with nine classes and split by source so that the test set is
sound the models never heard:
- `drums` (issue 17, the default): about 360 training clips of real drum samples from
  Debian's drum kits (bench/data/drums.py), tested on 165 clips of three kits never heard in
  training;
- `sonic-pi` (issue 31): about 240 training clips of Sonic Pi's instrument and sound-effect
  samples in nine families (bench/data/sonic_pi.py), tested on 75 clips of held-out files.

Each configuration is trained with several seeds; a seed draws the validation clips (20% of
the training clips, stratified by class) and initialises the model, and every configuration
of that seed sees the same split. The test set steers nothing; the validation accuracy is
reported so that candidates can be chosen on it.

Configurations:
- `tutorial CNN`: the TensorFlow "simple audio recognition" tutorial's model (bench_audio's
  baseline: |STFT| resized to 32x32, two convolutions, a dense layer), with its own early
  stopping (patience 2, at most 30 epochs) as bench_audio runs it;
- `tutorial CNN, patient`: the same with up to 200 epochs, patience 20 and the best
  weights restored, so that a stop after a noisy epoch does not decide;
- `mmcnn default`: `AudioClassifier(class_names=...)`, every default;
- `--candidate NAME=k=v,...`: more `AudioClassifier` keyword arguments.

    nice -n 0 .venv/bin/python -m bench.bench_small_audio --out bench/results/small_audio.md
    .venv/bin/python -m bench.bench_small_audio --set sonic-pi --data /tmp/sonic_pi \
        --out bench/results/small_audio_sonic_pi.md
    .venv/bin/python -m bench.bench_small_audio --quick   # one seed, tiny, a smoke run
"""

import argparse
import os
import shlex
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.baselines import run_audio_tutorial  # noqa: E402
from bench.harness import load_average, machine_line, median, parse_candidate, publish  # noqa: E402

VALIDATION_FRACTION = 0.2


def drum_set():
    from bench.data.drums import KIND_NAMES, build_drums

    return dict(
        build=build_drums,
        class_names=KIND_NAMES,
        title="nine kinds of drum hits, unseen kits",
        data="bench/data/drums.py",
        test="kits never heard",
        groups="kit",
    )


def sonic_pi_set():
    from bench.data.sonic_pi import FAMILY_NAMES, build_sonic_pi

    return dict(
        build=build_sonic_pi,
        class_names=FAMILY_NAMES,
        title="nine Sonic Pi sample families, unseen files",
        data="bench/data/sonic_pi.py",
        test="sample files never heard",
        groups="source",
    )


SETS = {"drums": drum_set, "sonic-pi": sonic_pi_set}


def load_splits(out_dir, seed, set_name="drums"):
    """`{"train", "val", "test"}` audio datasets of a set (`SETS`); validation drawn with `seed`."""
    from mmcnn.audio import from_dataframe

    sound_set = SETS[set_name]()
    path = os.path.join(out_dir, "manifest.csv")
    manifest = pd.read_csv(path) if os.path.exists(path) else sound_set["build"](out_dir)
    manifest = manifest.assign(path=[os.path.join(out_dir, p) for p in manifest.path])
    train = manifest[manifest.split == "train"]
    rng = np.random.default_rng(seed)
    val_index = []
    for _, group in train.groupby("label"):
        k = max(1, int(round(VALIDATION_FRACTION * len(group))))
        val_index.extend(rng.choice(group.index, k, replace=False))
    parts = {
        "train": train.drop(index=val_index),
        "val": train.loc[val_index],
        "test": manifest[manifest.split == "test"],
    }
    return {
        k: from_dataframe(v[["path", "label"]], class_names=list(sound_set["class_names"]), verbose=0)
        for k, v in parts.items()
    }


def run_tutorial(data, seed, epochs, patience, restore_best):
    stopping = dict(patience=patience, restore_best_weights=restore_best)
    result = run_audio_tutorial(data, epochs, stopping=stopping, seed=seed, verbose=0)
    return {k: result[k] for k in ("accuracy", "val_accuracy", "params")} | {
        "seconds": result["train_time"],
        "epochs": result["epochs_run"],
    }


def run_mmcnn(data, seed, kwargs):
    from mmcnn.audio import AudioClassifier

    clf = AudioClassifier(class_names=data["train"].class_names, seed=seed, **kwargs)
    start = time.perf_counter()
    history = clf.fit(data["train"], validation_data=data["val"], verbose=0)
    seconds = time.perf_counter() - start
    return {
        "accuracy": clf.evaluate(data["test"])["accuracy"],
        "val_accuracy": clf.evaluate(data["val"])["accuracy"],
        "seconds": seconds,
        "epochs": len(history.history["loss"]),
        "params": clf.model.count_params(),
        "schedule": {k: clf.schedule_used[k] for k in ("epochs", "batch_size", "patience")},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", choices=list(SETS), default="drums", help="which sound set (default: drums)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", help="the set's folder (built when missing; default: a temporary one)")
    parser.add_argument(
        "--candidate", action="append", default=[], help="NAME=k=v,... (AudioClassifier kwargs)"
    )
    parser.add_argument("--no-default", action="store_true", help="leave out the baselines and the default")
    parser.add_argument("--quick", action="store_true", help="one seed, the tiny preset, 3 epochs")
    parser.add_argument("--out", help="markdown file (default: print only)")
    args = parser.parse_args(argv)

    configs = []
    if not args.no_default:
        configs += [
            (
                "tutorial CNN",
                "tutorial",
                dict(epochs=3 if args.quick else 30, patience=2, restore_best=False),
            ),
            (
                "tutorial CNN, patient",
                "tutorial",
                dict(epochs=3 if args.quick else 200, patience=20, restore_best=True),
            ),
            ("mmcnn default", "mmcnn", dict(preset="tiny", epochs=3) if args.quick else {}),
        ]
    configs += [(name, "mmcnn", kw) for name, kw in map(parse_candidate, args.candidate)]
    seeds = 1 if args.quick else args.seeds

    data_dir = args.data or tempfile.mkdtemp(prefix=f"mmcnn-{args.set}-")
    sound_set = SETS[args.set]()
    load_before = load_average()
    rows = []
    for seed in range(seeds):
        data = load_splits(data_dir, seed, args.set)
        for name, kind, kwargs in configs:
            keras.utils.clear_session()
            if kind == "tutorial":
                result = run_tutorial(data, seed, **kwargs)
            else:
                result = run_mmcnn(data, seed, kwargs)
            rows.append({"config": name, "seed": seed, **result})
            print(
                f"seed {seed} {name}: test {result['accuracy']:.4f}, "
                f"validation {result['val_accuracy']:.4f}, {result['epochs']} epochs, "
                f"{result['seconds']:.0f} s",
                file=sys.stderr,
                flush=True,
            )
    sizes = {k: len(v) for k, v in data.items()}
    manifest = pd.read_csv(os.path.join(data_dir, "manifest.csv"))
    n_test_groups = manifest[manifest.split == "test"][sound_set["groups"]].nunique()
    command = shlex.join(argv if argv is not None else sys.argv[1:])
    lines = [
        f"# Small real sound data: {sound_set['title']}",
        "",
        f"- Machine: {machine_line()}",
        f"- Load average before: {load_before}; after: {load_average()}",
        f"- Command: `python -m bench.bench_small_audio {command}`",
        f"- Data: {sound_set['data']}; {sizes['train']} training, {sizes['val']} validation "
        f"(20% of the training clips, stratified, drawn per seed), {sizes['test']} test clips "
        f"({n_test_groups} {sound_set['test']}); {len(sound_set['class_names'])} classes. Seeds: {seeds}.",
        "",
        "| configuration | test accuracy, mean (min-max) | validation accuracy, mean (min-max) "
        "| epochs run (median) | training s (median) | parameters | schedule |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, _, kwargs in configs:
        mine = [r for r in rows if r["config"] == name]
        acc = [r["accuracy"] for r in mine]
        val = [r["val_accuracy"] for r in mine]
        schedule = mine[0].get("schedule", "")
        label = (
            name
            if not kwargs or name.startswith("tutorial") or name == "mmcnn default"
            else f"{name} (`{kwargs}`)"
        )
        lines.append(
            f"| {label} | {np.mean(acc):.4f} ({min(acc):.4f}-{max(acc):.4f}) | "
            f"{np.mean(val):.4f} ({min(val):.4f}-{max(val):.4f}) | "
            f"{median([r['epochs'] for r in mine]):.0f} | {median([r['seconds'] for r in mine]):.0f} | "
            f"{mine[0]['params']:,} | {schedule} |"
        )
    publish(lines, args.out)


if __name__ == "__main__":
    main()
