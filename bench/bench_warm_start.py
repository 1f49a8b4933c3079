"""Which warm-start schedule should `init_from` default to? Chosen on validation data, reported on test.

bench/bench_transfer*.py showed the first default (3 epochs with the copied
layers frozen, then every layer at a tenth of the rate) losing to training
from scratch on a few examples per class. This study trains, for each draw of
N examples per target class, the variants in `VARIANTS` with the library's
default (size-adapted) epochs and batch size, no validation split (too few
examples), and scores each on

- validation: other training examples of the target classes (never in a
  draw) - the variant to make the default is picked on these,
- test: the test split of the target classes, reported, never used to choose.

Image: Fashion-MNIST classes 0-4 -> 5-9 (as bench/bench_transfer.py). Text:
fortunes, one half of the classes -> the other (as bench/bench_transfer_text.py).

    nice -n 0 .venv/bin/python -m bench.bench_warm_start --out bench/results/warm_start.md
    .venv/bin/python -m bench.bench_warm_start --quick
"""

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench.harness import load_average, machine_line, publish  # noqa: E402

# name -> (freeze_epochs, fine-tuning rate as a factor of the preset's; None: the library's default)
VARIANTS = {
    "scratch": None,
    "library default": (None, None),
    "frozen 3 epochs, then full rate": (3, 1.0),
    "frozen 3 epochs, then 0.3x rate": (3, 0.3),
    "frozen 10% of epochs, then full rate": ("10%", 1.0),
    "no freeze, full rate": (0, 1.0),
}


