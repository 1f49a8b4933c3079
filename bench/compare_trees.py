"""Training throughput of each modality's default classifier in two checkouts of mmcnn, interleaved.

A refactor that should not change speed is checked by running the same fits in the tree before it
and the tree after it, alternately (A B A B ...), each round in a fresh process whose `mmcnn` is
imported from that tree (`PYTHONPATH`), on the same seeded synthetic data. Only the public API
is used (`from_arrays`, the modality classifiers, `fit`), so an older tree runs it unchanged.

A fit's examples/s is the number of training examples over the median epoch time, the first
epoch (tracing and compiling) left out; on a machine shared with other jobs the examples per
CPU-second of the process (its user + system time per epoch, all threads) moves less with the
load than the wall time does, and is printed beside it. Run from the repository root, under `nice`:

    nice -n 10 .venv/bin/python -m bench.compare_trees /tmp/base-tree . --rounds 2

Prints one line per fit and a table (median over rounds per tree, and the change).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

NUM_CLASSES = 10
SIZES = {"image": 2048, "audio": 512, "text": 2048}  # training examples per fit
MODALITIES = tuple(SIZES)


def _data(modality, seed=0):
    """`(x, y)`: 28x28 grey images, 1 s 16 kHz tones in noise, or Zipf-like word strings."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = SIZES[modality]
    y = rng.integers(0, NUM_CLASSES, n)
    if modality == "image":
        return rng.integers(0, 256, (n, 28, 28, 1)).astype("float32"), y
    if modality == "audio":
        t = np.arange(16000) / 16000.0
        waves = 0.3 * np.sin(2 * np.pi * (200 + 150 * y[:, None]) * t) + 0.05 * rng.standard_normal(
            (n, t.size)
        )
        return waves.astype("float32"), y
    words = [f"w{i}" for i in range(3000)]
    p = 1.0 / np.arange(1, len(words) + 1)
    p /= p.sum()
    texts = [" ".join(rng.choice(words, size=k, p=p)) + "." for k in rng.integers(5, 40, n)]
    return texts, y


def _classifier(modality):
    import mmcnn.audio
    import mmcnn.image
    import mmcnn.text

    if modality == "image":
        return mmcnn.image.ImageClassifier(num_classes=NUM_CLASSES, image_size=(28, 28), channels=1, seed=0)
    if modality == "audio":
        return mmcnn.audio.AudioClassifier(num_classes=NUM_CLASSES, seed=0)
    return mmcnn.text.TextClassifier(num_classes=NUM_CLASSES, seed=0)


def worker(modality, epochs):
    """One fit in this process; prints a JSON line `{"examples_per_s": ..., "epoch_s": [...], ...}`."""
    import keras

    import mmcnn

    module = getattr(mmcnn, modality)
    x, y = _data(modality)
    data = module.from_arrays(x, y, class_names=[str(i) for i in range(NUM_CLASSES)])

    class Timer(keras.callbacks.Callback):
        times, cpu_times = [], []

        def on_epoch_begin(self, epoch, logs=None):
            self.start, self.cpu_start = time.perf_counter(), time.process_time()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.start)
            self.cpu_times.append(time.process_time() - self.cpu_start)

    clf = _classifier(modality)
    clf.fit(data, epochs=epochs, callbacks=[Timer()], early_stopping=False, calibrate=False, verbose=0)
    steady = Timer.times[1:] or Timer.times
    steady_cpu = Timer.cpu_times[1:] or Timer.cpu_times
    print(
        json.dumps(
            {
                "examples_per_s": len(data) / statistics.median(steady),
                "examples_per_cpu_s": len(data) / statistics.median(steady_cpu),
                "epoch_s": [round(t, 2) for t in Timer.times],
                "precision": clf.model.dtype_policy.name,
                "batch_size": clf.schedule_used["batch_size"]
                if getattr(clf, "schedule_used", None)
                else None,
            }
        )
    )


def run_one(tree, modality, epochs):
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree), TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", modality, "--epochs", str(epochs)],
        env=env,
        cwd=os.path.abspath(tree),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("trees", nargs="*", help="two checkouts: before, after")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--modalities", default=",".join(MODALITIES))
    parser.add_argument("--worker", choices=MODALITIES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker, args.epochs)
    if len(args.trees) != 2:
        parser.error("give two trees: before and after")
    results = {}
    for round_ in range(args.rounds):
        for modality in args.modalities.split(","):
            for tree in args.trees:
                load = " ".join(f"{v:.2f}" for v in os.getloadavg())
                result = run_one(tree, modality, args.epochs)
                results.setdefault((modality, tree), []).append(result)
                print(
                    f"round {round_ + 1} {modality:5s} {tree}: {result['examples_per_s']:.0f} examples/s, "
                    f"{result['examples_per_cpu_s']:.0f} per CPU-s (epochs {result['epoch_s']} s, batch "
                    f"{result['batch_size']}, {result['precision']}; load before {load})",
                    flush=True,
                )
    before, after = args.trees
    print(
        "\n| modality | examples | before: examples/s | after: examples/s | after/before "
        "| before: per CPU-s | after: per CPU-s | after/before |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for modality in args.modalities.split(","):
        row = [modality, str(SIZES[modality])]
        for key in ("examples_per_s", "examples_per_cpu_s"):
            b = [r[key] for r in results[(modality, before)]]
            a = [r[key] for r in results[(modality, after)]]
            runs_b, runs_a = ", ".join(f"{v:.0f}" for v in b), ", ".join(f"{v:.0f}" for v in a)
            mb, ma = statistics.median(b), statistics.median(a)
            row += [f"{mb:.0f} ({runs_b})", f"{ma:.0f} ({runs_a})", f"{ma / mb:.3f}"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
