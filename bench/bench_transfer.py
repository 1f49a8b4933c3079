"""Fine-tuning benchmark: does a warm start beat training from scratch on a few images per class?

Image part of the measure of issue 16. Trains an `ImageClassifier` on all
Fashion-MNIST training images of classes 0-4 (T-shirt/top .. Coat; a
stratified 10% held out for early stopping), saves it, then for 10, 25 and
100 training images per class of classes 5-9 (Sandal .. Ankle boot; drawn
with several seeds) trains

- the same classifier from random weights ("scratch"),
- `init_from` the saved classifier (copied stem and backbone, new head) with
  the default schedule: 3 epochs with the copied layers frozen, then all
  layers at a tenth of the rate ("fine-tuned"),
- `init_from` the saved classifier, every layer trained from the first epoch
  at the preset's full rate ("fine-tuned, no freeze": what the schedule adds),

all for the same fixed number of epochs (no validation split: too few
images), and scores them on all test images of classes 5-9. A second table
trains from scratch on a deliberately imbalanced subset of classes 5-9, with
and without `class_weight="balanced"`, and compares macro-F1.

Writes `bench/results/transfer.md`. Run from the repository root (the data
comes from the Debian package `dataset-fashion-mnist`, installed by
`bench/setup.sh`):

    nice -n 5 .venv/bin/python -m bench.bench_transfer --source-epochs 8

Not a test: 17 minutes with `--source-epochs 8` on a shared 2-core CPU (load
average about 5; each source epoch is 30-50 s, so the preset's 20 add 6-10
minutes). `--quick` runs every step on a few hundred images with the tiny
preset (well under a minute) to check the script.

`shots_table` and `command_line` are shared with `bench_transfer_audio` and
`bench_transfer_text`.
"""

import argparse
import os
import tempfile
import time

import numpy as np

from bench.datasets import SOURCE_CLASSES, TARGET_CLASSES, subset
from bench.harness import command_line, load_average, machine_line
from bench.measures import KINDS, compare_kinds, kind_arguments, shots_table

SHOTS = (10, 25, 100)
IMBALANCED = (1000, 400, 150, 60, 25)  # training images of classes 5..9


def make_classifier(names, args, batch_size=None, **kwargs):
    import mmcnn.image as mi

    return mi.ImageClassifier(
        class_names=names,
        image_size=(28, 28),
        channels=1,
        preset=args.preset,
        batch_size=batch_size or args.batch_size,
        seed=kwargs.pop("seed", 0),
        **kwargs,
    )


def score(clf, x, y, names):
    import mmcnn.image as mi

    report = clf.evaluate(mi.from_arrays(x, y, class_names=names))
    return report["accuracy"], report["macro_f1"]


def train_source(x, y, names, args, path):
    import mmcnn.image as mi

    data = mi.from_arrays(x, y, class_names=names)
    train, val = data.split(0.1, seed=0)
    clf = make_classifier(names, args, epochs=args.source_epochs)
    start = time.perf_counter()
    history = clf.fit(train, validation_data=val, verbose=2)
    seconds = time.perf_counter() - start
    clf.save(path)
    return {
        "images": len(train),
        "epochs": len(history.history["loss"]),
        "val_accuracy": max(history.history.get("val_accuracy", [float("nan")])),
        "seconds": seconds,
    }


def few_shot(x_train, y_train, x_test, y_test, names, args, source_path):
    import mmcnn.image as mi

    learning_rate = mi.ImageClassifier.presets[args.preset]["learning_rate"]
    test = mi.from_arrays(x_test, y_test, class_names=names)
    rows = []
    for shots in args.shots:
        for seed in range(args.seeds):
            x, y = subset(x_train, y_train, TARGET_CLASSES, per_class=shots, seed=seed)
            data = mi.from_arrays(x, y, class_names=names)

            def make(kind, seed=seed):
                extra = kind_arguments(kind, source_path, learning_rate)
                return make_classifier(
                    names, args, batch_size=args.few_batch_size, epochs=args.few_epochs, seed=seed, **extra
                )

            result = {"shots": shots, "seed": seed, **compare_kinds(make, data, test, args.kinds)}
            print(
                f"{shots:>4} per class, seed {seed}: "
                + ", ".join(f"{kind} {result[kind][0]:.4f}" for kind in args.kinds),
                flush=True,
            )
            rows.append(result)
    return rows


