"""Benchmark: mmcnn's speed and memory on the CPU against hand-written Keras and the CPU's limit.

Sections (all in one process unless said; synthetic data: throughput does not depend on it):

- matmul: the dense float32 (and bfloat16) matrix-multiply rate TensorFlow reaches here
  (2048 x 2048 `tf.linalg.matmul` in a `tf.function`, FLOP/s = 2 n^3 / t, median).
- overhead: training samples/s of each modality's default classifier (`clf.fit`) against the
  same architecture written directly in Keras with a plain `tf.data` pipeline, run
  alternately (A B A B ...) in the same process, same batch size and optimizer.
- pipeline: step time with the real input pipeline (`make_dataset` from a folder of PNGs,
  decoded waveforms, strings) against the same batches materialised in memory.
- efficiency: model FLOPs per training sample x samples/s over the matmul rate, and what
  moves it for the default image preset (steps_per_execution, XLA, bfloat16, batch size).
- inference: exported SavedModel latency (batch 1) and throughput (batch 64), reusing
  bench/harness.py's timing functions.
- memory: peak resident memory of a subprocess that trains from a folder of 64x64 PNGs
  16x larger than a 20 MB cache limit, against the same with caching on.
- front end: in-graph log-mel clips/s against per-clip librosa (bench/measures.py's function).

Run from the repository root (writes bench/results/performance.md, about 10-20 minutes):

    nice -n 0 .venv/bin/python -m bench.bench_performance
    .venv/bin/python -m bench.bench_performance --quick     # a smoke run with tiny sizes
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench.baselines import compile_like_mmcnn, hand_written_model, plain_dataset  # noqa: E402
from bench.datasets import labeled, synthetic_images, synthetic_texts, synthetic_waves, write_pngs  # noqa: E402
from bench.harness import (  # noqa: E402
    EpochTimer,
    Section,
    cpu_flags,
    log,
    machine_info,
    machine_line,
    median,
    memory_dataset,
    peak_rss_mb,
    percentile,
    serve_call,
    time_calls,
)
from bench.measures import cases, front_end_throughput, make_classifier, pipeline  # noqa: E402
from bench.performance_report import write_report  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "performance.md")
SEED = 0
SECTIONS = ("matmul", "overhead", "pipeline", "efficiency", "inference", "memory", "frontend")


# -------------------------------------------------------------------------------- sections
def measure_matmul(n=2048, repeats=12):
    rates = {}
    for dtype in ("float32", "bfloat16"):
        a = tf.cast(tf.random.normal((n, n), seed=1), dtype)
        b = tf.cast(tf.random.normal((n, n), seed=2), dtype)
        fn = tf.function(lambda a, b: tf.linalg.matmul(a, b))
        for _ in range(3):
            fn(a, b).numpy()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn(a, b).numpy()
            times.append(time.perf_counter() - start)
        rates[dtype] = {"median": 2 * n**3 / median(times), "best": 2 * n**3 / min(times)}
        log(
            f"matmul {n}x{n} {dtype}: median {rates[dtype]['median'] / 1e9:.1f} GFLOP/s, "
            f"best {rates[dtype]['best'] / 1e9:.1f} GFLOP/s"
        )
    return rates


def overhead(modality, rng, steps, rounds):
    """mmcnn `clf.fit` vs the hand-written twin on the same data, alternately."""
    clf = make_classifier(modality)
    batch = clf.setting("batch_size")
    n = steps * batch
    if modality == "image":
        x, y = synthetic_images(n, rng)
    elif modality == "audio":
        x, y = synthetic_waves(n, rng)
    else:
        x, y = synthetic_texts(n, rng)
    data = labeled(modality, x, y)
    hand = hand_written_model(modality, clf, texts=x if modality == "text" else None)
    epochs_planned = 1 + rounds
    compile_like_mmcnn(hand, clf, steps, epochs_planned)
    hand_ds = plain_dataset(tf.constant(x) if modality == "text" else x, y, batch)
    timers = {"mmcnn": EpochTimer(batch), "keras": EpochTimer(batch)}

    mmcnn_ds = []

    def run_mmcnn():
        if not mmcnn_ds:
            # The whole user path once: builds, compiles and traces (a dropped warm-up epoch).
            clf.fit(data, epochs=1, early_stopping=False, verbose=0, callbacks=[timers["mmcnn"]])
            mmcnn_ds.append(clf.make_dataset(data, training=True, batch_size=batch))
        else:
            # Later epochs of a long `clf.fit`: the same dataset object every epoch (its cache
            # filled once), the same compiled model; a new `clf.fit` per epoch would refill
            # the cache every time, which a real run does only in its first epoch.
            clf.model.fit(mmcnn_ds[0], epochs=1, verbose=0, callbacks=[timers["mmcnn"]])

    def run_keras():
        hand.fit(hand_ds, epochs=1, verbose=0, callbacks=[timers["keras"]])

    # Round 0 traces both step functions (its epochs are dropped); then A B, B A, A B, ...
    # so that a change of load within a round hits both sides alike.
    for r in range(rounds + 1):
        for run in (run_mmcnn, run_keras) if r % 2 == 0 else (run_keras, run_mmcnn):
            run()
    from mmcnn.inspect import total_macs

    result = {
        "batch": batch,
        "steps": steps,
        "rounds": rounds,
        "params_mmcnn": clf.model.count_params(),
        "params_keras": hand.count_params(),
        "macs": total_macs(clf.model),
        "preset": clf.preset,
        "augmentation": clf.augmentation,
    }
    for name, timer in timers.items():
        result[name] = timer.samples_per_s(skip=1)
        result[name + "_epochs"] = [round(e["samples_per_s"], 1) for e in timer.epochs]
    result["ratio_of_medians"] = result["mmcnn"] / result["keras"]
    # The ratio within each round (the two epochs ran back to back), then the median.
    result["ratios"] = [
        a["samples_per_s"] / b["samples_per_s"]
        for a, b in zip(timers["mmcnn"].epochs[1:], timers["keras"].epochs[1:])
    ]
    result["ratio"] = median(result["ratios"])
    result["macs_counted"] = result["macs"]
    if modality == "text":
        result["macs"] = text_macs(clf)
    log(
        f"{modality}: mmcnn {result['mmcnn']:.0f} samples/s, keras {result['keras']:.0f} samples/s, "
        f"ratio {result['ratio']:.3f} (params {result['params_mmcnn']} vs {result['params_keras']})"
    )
    return result


def text_macs(clf):
    """Multiply-adds of the Kim-style text network, counted by hand.

    `mmcnn.inspect.total_macs` does not look inside `TokenWindowAdapter` (it has no
    `inspect_path`), so for text it counts only the head.
    """
    preset = clf.preset_config
    tokens, emb = clf.setting("max_tokens"), clf.setting("embedding_dim")
    filters, widths = clf.setting("filters"), clf.setting("widths")
    if preset.get("blocks"):
        return None
    return tokens * emb * filters * sum(widths) + filters * len(widths) * clf.num_classes


def efficiency_variants(rng, steps, rounds, peak):
    """Training samples/s of the default image preset under settings that might speed it up.

    Every variant trains on the same in-memory batches (no pipeline cost); the variants run
    in turn, round after round, so that drift in the machine's load hits all of them.
    """
    from mmcnn.inspect import total_macs

    base_batch = 128
    x, y = synthetic_images(steps * 2 * base_batch, rng)
    variants = [
        ("default (float32, batch 128, augmentation light)", {}, base_batch),
        ("steps_per_execution=8", {"compile": {"steps_per_execution": 8}}, base_batch),
        ("jit_compile=True (XLA)", {"compile": {"jit_compile": True}}, base_batch),
        ("mixed_bfloat16 policy", {"policy": "mixed_bfloat16"}, base_batch),
        ("batch 256", {}, 256),
        ("augmentation none", {"clf": {"augmentation": "none"}}, base_batch),
        (
            "augmentation none + mixed_bfloat16",
            {"clf": {"augmentation": "none"}, "policy": "mixed_bfloat16"},
            base_batch,
        ),
        (
            "augmentation none + jit_compile=True",
            {"clf": {"augmentation": "none"}, "compile": {"jit_compile": True}},
            base_batch,
        ),
    ]
    runs = []
    for name, options, batch in variants:
        if options.get("policy"):
            keras.mixed_precision.set_global_policy(options["policy"])
        try:
            clf = make_classifier("image", **options.get("clf", {}))
            model = clf.model
        finally:
            keras.mixed_precision.set_global_policy("float32")
        n_steps = steps * base_batch // batch
        compile_like_mmcnn(model, clf, n_steps, rounds + 1, **options.get("compile", {}))
        batches = [
            (tf.constant(x[i : i + batch]), tf.constant(y[i : i + batch]))
            for i in range(0, n_steps * batch, batch)
        ]
        if options.get("compile", {}).get("jit_compile") and not model.jit_compile:
            name += " - Keras fell back to jit_compile=False (a layer has supports_jit=False)"
        runs.append(
            {
                "name": name,
                "model": model,
                "data": memory_dataset(batches),
                "timer": EpochTimer(batch),
                "macs": total_macs(model),
                "error": None,
            }
        )
    for _ in range(rounds + 1):
        for run in runs:
            if run["error"]:
                continue
            try:
                run["model"].fit(run["data"], epochs=1, verbose=0, callbacks=[run["timer"]])
            except Exception as error:  # noqa: BLE001 - a variant that cannot run is reported
                run["error"] = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:200]}"
                log(f"{run['name']}: failed: {run['error']}")
    results = []
    for run in runs:
        row = {"name": run["name"], "macs": run["macs"], "error": run["error"]}
        if not run["error"]:
            row["samples_per_s"] = run["timer"].samples_per_s(skip=1)
            row["epochs"] = [round(e["samples_per_s"], 1) for e in run["timer"].epochs]
            row["flops_per_s"] = 6 * run["macs"] * row["samples_per_s"]
            row["efficiency"] = row["flops_per_s"] / peak["float32"]["median"]
            log(
                f"{run['name']}: {row['samples_per_s']:.0f} samples/s, "
                f"{row['flops_per_s'] / 1e9:.1f} GFLOP/s, {100 * row['efficiency']:.1f} % of fp32 matmul"
            )
        results.append(row)
    return results


def inference(latency_calls, throughput_calls, max_seconds, workdir):
    rows = []
    rng = np.random.default_rng(SEED)
    for modality, clf, signatures, _ in cases(rng):
        path = os.path.join(workdir, f"export_{modality}")
        clf.export(path)
        served = tf.saved_model.load(path)
        keep = [s for s in signatures if s[0] == "features"] + [
            next(s for s in signatures if s[0] == "serving_default")
        ]
        for signature, name, example, what in keep:
            fn = served.signatures[signature]
            one = time_calls(serve_call(fn, name, np.asarray([example])), latency_calls, max_seconds)
            many = time_calls(
                serve_call(fn, name, np.asarray([example] * 64)),
                throughput_calls,
                max_seconds,
                warmup=2,
            )
            rows.append(
                {
                    "modality": modality,
                    "signature": signature,
                    "input": what,
                    "median_ms": 1e3 * median(one),
                    "p99_ms": 1e3 * percentile(one, 99),
                    "calls": len(one),
                    "batch64_per_s": 64 / median(many),
                    "batch64_calls": len(many),
                }
            )
            log(
                f"{modality} {signature} ({what}): batch 1 median {rows[-1]['median_ms']:.2f} ms, "
                f"p99 {rows[-1]['p99_ms']:.2f} ms; batch 64 {rows[-1]['batch64_per_s']:.0f}/s"
            )
        shutil.rmtree(path, ignore_errors=True)
    return rows


def bounded_shuffle_dataset(clf, data, batch_size, buffer=1024):
    """The pipeline proposed for uncached data: shuffle the file names, not the pixels.

    The (path, label) pairs are shuffled over the whole data set (a few bytes each), then
    decoded in parallel, then mixed again in a small buffer of decoded images, so memory
    no longer grows with `min(len(data), 20000)` decoded images.
    """
    size, channels, mode = clf.image_size, clf.channels, clf.resize_mode
    from mmcnn.image.image_converter import decode_image, resize_image

    pairs = tf.data.Dataset.from_tensor_slices((list(data.inputs), data.labels)).shuffle(
        len(data), seed=SEED, reshuffle_each_iteration=True
    )
    ds = pairs.map(
        lambda path, label: (resize_image(decode_image(tf.io.read_file(path), channels), size, mode), label),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return ds.shuffle(buffer, seed=SEED).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def memory_child(root, cache_bytes, epochs, variant="make_dataset"):
    """Runs in a subprocess: trains a small model from the PNG folder, prints JSON."""
    import psutil

    import mmcnn.image

    process = psutil.Process()
    data = mmcnn.image.from_directory(root, verbose=0)
    clf = mmcnn.image.ImageClassifier(
        num_classes=len(data.class_names),
        class_names=data.class_names,
        image_size=(64, 64),
        channels=1,
        seed=SEED,
    )
    if variant == "bounded_shuffle":
        dataset = bounded_shuffle_dataset(clf, data, 128)
    else:
        dataset = clf.make_dataset(data, training=True, batch_size=128, cache_bytes=cache_bytes)
    # A cheap model: the memory under test is the input pipeline's, not the network's.
    model = keras.Sequential(
        [
            keras.Input((64, 64, 1)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 3, strides=4, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(len(data.class_names), activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy")
    model.train_on_batch(np.zeros((2, 64, 64, 1), "float32"), np.zeros(2))
    rss_before = process.memory_info().rss / 2**20
    peak_before = peak_rss_mb()
    start = time.perf_counter()
    model.fit(dataset, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    cached = variant == "make_dataset" and len(data) * clf.example_nbytes() <= cache_bytes
    print(
        json.dumps(
            {
                "variant": variant,
                "images": len(data),
                "cache_bytes": cache_bytes,
                "cached": cached,
                "decoded_mb": len(data) * clf.example_nbytes() / 2**20,
                "rss_before_mb": rss_before,
                "peak_before_mb": peak_before,
                "peak_rss_mb": peak_rss_mb(),
                "rss_after_mb": process.memory_info().rss / 2**20,
                "fit_seconds": seconds,
                "epochs": epochs,
            }
        )
    )


def memory(n_images, epochs, workdir, rng):
    root = os.path.join(workdir, "memory_pngs")
    start = time.perf_counter()
    write_pngs(root, n_images, 64, rng)
    disk = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(root) for f in fs)
    log(f"wrote {n_images} 64x64 PNGs ({disk / 2**20:.0f} MB) in {time.perf_counter() - start:.0f} s")
    results = []
    for cache_bytes, variant in (
        (20 * 2**20, "make_dataset"),
        (2 * 1024**3, "make_dataset"),
        (20 * 2**20, "bounded_shuffle"),
    ):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.bench_performance",
                "--memory-child",
                root,
                "--cache-bytes",
                str(cache_bytes),
                "--memory-epochs",
                str(epochs),
                "--memory-variant",
                variant,
            ],
            cwd=os.path.dirname(HERE),
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(f"memory child failed:\n{out.stderr[-3000:]}")
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["disk_mb"] = disk / 2**20
        results.append(row)
        log(
            f"{variant}, cache_bytes {cache_bytes / 2**20:.0f} MB (cached: {row['cached']}): peak RSS "
            f"{row['peak_rss_mb']:.0f} MB (before fit {row['rss_before_mb']:.0f} MB), "
            f"{row['fit_seconds']:.0f} s"
        )
    shutil.rmtree(root, ignore_errors=True)
    return results


def front_end(n_clips, librosa_clips, rng):
    waves, _ = synthetic_waves(n_clips, rng)
    graph, per_clip = front_end_throughput(waves, 64, librosa_clips=librosa_clips)
    log(f"log-mel: graph {graph:.0f} clips/s, librosa {per_clip:.0f} clips/s")
    return {"graph": graph, "librosa": per_clip, "clips": n_clips, "librosa_clips": librosa_clips}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=RESULTS)
    parser.add_argument("--only", nargs="+", choices=SECTIONS)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not a measurement")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--cache-bytes", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--memory-epochs", type=int, default=2, help=argparse.SUPPRESS)
    parser.add_argument("--memory-variant", default="make_dataset", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child, args.cache_bytes, args.memory_epochs, args.memory_variant)
        return
    quick = args.quick
    sections = args.only or SECTIONS
    steps = {"image": 20, "audio": 30, "text": 100} if not quick else {"image": 2, "audio": 2, "text": 2}
    rounds = 1 if quick else 5
    start = time.perf_counter()
    info = machine_info()
    log(f"machine: {machine_line(info)}")
    rng = np.random.default_rng(SEED)
    keras.utils.set_random_seed(SEED)
    workdir = tempfile.mkdtemp(prefix="bench_performance_")
    loads, results = {}, {}
    try:
        if "matmul" in sections or "efficiency" in sections or "overhead" in sections:
            with Section("matmul", loads):
                results["matmul"] = measure_matmul(repeats=3 if quick else 12)
        if "overhead" in sections:
            results["overhead"] = {}
            for modality in ("image", "audio", "text"):
                with Section(f"overhead {modality}", loads):
                    results["overhead"][modality] = overhead(modality, rng, steps[modality], rounds)
        if "pipeline" in sections:
            results["pipeline"] = {}
            for modality in ("image", "audio", "text"):
                with Section(f"pipeline {modality}", loads):
                    results["pipeline"][modality] = pipeline(
                        modality, rng, steps[modality], 1 if quick else 3, workdir
                    )
        if "efficiency" in sections:
            with Section("matmul again", loads):
                again = measure_matmul(repeats=3 if quick else 12)
            # The higher of the two medians: efficiency is then never flattered by a busy moment.
            results["matmul_first"] = results["matmul"]
            results["matmul"] = {
                d: max((results["matmul"][d], again[d]), key=lambda r: r["median"]) for d in again
            }
            with Section("efficiency variants", loads):
                results["efficiency"] = efficiency_variants(
                    rng, 2 if quick else 16, 1 if quick else 3, results["matmul"]
                )
        if "inference" in sections:
            with Section("inference", loads):
                results["inference"] = inference(
                    10 if quick else 100, 3 if quick else 10, 1.0 if quick else 4.0, workdir
                )
        if "memory" in sections:
            with Section("memory", loads):
                results["memory"] = memory(600 if quick else 20000, 1 if quick else 2, workdir, rng)
        if "frontend" in sections:
            with Section("frontend", loads):
                results["frontend"] = front_end(64 if quick else 640, 20 if quick else 100, rng)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    flags = cpu_flags()
    results["notes"] = [
        f"- CPU bfloat16 support: avx512_bf16 {'yes' if 'avx512_bf16' in flags else 'no'}, "
        f"amx_bf16 {'yes' if 'amx_bf16' in flags else 'no'}."
    ]
    write_report(args.out, argv, info, loads, results, time.perf_counter() - start)


if __name__ == "__main__":
    main()
