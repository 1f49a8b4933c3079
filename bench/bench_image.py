"""Fashion-MNIST benchmark of the default ImageClassifier against the classic Keras example.

Trains `ImageClassifier` with its defaults (only the image size and channel
count given) on the Fashion-MNIST training set, holding out a stratified 5,000
images of it for early stopping (the test set is only scored, never used for
choices), then trains the Keras "mnist_convnet" example (Conv2D 32 -> MaxPool
-> Conv2D 64 -> MaxPool -> Flatten -> Dropout 0.5 -> Dense softmax; Adam,
batch 128, 15 epochs, validation_split 0.1) in the same run, and writes
`bench/results/image.md`.

Run from the repository root (the data comes from the Debian package
`dataset-fashion-mnist`, installed by `bench/setup.sh`):

    nice -n 0 .venv/bin/python -m bench.bench_image

Not a test: it takes 15-30 minutes on a 2-core CPU.
"""

import argparse
import os
import platform
import subprocess
import time

import numpy as np

from bench.baselines import run_mnist_convnet
from bench.harness import load_average, machine_info

VALIDATION_SIZE = 5000


def git_commit():
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_mmcnn(x_train, y_train, x_test, y_test, class_names, args):
    import mmcnn.image as mi

    data = mi.from_arrays(x_train, y_train, class_names=class_names)
    train, val = data.split(VALIDATION_SIZE / len(data), seed=0)
    kwargs = {
        k: getattr(args, k)
        for k in ("preset", "augmentation", "epochs", "batch_size", "learning_rate")
        if getattr(args, k) is not None
    }
    clf = mi.ImageClassifier(class_names=class_names, image_size=(28, 28), channels=1, **kwargs)
    start = time.perf_counter()
    history = clf.fit(train, validation_data=val, verbose=2)
    train_s = time.perf_counter() - start
    epochs_run = len(history.history["loss"])
    start = time.perf_counter()
    report = clf.evaluate(mi.from_arrays(x_test, y_test, class_names=class_names))
    eval_s = time.perf_counter() - start
    best = int(np.argmin(history.history["val_loss"]))
    return {
        "name": f"mmcnn ImageClassifier (preset={clf.preset}, augmentation={clf.augmentation})",
        "settings": (
            f"epochs={clf.setting('epochs')} (ran {epochs_run}, best val_loss at epoch {best + 1}), "
            f"batch_size={clf.setting('batch_size')}, learning_rate={clf.setting('learning_rate')} "
            "AdamW + warmup/cosine, early stopping on val_loss (patience "
            f"{clf.preset_config['patience']}), best weights restored"
        ),
        "params": clf.model.count_params(),
        "train_samples": len(train),
        "epochs": epochs_run,
        "train_s": train_s,
        "train_sps": epochs_run * len(train) / train_s,
        "val_accuracy": history.history["val_accuracy"][best],
        "test_accuracy": report["accuracy"],
        "test_macro_f1": report["macro_f1"],
        "predict_sps": len(y_test) / eval_s,
        "per_class_f1": {name: scores["f1"] for name, scores in report["per_class"].items()},
    }


def write_markdown(path, command, results, machine):
    lines = [
        "# Image benchmark: Fashion-MNIST",
        "",
        f"Command: `{command}` (run from the repository root, commit {machine['commit']}).",
        "",
        f"Machine: {machine['nproc']} CPU cores ({machine['cpu']}), no GPU; Python {machine['python']}, "
        f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}, NumPy {machine['numpy']}.",
        "",
        f"Load average (1, 5, 15 min) before: {machine['load_before']}; after mmcnn: "
        f"{machine['load_middle']}; after baseline: {machine['load_after']}. The machine is shared "
        "with other engineers' jobs, so wall-clock times and samples/second are noisy (a load above "
        "2 on 2 cores means this run did not have the CPU to itself).",
        "",
        "Data: Fashion-MNIST from the Debian package `dataset-fashion-mnist`. mmcnn trains on 55,000 "
        "training images and uses a stratified 5,000 of the training set for early stopping; the "
        "10,000 test images are scored once at the end and were never used for tuning.",
        "",
        "| model | params | epochs run | training time | train samples/s | val acc | test acc | test macro-F1 | predict images/s |",  # noqa: E501
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        f1 = "-" if r["test_macro_f1"] is None else f"{r['test_macro_f1']:.4f}"
        lines.append(
            f"| {r['name']} | {r['params']:,} | {r['epochs']} | {r['train_s'] / 60:.1f} min | "
            f"{r['train_sps']:.0f} | {r['val_accuracy']:.4f} | {r['test_accuracy']:.4f} | {f1} | "
            f"{r['predict_sps']:.0f} |"
        )
    lines.append("")
    for r in results:
        lines.append(f"- {r['name']}: {r['settings']}.")
    if "per_class_f1" in results[0]:
        lines += [
            "",
            "mmcnn per-class test F1: "
            + ", ".join(f"{name} {f1:.3f}" for name, f1 in results[0]["per_class_f1"].items())
            + ".",
        ]
    lines.append("")
    with open(path, "w") as f:
        f.write("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset")
    parser.add_argument("--augmentation")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "image.md"))
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    machine = {
        "nproc": os.cpu_count(),
        "cpu": machine_info()["cpu"],
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "commit": git_commit(),
        "load_before": load_average(),
    }
    print("load average before:", machine["load_before"], flush=True)
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    results = [run_mmcnn(x_train, y_train, x_test, y_test, CLASS_NAMES, args)]
    machine["load_middle"] = load_average()
    print(results[0], flush=True)
    if not args.skip_baseline:
        results.append(run_mnist_convnet(x_train, y_train, x_test, y_test))
        print(results[-1], flush=True)
    machine["load_after"] = load_average()
    command = "nice -n 0 .venv/bin/python -m bench.bench_image"
    extra = " ".join(
        f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
        for k, v in vars(args).items()
        if v not in (None, False) and k != "out"
    )
    write_markdown(args.out, command + (" " + extra if extra else ""), results, machine)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
