"""Time to accuracy as a user meets it: Fashion-MNIST PNG folders through `mmcnn train image`.

Issue 31's measure. The 70,000 Fashion-MNIST pictures (Debian's `dataset-fashion-mnist`)
are written as PNG files in class folders (`train/` 60,000, `test/` 10,000; written
once, reused by later runs), then, in one run, one after the other:

1. the Keras example `mnist_convnet` with its own settings (60,000 arrays, 10 % of them
   for validation, Adam, batch 128, 15 epochs, float32): its `fit` seconds and test
   accuracy;
2. the mmcnn command with no options, as a user types it:
   `mmcnn train image --train train/ --test test/ --out RUN`: the command's whole
   wall time (start-up, reading the PNGs, the input and precision decisions, training
   with its own validation split and early stopping, calibration, test evaluation and
   the report) and the test accuracy it writes to `metrics.json`.

Targets (issue 31): at least 0.93 test accuracy within 6 times the example's training
time. The ratio is measured in one run on one machine; the results file names the
processor and its vector features.

    nice -n 0 .venv/bin/python -m bench.bench_cli_time_to_accuracy \\
        --out bench/results/cli_time_to_accuracy_<processor>.md
    .venv/bin/python -m bench.bench_cli_time_to_accuracy --quick   # 2,000 + 500 pictures, 2 epochs
"""

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.baselines import run_mnist_convnet  # noqa: E402
from bench.datasets import write_class_pngs  # noqa: E402
from bench.harness import Section, command_line, load_average, log, machine_line, publish  # noqa: E402

TARGET_ACCURACY = 0.93
TIME_FACTOR = 6
PNG_DIR = "/tmp/mmcnn-bench/fashion_png"


def write_png_folders(root, splits, names):
    """`root/<split>/<class>/<i>.png` for every `(split, x, y)` in `splits`; a split whose
    folder holds a `.complete` marker is reused (the marker is written last)."""
    for split, x, y in splits:
        folder = os.path.join(root, split)
        if os.path.exists(os.path.join(folder, ".complete")):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        write_class_pngs(folder, x, y, names)
        with open(os.path.join(folder, ".complete"), "w") as f:
            f.write(f"{len(x)}\n")
    return [os.path.join(root, split) for split, _, _ in splits]


def run_cli(train_dir, test_dir, run_dir, extra):
    """`mmcnn train image` in a subprocess: its wall seconds and what its run folder records."""
    mmcnn = os.path.join(os.path.dirname(sys.executable), "mmcnn")
    command = [mmcnn, "train", "image", "--train", train_dir, "--test", test_dir, "--out", run_dir, *extra]
    log("$ " + " ".join(command))
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    with open(os.path.join(run_dir, "metrics.json"), encoding="utf-8") as f:
        metrics = json.load(f)
    with open(os.path.join(run_dir, "history.csv"), encoding="utf-8") as f:
        history = list(csv.DictReader(f))
    return {"command": command, "wall_s": wall, "metrics": metrics, "history": history}


def report(keras_run, cli, quick, total_s, loads):
    metrics = cli["metrics"]
    test_accuracy = metrics["test"]["accuracy"]
    ratio = cli["wall_s"] / keras_run["train_s"]
    shown = " ".join(os.path.basename(p) if p.startswith("/") else p for p in cli["command"][1:])
    input_used = metrics.get("input") or {}
    precision = metrics.get("precision") or {}
    schedule = metrics.get("schedule") or {}
    best = max(cli["history"], key=lambda row: float(row.get("val_accuracy", 0)))
    lines = [
        "# Time to accuracy from PNG files through the `mmcnn` command (Fashion-MNIST)",
        "",
        f"- Machine: {machine_line()}",
        f"- Command: `{command_line('bench.bench_cli_time_to_accuracy')}`; whole run {total_s:.0f} s",
        f"- Load average (1/5/15 min): {loads}",
        "- Data: Debian's `dataset-fashion-mnist` written as PNG class folders "
        f"({'2,000 + 500 pictures, a smoke run' if quick else '60,000 training, 10,000 test'}).",
        "",
        "| model | what was timed | seconds | epochs | test accuracy | time / example's |",
        "|---|---|---|---|---|---|",
        f"| Keras example `mnist_convnet` (its own settings: {keras_run['settings']}) | `fit` | "
        f"{keras_run['train_s']:.0f} | {keras_run['epochs']} | {keras_run['test_accuracy']:.4f} | 1.0 |",
        f"| mmcnn, `{shown}` | the whole command | {cli['wall_s']:.0f} | {len(cli['history'])} "
        f"(best {int(best['epoch']) + 1}) | {test_accuracy:.4f} | **{ratio:.1f}x** |",
        "",
        f"What the command decided from the data: input {input_used.get('image_size')} x "
        f"{input_used.get('channels')} channel(s) ({input_used.get('image_size_reason', '?')}); "
        f"precision {precision.get('policy')} ({precision.get('reason', '')}); "
        f"schedule {json.dumps(schedule)}.",
        "",
        f"Targets (issue 31): test accuracy >= {TARGET_ACCURACY}: "
        f"**{'met' if test_accuracy >= TARGET_ACCURACY else 'not met'}** ({test_accuracy:.4f}); "
        f"within {TIME_FACTOR}x the example's training time: "
        f"**{'met' if ratio <= TIME_FACTOR else 'not met'}** ({ratio:.2f}x).",
    ]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--png-dir", default=PNG_DIR, help="where the PNG folders are written (reused)")
    parser.add_argument("--quick", action="store_true", help="2,000 + 500 pictures, 2 epochs: a smoke run")
    parser.add_argument("--out", help="markdown file (default: print only)")
    args = parser.parse_args()

    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    root = args.png_dir
    extra = []
    if args.quick:
        x_train, y_train, x_test, y_test = x_train[:2000], y_train[:2000], x_test[:500], y_test[:500]
        root = os.path.join(tempfile.mkdtemp(prefix="mmcnn-cli-tta-"), "png")
        extra = ["--epochs", "2"]
    sections = {}
    with Section("writing the PNG folders", sections):
        train_dir, test_dir = write_png_folders(
            root, [("train", x_train, y_train), ("test", x_test, y_test)], CLASS_NAMES
        )
    started_at = load_average()
    with Section("Keras example mnist_convnet", sections):
        keras_run = run_mnist_convnet(x_train, y_train, x_test, y_test)
    if args.quick:
        keras_run["settings"] += " (--quick: still 15 epochs)"
    run_dir = tempfile.mkdtemp(prefix="mmcnn-cli-tta-run-")
    with Section("mmcnn train image", sections):
        cli = run_cli(train_dir, test_dir, os.path.join(run_dir, "run"), extra)
    loads = f"before {started_at}, after {load_average()}"
    lines = report(keras_run, cli, args.quick, time.perf_counter() - start, loads)
    publish(lines, args.out, quick=args.quick)
    shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