def variant_arguments(variant, source_path, learning_rate, epochs):
    setting = VARIANTS[variant]
    if setting is None:
        return {}
    freeze, factor = setting
    kwargs = {"init_from": source_path}
    if freeze == "10%":
        freeze = max(1, epochs // 10)
    if freeze is not None:
        kwargs["freeze_epochs"] = freeze
    if factor is not None:
        kwargs["fine_tune_learning_rate"] = learning_rate * factor
    return kwargs


def image_task(quick):
    """`(make_classifier, source data, draw(per_class, seed), validation, test, shots)` for images."""
    import mmcnn.image as mi
    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
    from bench.datasets import SOURCE_CLASSES, TARGET_CLASSES, subset

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    source_names = [CLASS_NAMES[c] for c in SOURCE_CLASSES]
    names = [CLASS_NAMES[c] for c in TARGET_CLASSES]
    x_source, y_source = subset(x_train, y_train, SOURCE_CLASSES)
    x_target, y_target = subset(x_train, y_train, TARGET_CLASSES)
    # Validation: the last 200 training images of each target class; draws come from the rest.
    val_index = np.concatenate([np.flatnonzero(y_target == c)[-200:] for c in range(5)])
    pool = np.setdiff1d(np.arange(len(y_target)), val_index)
    x_test, y_test = subset(x_test, y_test, TARGET_CLASSES)
    if quick:
        x_source, y_source, x_test, y_test = x_source[:1500], y_source[:1500], x_test[:500], y_test[:500]

    def make(class_names, **kwargs):
        return mi.ImageClassifier(
            class_names=class_names,
            image_size=(28, 28),
            channels=1,
            preset="tiny" if quick else "small",
            **kwargs,
        )

    def draw(per_class, seed):
        rng = np.random.default_rng(seed)
        keep = np.concatenate(
            [rng.choice(pool[y_target[pool] == c], per_class, replace=False) for c in range(5)]
        )
        return mi.from_arrays(x_target[keep], y_target[keep], class_names=names)

    return (
        make,
        mi.from_arrays(x_source, y_source, class_names=source_names),
        names,
        draw,
        mi.from_arrays(x_target[val_index], y_target[val_index], class_names=names),
        mi.from_arrays(x_test, y_test, class_names=names),
    )


def text_task(quick):
    import mmcnn.text as mt
    from bench.data.fortunes import load_fortunes
    from bench.datasets import select_texts

    train_frame, test_frame = load_fortunes(max_per_class=100 if quick else 600)
    all_names = sorted(train_frame["label"].unique())
    source_names, names = all_names[0::2], all_names[1::2]
    # Validation: the last 50 training texts of each target class; draws come from the rest.
    target = train_frame[train_frame["label"].isin(names)]
    val_rows = np.concatenate([target.index[target["label"] == n].to_numpy()[-50:] for n in names])
    pool = train_frame.drop(index=val_rows)

    def make(class_names, **kwargs):
        return mt.TextClassifier(class_names=list(class_names), **kwargs)

    def draw(per_class, seed):
        return select_texts(pool, names, per_class=per_class, seed=seed)

    return (
        make,
        select_texts(train_frame, source_names),
        names,
        draw,
        select_texts(train_frame.loc[val_rows], names),
        select_texts(test_frame, names),
    )


def run_task(modality, task, shots, seeds, source_epochs, folder):
    from mmcnn.models.schedule import fit_schedule

    make, source_data, names, draw, val, test = task
    source_path = os.path.join(folder, f"{modality}-source.keras")
    train, held = source_data.split(0.1, seed=0)
    source = make(source_data.class_names, epochs=source_epochs)
    start = time.perf_counter()
    source.fit(train, validation_data=held, verbose=2)
    source.save(source_path)
    print(f"{modality} source: {time.perf_counter() - start:.0f} s", flush=True)
    rows = []
    for per_class in shots:
        for seed in range(seeds):
            data = draw(per_class, seed)
            for variant in VARIANTS:
                probe = make(names, seed=seed)
                epochs = fit_schedule(len(data), probe.preset_config)["epochs"]
                kwargs = variant_arguments(variant, source_path, probe.setting("learning_rate"), epochs)
                clf = make(names, seed=seed, **kwargs)
                start = time.perf_counter()
                clf.fit(data, verbose=0, calibrate=False)
                row = {
                    "modality": modality,
                    "shots": per_class,
                    "seed": seed,
                    "variant": variant,
                    "val": clf.evaluate(val)["accuracy"],
                    "test": clf.evaluate(test)["accuracy"],
                    "seconds": time.perf_counter() - start,
                    "epochs": clf.schedule_used["epochs"],
                    "batch": clf.schedule_used["batch_size"],
                }
                rows.append(row)
                print(row, flush=True)
    return rows


def table(rows, modality, shots):
    lines = [
        f"| {modality}: per class | variant | epochs x batch | validation acc | test acc "
        "| test gain (points) |",
        "|---|---|---|---|---|---|",
    ]
    for per_class in shots:
        group = [r for r in rows if r["modality"] == modality and r["shots"] == per_class]
        scratch = {r["seed"]: r["test"] for r in group if r["variant"] == "scratch"}
        for variant in VARIANTS:
            mine = [r for r in group if r["variant"] == variant]
            gain = np.mean([r["test"] - scratch[r["seed"]] for r in mine]) * 100
            lines.append(
                f"| {per_class} | {variant} | {mine[0]['epochs']} x {mine[0]['batch']} "
                f"| {np.mean([r['val'] for r in mine]):.4f} | {np.mean([r['test'] for r in mine]):.4f} "
                f"| {'' if variant == 'scratch' else f'{gain:+.1f}'} |"
            )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=["image", "text"], default=["image", "text"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="tiny data and models: a smoke run")
    parser.add_argument("--out", help="markdown file (default: print only)")
    args = parser.parse_args(argv)
    settings = {"image": ((10, 25), 4), "text": ((20,), 12)}
    if args.quick:
        settings, args.seeds = {"image": ((10,), 1), "text": ((20,), 1)}, 1
    load_before = load_average()
    rows, lines = [], []
    with tempfile.TemporaryDirectory() as folder:
        for modality in args.only:
            shots, source_epochs = settings[modality]
            task = image_task(args.quick) if modality == "image" else text_task(args.quick)
            rows += run_task(modality, task, shots, args.seeds, source_epochs, folder)
            lines += [*table(rows, modality, shots), ""]
    text = [
        "# Warm-start schedules on a few examples per class",
        "",
        f"- Machine: {machine_line()}",
        f"- Load average before: {load_before}; after: {load_average()}",
        "- Command: `python -m bench.bench_warm_start "
        + " ".join(argv if argv is not None else sys.argv[1:])
        + "`",
        f"- Mean over {args.seeds} draws; every run with the library's size-adapted epochs and batch size, "
        "no validation split; validation accuracy (held-out training examples of the target classes) "
        "chooses, test accuracy is reported.",
        "",
        *lines,
    ]
    publish(text, args.out, quick=args.quick)


if __name__ == "__main__":
    main()