def imbalance(x_train, y_train, x_test, y_test, names, args):
    import mmcnn.image as mi

    x, y = subset(x_train, y_train, TARGET_CLASSES, counts=args.imbalanced, seed=0)
    data = mi.from_arrays(x, y, class_names=names)
    train, val = data.split(0.1, seed=0)
    results = {}
    for class_weight in (None, "balanced"):
        clf = make_classifier(names, args, epochs=args.few_epochs)
        clf.fit(train, validation_data=val, class_weight=class_weight, verbose=0)
        results[class_weight or "none"] = score(clf, x_test, y_test, names)
        print(f"imbalanced, class_weight={class_weight}: macro-F1 {results[class_weight or 'none'][1]:.4f}")
    return results


def write_report(path, args, source, rows, imbalanced, loads, seconds):
    lines = [
        "# Fine-tuning on a few images per class (Fashion-MNIST)",
        "",
        f"Command: `{command_line('bench.bench_transfer')}` ({seconds / 60:.1f} min).",
        "",
        f"{machine_line()}. Load average before / after: {loads[0]} / {loads[1]} (the machine "
        "is shared with other jobs: times are noisy, accuracies are not).",
        "",
        f"Source: `ImageClassifier(preset={args.preset!r})` trained on classes 0-4 "
        f"({source['images']} images, 10% held out; {source['epochs']} epochs, best validation "
        f"accuracy {source['val_accuracy']:.4f}, {source['seconds']:.0f} s).",
        "",
        f"Target: classes 5-9, N training images per class ({args.seeds} draws each, seeds "
        f"0-{args.seeds - 1}), {args.few_epochs} epochs at batch {args.few_batch_size}, no "
        f"validation split; test: {args.test_size} test images (all, unless --limit) of classes "
        "5-9. Scratch: random weights. Fine-tuned: `init_from` the source, default schedule "
        "(3 epochs with the copied layers frozen, then all layers at a tenth of the rate). "
        "Fine-tuned, no freeze: `init_from` the source with `freeze_epochs=0, "
        "fine_tune_learning_rate=` the preset's rate (the copied weights are only a starting "
        "point). Accuracy: mean (min to max) over draws; gain: paired by draw.",
        "",
        *shots_table(rows, args.shots, args.kinds, "images per class"),
    ]
    if imbalanced:
        lines += [
            "",
            f"Imbalanced training set (from scratch): classes 5-9 with {list(args.imbalanced)} images, "
            "10% held out for early stopping.",
            "",
            "| class_weight | accuracy | macro-F1 |",
            "|---|---|---|",
        ]
        lines += [f"| {key} | {acc:.4f} | {f1:.4f} |" for key, (acc, f1) in imbalanced.items()]
    if args.quick:
        lines += ["", "**--quick run: a check of the script, not a measurement.**"]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--source-epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--few-epochs", type=int, default=30)
    parser.add_argument("--few-batch-size", type=int, default=16, help="batch size of the few-image runs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shots", type=int, nargs="+", default=list(SHOTS))
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="runs per draw")
    parser.add_argument("--imbalanced", type=int, nargs=5, default=list(IMBALANCED))
    parser.add_argument("--skip-imbalance", action="store_true")
    parser.add_argument("--limit", type=int, help="use at most this many source training and test images")
    parser.add_argument("--quick", action="store_true", help="tiny preset, few images and epochs")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "transfer.md"))
    args = parser.parse_args()
    if args.quick:
        args.preset, args.source_epochs, args.few_epochs, args.seeds = "tiny", 2, 3, 1
        args.shots, args.limit = [10], args.limit or 1500
        args.imbalanced = [100, 50, 25, 12, 6]
        if args.out == parser.get_default("out"):
            args.out = os.path.join(tempfile.gettempdir(), "mmcnn-bench-transfer-quick.md")

    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    x_source, y_source = subset(x_train, y_train, SOURCE_CLASSES)
    x_test, y_test = subset(x_test, y_test, TARGET_CLASSES)
    if args.limit:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.choice(len(x_source), min(args.limit, len(x_source)), replace=False))
        x_source, y_source = x_source[keep], y_source[keep]
        keep = np.sort(rng.choice(len(x_test), min(args.limit, len(x_test)), replace=False))
        x_test, y_test = x_test[keep], y_test[keep]
    args.test_size = len(x_test)
    source_names = [CLASS_NAMES[c] for c in SOURCE_CLASSES]
    target_names = [CLASS_NAMES[c] for c in TARGET_CLASSES]
    loads = [load_average()]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        source_path = os.path.join(folder, "source.keras")
        source = train_source(x_source, y_source, source_names, args, source_path)
        print(f"source: {source}", flush=True)
        rows = few_shot(x_train, y_train, x_test, y_test, target_names, args, source_path)
    imbalanced = (
        None if args.skip_imbalance else imbalance(x_train, y_train, x_test, y_test, target_names, args)
    )
    loads.append(load_average())
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_report(args.out, args, source, rows, imbalanced, loads, time.perf_counter() - start)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
