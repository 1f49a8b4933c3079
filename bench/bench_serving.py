"""Benchmark: serving latency and throughput of exported classifiers, per modality, on CPU.

Exports the default-preset classifier of each modality (untrained: weights do not change
the cost), reloads each export with plain `tf.saved_model.load`, and times its signatures
on raw inputs:

- latency: one request of batch 1, called back to back; median and p99 per request
  (outputs fetched to NumPy, as a server would);
- throughput: requests of batch 64; examples per second.

For reference it also times `Classifier.predict` on one raw input in the same process.

Run from the repository root (writes bench/results/serving.md):

    nice -n 0 .venv/bin/python -m bench.bench_serving
"""

import argparse
import os
import shutil
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench.harness import load_average, machine_info, serve_call, time_calls, write_results  # noqa: E402
from bench.measures import cases  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results", "serving.md")
SEED = 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=RESULTS)
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--throughput-calls", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=6.0, help="per measurement")
    args = parser.parse_args(argv)

    keras.utils.set_random_seed(SEED)
    rng = np.random.default_rng(SEED)
    load_before = load_average()
    workdir = tempfile.mkdtemp(prefix="bench_serving_")
    rows, exports, reference = [], [], []
    try:
        for modality, clf, signatures, raw in cases(rng):
            path = os.path.join(workdir, modality)
            start = time.perf_counter()
            clf.export(path)
            export_seconds = time.perf_counter() - start
            size = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)
            exports.append((modality, clf.preset, export_seconds, size / 1e6))
            served = tf.saved_model.load(path)
            for signature, name, example, what in signatures:
                fn = served.signatures[signature]
                one = time_calls(
                    serve_call(fn, name, np.asarray([example])), args.latency_calls, args.max_seconds
                )
                many = time_calls(
                    serve_call(fn, name, np.asarray([example] * 64)),
                    args.throughput_calls,
                    args.max_seconds,
                    warmup=2,
                )
                rows.append(
                    (
                        modality,
                        signature,
                        what,
                        1e3 * np.median(one),
                        1e3 * np.percentile(one, 99),
                        len(one),
                        1e3 * np.median(many),
                        64 / np.median(many),
                        len(many),
                    )
                )
                print(
                    f"{modality:5s} {signature:15s} {what:26s} batch 1: median "
                    f"{rows[-1][3]:.2f} ms, p99 {rows[-1][4]:.2f} ms; batch 64: "
                    f"{rows[-1][7]:.0f} examples/s",
                    flush=True,
                )
            predict = time_calls(lambda: clf.predict(raw), 30, args.max_seconds, warmup=3)  # noqa: B023 (called at once)
            reference.append((modality, 1e3 * np.median(predict), len(predict)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = load_average()

    info = machine_info()
    lines = [
        "# Serving latency of exported classifiers (CPU)",
        "",
        "`nice -n 0 .venv/bin/python -m bench.bench_serving` (bench/bench_serving.py). Each modality's "
        "default-preset classifier (untrained; weights do not change the cost) is exported with "
        "`clf.export()`, reloaded with plain `tf.saved_model.load`, and its signatures are called "
        "on raw inputs in the same process, outputs fetched to NumPy. Batch 1: requests back to "
        "back, median and p99 per request. Batch 64: the same example 64 times per request.",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}, TensorFlow "
        f"{info['tensorflow']}, Keras {info['keras']}, mmcnn {info['mmcnn']}; TensorFlow's default "
        "thread pools.",
        f"Load average (1, 5, 15 min) before: {load_before}; after: {load_after}. The machine is "
        "shared with other engineers running tests, so these wall-clock numbers are noisy "
        "(upper bounds); compare rows of one run rather than runs.",
        "",
        "| modality | signature | input | batch 1 median (ms) | batch 1 p99 (ms) | calls | "
        "batch 64 (ms/request) | batch 64 throughput (examples/s) | calls |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r[0]} | `{r[1]}` | {r[2]} | {r[3]:.2f} | {r[4]:.2f} | {r[5]} | "
            f"{r[6]:.1f} | {r[7]:.0f} | {r[8]} |"
        )
    lines += [
        "",
        "Reference: `Classifier.predict` on one raw input in the same process "
        "(Keras `model.predict` per call):",
        "",
        "| modality | median (ms) | calls |",
        "|---|---:|---:|",
    ]
    lines += [f"| {m} | {ms:.1f} | {n} |" for m, ms, n in reference]
    lines += [
        "",
        "Exports:",
        "",
        "| modality | preset | export time (s) | size on disk (MB) |",
        "|---|---|---:|---:|",
    ]
    lines += [f"| {m} | {p} | {s:.1f} | {mb:.2f} |" for m, p, s, mb in exports]
    write_results(args.out, lines)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
