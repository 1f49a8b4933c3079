"""Precision that follows the hardware: float32 against mixed bfloat16 on Fashion-MNIST.

Trains the default `ImageClassifier` (preset `small`) with the same seeds in
`float32` and in `mixed_bfloat16`, on the same training subset, and scores
the full test split. The question is whether bfloat16 gives the same accuracy
(within the spread between seeds) and how much faster it trains on this
machine. Both precisions run in the same process, alternating, so that the
machine's load touches both alike; compare the ratio, not the absolute times.

Run from the repository root (data from Debian's `dataset-fashion-mnist`,
installed by `bench/setup.sh`):

    .venv/bin/python -m bench.bench_precision [--seeds 3] [--epochs 5] [--train-size 20000]

Writes `bench/results/precision.md`.
"""

import argparse
import time

import numpy as np

from bench.harness import load_average, machine_line, write_results


def train_once(precision, seed, data, val, test, epochs):
    import mmcnn.image as mi

    clf = mi.ImageClassifier(
        class_names=data.class_names, image_size=(28, 28), channels=1, seed=seed, precision=precision
    )
    start = time.perf_counter()
    history = clf.fit(data, validation_data=val, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    epochs_run = len(history.history["loss"])
    report = clf.evaluate(test)
    return {
        "precision": precision,
        "policy": clf.precision_used["policy"],
        "seed": seed,
        "val_accuracy": max(history.history["val_accuracy"]),
        "test_accuracy": report["accuracy"],
        "train_s": seconds,
        "samples_per_s": epochs_run * len(data) / seconds,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--out", default="bench/results/precision.md")
    args = parser.parse_args(argv)

    import mmcnn.image as mi
    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    names = list(CLASS_NAMES)
    rng = np.random.default_rng(0)
    keep = rng.permutation(len(x_train))[: args.train_size + 5000]
    data = mi.from_arrays(x_train[keep], y_train[keep], class_names=names)
    train, val = data.split(5000 / len(data), seed=0)
    test = mi.from_arrays(x_test, y_test, class_names=names)
    loads = [load_average()]
    rows = []
    for seed in range(args.seeds):
        for precision in ("float32", "mixed_bfloat16"):
            rows.append(train_once(precision, seed, train, val, test, args.epochs))
            loads.append(load_average())
            r = rows[-1]
            print(
                f"{precision} seed {seed}: test {r['test_accuracy']:.4f}, {r['samples_per_s']:.0f}/s",
                flush=True,
            )
    lines = [
        "# float32 against mixed bfloat16 (`bench/bench_precision.py`)",
        "",
        f"- Machine: {machine_line()}",
        f"- Load average (1/5/15 min) before and after each run: {'; '.join(loads)}",
        f"- Command: `.venv/bin/python -m bench.bench_precision --seeds {args.seeds} --epochs {args.epochs} "
        f"--train-size {args.train_size}`",
        f"- Data: {len(train)} Fashion-MNIST training images (seeded subset), 5,000 for validation, the full "
        f"test split ({len(test)}); preset `small`, {args.epochs} epochs, the same seeds in both precisions.",
        "",
        "| precision | seed | val accuracy | test accuracy | training s | samples/s |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['policy']} | {r['seed']} | {r['val_accuracy']:.4f} | {r['test_accuracy']:.4f} | "
        f"{r['train_s']:.0f} | {r['samples_per_s']:.0f} |"
        for r in rows
    ]
    summary = {}
    for precision in ("float32", "mixed_bfloat16"):
        mine = [r for r in rows if r["precision"] == precision]
        acc = np.array([r["test_accuracy"] for r in mine])
        summary[precision] = (
            acc.mean(),
            acc.std(ddof=1) if len(acc) > 1 else 0.0,
            np.median([r["samples_per_s"] for r in mine]),
        )
    f32, bf16 = summary["float32"], summary["mixed_bfloat16"]
    lines += [
        "",
        f"- float32: test accuracy {f32[0]:.4f} ± {f32[1]:.4f} (mean ± sd over seeds), "
        f"median {f32[2]:.0f} samples/s",
        f"- mixed_bfloat16: test accuracy {bf16[0]:.4f} ± {bf16[1]:.4f}, median {bf16[2]:.0f} samples/s",
        f"- Difference in mean accuracy: {bf16[0] - f32[0]:+.4f}; training speed ratio bf16/float32: "
        f"{bf16[2] / f32[2]:.2f}x",
    ]
    write_results(args.out, lines)
    print("\n".join(lines[-3:]))


if __name__ == "__main__":
    main()
