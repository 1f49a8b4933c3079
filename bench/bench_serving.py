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
import csv
import io
import os
import shutil
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import soundfile  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

import mmcnn  # noqa: E402
import mmcnn.audio  # noqa: E402
import mmcnn.image  # noqa: E402
import mmcnn.text  # noqa: E402
from bench.common import load_average, machine_info, write_results  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results", "serving.md")
DEMO_TEXT = os.path.join(os.path.dirname(mmcnn.__file__), "demo_data", "text", "train.csv")


SEED = 0


def time_calls(call, max_calls, max_seconds, warmup=5):
    """Seconds per call: `call()` repeated until `max_calls` or `max_seconds`, after warm-up."""
    for _ in range(warmup):
        call()
    times = []
    start = time.perf_counter()
    while len(times) < max_calls and time.perf_counter() - start < max_seconds:
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return np.asarray(times)


def serve_call(signature, name, batch):
    tensor = tf.constant(batch)

    def call():
        outputs = signature(**{name: tensor})
        return {k: v.numpy() for k, v in outputs.items()}

    return call


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def wav(samples, rate):
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def cases(rng):
    """(modality, classifier, [(signature, input name, one example, description)], raw predict input)."""
    image = mmcnn.image.ImageClassifier(num_classes=10)
    smooth = (np.linspace(0, 255, 256)[None, :, None] * np.ones((256, 1, 3))).astype(np.uint8)
    photo = np.clip(smooth + rng.integers(0, 40, smooth.shape), 0, 255).astype(np.uint8)
    small = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    yield (
        "image",
        image,
        [
            ("serving_default", "image_bytes", png(small), "32x32 PNG"),
            ("serving_default", "image_bytes", jpeg(photo), "256x256 JPEG"),
            ("pixels", "pixels", rng.uniform(0, 255, (64, 64, 3)).astype("float32"), "64x64x3 float pixels"),
            ("features", "pixels", rng.uniform(0, 255, (32, 32, 3)).astype("float32"), "32x32x3 model input"),
        ],
        [png(small)],
    )

    audio = mmcnn.audio.AudioClassifier(num_classes=10)
    rate = audio.sample_rate
    one_second = (0.2 * rng.standard_normal(rate)).astype("float32")
    three_seconds = (0.2 * rng.standard_normal(3 * rate)).astype("float32")
    yield (
        "audio",
        audio,
        [
            ("serving_default", "waveform", one_second, "1 s waveform (1 window)"),
            ("serving_default", "waveform", three_seconds, "3 s waveform (5 windows)"),
            ("wav", "wav_bytes", wav(one_second, rate), "1 s 16-bit WAV"),
            ("features", "waveform", one_second, "1 s clip, model input"),
        ],
        [one_second],
    )

    text = mmcnn.text.TextClassifier(num_classes=5)
    with open(DEMO_TEXT, encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    text.adapt(texts)
    sample = max(texts[:200], key=len)
    ids = text.tokenizer(tf.constant([sample])).numpy()[0]
    yield (
        "text",
        text,
        [
            ("serving_default", "texts", sample.encode(), f"{len(sample.split())}-word text"),
            ("features", "token_ids", ids, f"{len(ids)} token ids"),
        ],
        [sample],
    )


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
