"""Defaults that follow the data: `image_size="auto"`/`channels="auto"` and the measured `precision="auto"`.

Two measurements on Fashion-MNIST (28x28 grey, Debian's `dataset-fashion-mnist`):

1. The default `ImageClassifier` (preset `compact`) trained from PNG class folders
   (what a user has) at `image_size="auto"`, `channels="auto"` (it decides 28x28x1)
   against the same default held at the old 32x32x3, same subset, same seeds, each
   with `precision="auto"` (measured for its input shape), in one process: seconds
   per epoch and test accuracy.
2. `precision="auto"`'s measurement on this machine: the training rates of the
   default model in float32 and in mixed bfloat16 at both input shapes (repeated,
   to show the spread on a shared machine), how long one measurement takes, and
   what it decides.

Run from the repository root:

    nice -n 10 .venv/bin/python -m bench.bench_image_auto [--train-size 10000] [--epochs 5] [--quick]

Writes `bench/results/image_auto.md`.
"""

import argparse
import os
import tempfile
import time

import numpy as np

from bench.datasets import write_class_pngs
from bench.harness import EpochTimer, command_line, load_average, machine_line, median, publish


def train_once(settings, train, test, epochs, batch_size, precision, seed):
    import mmcnn.image as mi

    clf = mi.ImageClassifier(class_names=train.class_names, precision=precision, seed=seed, **settings)
    start = time.perf_counter()
    clf.prepare(train)
    build_s = time.perf_counter() - start
    timer = EpochTimer(batch_size)
    clf.fit(train, epochs=epochs, batch_size=batch_size, callbacks=[timer], calibrate=False, verbose=0)
    return {
        "settings": settings or "auto",
        "input": f"{clf.image_size[0]}x{clf.image_size[1]}x{clf.channels}",
        "reason": (clf.input_used or {}).get("image_size_reason", "given"),
        "policy": clf.precision_used["policy"]
        + "".join(f", {k} {v:,.0f}/s" for k, v in (clf.precision_used.get("rates") or {}).items()),
        "build_s": build_s,
        "epoch_s": [e["seconds"] for e in timer.epochs],
        "accuracy": clf.evaluate(test)["accuracy"],
    }


