"""Small data: the image default on 10-400 images per class, its schedule and candidates.

Issue 17 ("defaults adapt to the size of the data"). For N training images per
class of Fashion-MNIST (several seeded draws), `ImageClassifier()` is trained as
`mmcnn train` would (10% of the images held out for early stopping and
best-weight restore) in each configuration:

- `preset schedule`: every default, but the preset's epochs, batch size and
  patience whatever the size (`MMCNN_SCHEDULE=preset`, the behaviour before
  `mmcnn.models.schedule`),
- `default`: every default (the schedule adapted to the data's size),
- `--candidate NAME=k=v,...`: more `ImageClassifier` keyword arguments, with
  the adapted schedule;

and scored on the full test split (10,000 images), which steers nothing.

    nice -n 0 .venv/bin/python -m bench.bench_small_data --out bench/results/small_data.md
    .venv/bin/python -m bench.bench_small_data --quick
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench.datasets import draw  # noqa: E402
from bench.harness import load_average, machine_line, parse_candidate, publish  # noqa: E402

SHOTS = (10, 25, 50, 100, 400)


def train_and_score(x, y, test, names, schedule, seed, kwargs):
    import mmcnn.image as mi

    os.environ["MMCNN_SCHEDULE"] = schedule
    # The pictures' own size unless a candidate says otherwise (`image_size=auto` decides it from them).
    kwargs = {"image_size": (28, 28), "channels": 1, **kwargs}
    clf = mi.ImageClassifier(class_names=names, seed=seed, **kwargs)
    start = time.perf_counter()
    history = clf.fit(mi.from_arrays(x, y, class_names=names), validation_split=0.1, verbose=0)
    seconds = time.perf_counter() - start
    return {
        "accuracy": clf.evaluate(test)["accuracy"],
        "seconds": seconds,
        "epochs_run": len(history.history["loss"]),
        **{k: clf.schedule_used[k] for k in ("epochs", "batch_size", "patience")},
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=list(SHOTS))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument(
        "--candidate", action="append", default=[], help="NAME=k=v,... (ImageClassifier kwargs)"
    )
    parser.add_argument("--no-default", action="store_true", help="leave out the two default configurations")
    parser.add_argument("--quick", action="store_true", help="tiny preset, 10 per class, one seed")
    parser.add_argument("--out", help="markdown file (default: print only)")
    args = parser.parse_args(argv)
    configs = []
    if not args.no_default:
        configs += [("preset schedule", "preset", {}), ("default", "auto", {})]
    configs += [(name, "auto", kwargs) for name, kwargs in map(parse_candidate, args.candidate)]
    if args.quick:
        args.shots, args.seeds = [10], 1
        configs = [(name, schedule, {**kwargs, "preset": "tiny"}) for name, schedule, kwargs in configs]

    import mmcnn.image as mi
    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    if args.quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    names = list(CLASS_NAMES)
    test = mi.from_arrays(x_test, y_test, class_names=names)
    load_before = load_average()
    rows = []
    for shots in args.shots:
        for seed in range(args.seeds):
            x, y = draw(x_train, y_train, shots, seed)
            for name, schedule, kwargs in configs:
                result = train_and_score(x, y, test, names, schedule, seed, kwargs)
                rows.append({"shots": shots, "seed": seed, "config": name, **result})
                print(rows[-1], flush=True)
    lines = [
        "# Small data: the image default on N images per class (Fashion-MNIST)",
        "",
        f"- Machine: {machine_line()}",
        f"- Load average before: {load_before}; after: {load_average()}",
        "- Command: `python -m bench.bench_small_data "
        + " ".join(argv if argv is not None else sys.argv[1:])
        + "`",
        "- `ImageClassifier()` (default preset "
        f"`{mi.ImageClassifier.default_preset}`) with the keyword arguments shown; 10% of the N x 10 "
        f"images held out for early stopping; test: {len(y_test)} test images. Mean (min-max) over "
        f"{args.seeds} draws.",
        "",
        "| images per class | configuration | epochs (ran) | batch | patience | test accuracy | training s |",
        "|---|---|---|---|---|---|---|",
    ]
    for shots in args.shots:
        for name, _, kwargs in configs:
            group = [r for r in rows if r["shots"] == shots and r["config"] == name]
            acc = np.array([r["accuracy"] for r in group])
            ran = "/".join(str(r["epochs_run"]) for r in group)
            label = f"{name} (`{kwargs}`)" if kwargs else name
            lines.append(
                f"| {shots} | {label} | {group[0]['epochs']} ({ran}) | {group[0]['batch_size']} "
                f"| {group[0]['patience']} | {acc.mean():.4f} ({acc.min():.4f}-{acc.max():.4f}) "
                f"| {np.mean([r['seconds'] for r in group]):.0f} |"
            )
    publish(lines, args.out, quick=args.quick)


if __name__ == "__main__":
    main()