def precision_rates(shapes, repeats, batch_size):
    import mmcnn.image as mi
    from mmcnn.models.precision import dtype_policy, measure_rates

    rows = []
    for image_size, channels in shapes:
        for repeat in range(repeats):

            def build(image_size=image_size, channels=channels):
                clf = mi.ImageClassifier(
                    num_classes=10, image_size=image_size, channels=channels, precision="float32"
                )
                return clf.build()

            start = time.perf_counter()
            with dtype_policy("float32"):
                rates = measure_rates(build, batch_size)
            rows.append((image_size, channels, repeat, rates, time.perf_counter() - start))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=10000)
    parser.add_argument("--test-size", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=2, help="seeds of each input setting")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--precision", default="auto", help="of both runs (default auto: measured for each)")
    parser.add_argument("--repeats", type=int, default=3, help="precision measurements per input shape")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1,000 images, 1 epoch")
    parser.add_argument("--out", default="bench/results/image_auto.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_size, args.test_size, args.epochs, args.repeats, args.seeds = 1000, 500, 1, 1, 1
    os.environ.setdefault("MMCNN_SCHEDULE", "preset")  # the epochs asked for, not adapted to the size
    # precision="auto" measures afresh (its time is part of "build s"), not from the user's cache.
    os.environ.setdefault("MMCNN_CACHE_DIR", tempfile.mkdtemp(prefix="bench-image-auto-cache-"))

    import mmcnn.image as mi
    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
    from mmcnn.image.image_auto import survey_pictures
    from mmcnn.models.precision import MARGIN, MEASURE_SECONDS, MEASURE_STEPS

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    rng = np.random.default_rng(0)
    pick = np.sort(rng.permutation(len(x_train))[: args.train_size])
    test_pick = np.sort(rng.permutation(len(x_test))[: args.test_size])
    root = tempfile.mkdtemp(prefix="bench-image-auto-")
    names = list(CLASS_NAMES)
    train_dir = write_class_pngs(os.path.join(root, "train"), x_train[pick], y_train[pick], names)
    test_dir = write_class_pngs(os.path.join(root, "test"), x_test[test_pick], y_test[test_pick], names)
    train = mi.from_directory(train_dir, verbose=0)
    test = mi.from_directory(test_dir, class_names=train.class_names, verbose=0)
    start = time.perf_counter()
    sizes, grey = survey_pictures(train)
    survey_s = time.perf_counter() - start

    lines = [
        "# Defaults that follow the data: image size, channels and precision",
        "",
        f"Machine: {machine_line()}",
        f"Command: `{command_line('bench.bench_image_auto')}`",
        f"Load average before: {load_average()}",
        "",
        '## Fashion-MNIST from PNG folders: `image_size="auto"` against the old 32x32x3',
        "",
        f"{len(train):,} training and {len(test):,} test images (a seeded subset), preset `compact`, "
        f"{args.epochs} epochs, batch {args.batch_size}, seeds 0..{args.seeds - 1}, "
        f"precision `{args.precision}`, "
        'no validation split, one after the other in one process; build s includes `precision="auto"`\'s '
        "measurement. Epoch times: median of the epochs "
        "after the first (the first decodes the PNGs into the cache).",
        f"The survey of {len(sizes):,} PNG headers took {survey_s:.2f} s (grey: {grey}).",
        "",
        "| input | seed | decided by | precision (measured rates) | build s | first epoch s | later epochs s "
        "(median) | test accuracy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    runs = [
        (seed, settings)
        for seed in range(args.seeds)
        for settings in ({}, {"image_size": (32, 32), "channels": 3})
    ]
    for seed, settings in runs:
        row = train_once(settings, train, test, args.epochs, args.batch_size, args.precision, seed)
        later = median(row["epoch_s"][1:]) if len(row["epoch_s"]) > 1 else row["epoch_s"][0]
        lines.append(
            f"| {row['input']} | {seed} | {row['reason']} | {row['policy']} | {row['build_s']:.1f} | "
            f"{row['epoch_s'][0]:.1f} | {later:.1f} | {row['accuracy']:.4f} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        f"Load average after: {load_average()}",
        "",
        '## `precision="auto"`: the measurement (`mmcnn.models.precision.measure_rates`)',
        "",
        f"The default model, batch {args.batch_size}: one traced step, then at least {MEASURE_STEPS} timed "
        f"steps per precision, alternating, until {MEASURE_SECONDS:g} s are timed; rates of the median step; "
        "the ratio is the median of each pair's ratio. bfloat16 is kept where the ratio is at least 1.05.",
        "",
        "| input | repeat | float32 examples/s | mixed_bfloat16 examples/s | pair ratio | decides "
        "| measurement s |",
        "|---|---|---|---|---|---|---|",
    ]
    for image_size, channels, repeat, rates, seconds in precision_rates(
        [((28, 28), 1), ((32, 32), 3)], args.repeats, args.batch_size
    ):
        ratio = rates["ratios"]["mixed_bfloat16"]
        decides = "mixed_bfloat16" if ratio >= MARGIN else "float32"
        lines.append(
            f"| {image_size[0]}x{image_size[1]}x{channels} | {repeat + 1} | {rates['float32']:,.0f} | "
            f"{rates['mixed_bfloat16']:,.0f} | {ratio:.2f} | {decides} "
            f"| {seconds:.1f} |"
        )
        print(lines[-1], flush=True)
    lines += ["", f"Load average after: {load_average()}"]
    publish(lines, args.out, args.quick)


if __name__ == "__main__":
    main()
