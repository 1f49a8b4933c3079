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
  bench/bench_serving.py's timing functions.
- memory: peak resident memory of a subprocess that trains from a folder of 64x64 PNGs
  16x larger than a 20 MB cache limit, against the same with caching on.
- front end: in-graph log-mel clips/s against per-clip librosa (bench/bench_audio.py's function).

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

from bench.common import (
    EpochTimer,
    cpu_flags,
    load_average,
    machine_info,
    machine_line,  # noqa: E402
    median,
    peak_rss_mb,
    percentile,
)

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "performance.md")
SEED = 0
NUM_CLASSES = 10
SECTIONS = ("matmul", "overhead", "pipeline", "efficiency", "inference", "memory", "frontend")


def log(message):
    print(message, flush=True)


class Section:
    """Records the load average at the start and end of a timed section."""

    def __init__(self, name, loads):
        self.name, self.loads = name, loads

    def __enter__(self):
        self.start_load, self.start = load_average(), time.perf_counter()
        log(f"== {self.name} (load {self.start_load})")
        return self

    def __exit__(self, *exc):
        self.loads[self.name] = (self.start_load, load_average(), time.perf_counter() - self.start)
        log(f"== {self.name} done in {self.loads[self.name][2]:.0f} s (load {self.loads[self.name][1]})")


# ---------------------------------------------------------------------------- synthetic data
def synthetic_images(n, rng, size=28):
    return rng.integers(0, 256, (n, size, size, 1)).astype("float32"), rng.integers(0, NUM_CLASSES, n)


def synthetic_waves(n, rng, samples=16000):
    t = np.arange(samples) / 16000.0
    freqs = rng.uniform(200, 2000, (n, 1))
    waves = 0.3 * np.sin(2 * np.pi * freqs * t) + 0.05 * rng.standard_normal((n, samples))
    return waves.astype("float32"), rng.integers(0, NUM_CLASSES, n)


def synthetic_texts(n, rng, vocabulary=3000):
    words = [f"w{i}" for i in range(vocabulary)]
    lengths = rng.integers(5, 40, n)
    # Zipf-like word frequencies, as in real text.
    p = 1.0 / np.arange(1, vocabulary + 1)
    p /= p.sum()
    texts = [" ".join(rng.choice(words, size=k, p=p)) + "." for k in lengths]
    return texts, rng.integers(0, NUM_CLASSES, n)


# ------------------------------------------------------------------ the classifiers under test
def make_classifier(modality, **kwargs):
    import mmcnn.audio
    import mmcnn.image
    import mmcnn.text

    if modality == "image":
        return mmcnn.image.ImageClassifier(
            num_classes=NUM_CLASSES, image_size=(28, 28), channels=1, seed=SEED, **kwargs
        )
    if modality == "audio":
        return mmcnn.audio.AudioClassifier(num_classes=NUM_CLASSES, seed=SEED, **kwargs)
    return mmcnn.text.TextClassifier(num_classes=NUM_CLASSES, seed=SEED, **kwargs)


def labeled(modality, x, y):
    import mmcnn.audio
    import mmcnn.image
    import mmcnn.text

    names = [str(i) for i in range(NUM_CLASSES)]
    module = {"image": mmcnn.image, "audio": mmcnn.audio, "text": mmcnn.text}[modality]
    return module.from_arrays(x, y, class_names=names)


# ------------------------------------------------------------------ the hand-written Keras twins
def _conv_bn_relu(x, filters, kernel, rank, pool):
    conv = keras.layers.Conv2D if rank == 2 else keras.layers.Conv1D
    x = conv(filters, kernel, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    x = keras.layers.ReLU()(x)
    if pool:
        x = (keras.layers.MaxPooling2D(2) if rank == 2 else keras.layers.MaxPooling1D(2))(x)
    return x


def _stack(x, preset, rank):
    for stage in preset["stages"]:
        for b in range(stage.get("blocks", 1)):
            last = b == stage.get("blocks", 1) - 1
            x = _conv_bn_relu(
                x,
                stage["filters"],
                stage.get("kernel_size", 3),
                rank,
                pool=last and stage.get("pooling") == "max",
            )
    return x


def _head(x, preset, rank):
    pool = keras.layers.GlobalAveragePooling2D if rank == 2 else keras.layers.GlobalAveragePooling1D
    if preset.get("head_pooling") == "max":
        pool = keras.layers.GlobalMaxPooling1D
    x = pool()(x)
    if preset.get("head_dropout"):
        x = keras.layers.Dropout(preset["head_dropout"])(x)
    x = keras.layers.Dense(NUM_CLASSES)(x)
    return keras.layers.Softmax(dtype="float32")(x)


def hand_written_model(modality, clf, texts=None):
    """The classifier's architecture rebuilt layer by layer with plain Keras layers.

    Image: Keras's own RandomFlip + RandomTranslation (the "light" policy), Rescaling, then
    Conv-BN-ReLU(-MaxPool) blocks and the head. Audio and text have no plain-Keras twin of
    their front end (waveform augmentation, librosa-exact log-mel, tensorflow-text
    tokenizer), so the same front-end layer classes are instantiated with the same
    arguments and everything after them is plain Keras.
    """
    keras.utils.set_random_seed(SEED)
    preset = clf.preset_config
    if modality == "image":
        inputs = keras.Input((28, 28, 1))
        x = keras.layers.RandomFlip("horizontal", seed=SEED)(inputs)
        x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=SEED + 1)(x)
        x = keras.layers.Rescaling(1.0 / 255.0)(x)
        x = _conv_bn_relu(x, preset["stem"], 3, 2, pool=False)
        x = _stack(x, preset, 2)
        return keras.Model(inputs, _head(x, preset, 2), name="hand_image")
    if modality == "audio":
        from mmcnn.audio.audio_classifier import augmentation_layers

        wave_aug, spec_aug = augmentation_layers(clf.augmentation, SEED)
        inputs = keras.Input((clf.num_samples,))
        x = inputs
        for layer in [*wave_aug, clf._make_converter(), *spec_aug]:
            x = layer(x)
        x = _conv_bn_relu(x, preset["stem"], preset["stem_kernel"], 1, pool=False)
        x = _stack(x, preset, 1)
        return keras.Model(inputs, _head(x, preset, 1), name="hand_audio")
    # Text: Kim (2014) windows, masked padding, as TokenWindowAdapter computes it.
    from keras import ops

    tokenizer = clf._new_tokenizer()
    tokenizer.adapt(np.asarray([t.encode() for t in texts], dtype=object))
    inputs = keras.Input((), dtype="string")
    ids = tokenizer(inputs)
    x = keras.layers.Embedding(tokenizer.vocabulary_size, preset["embedding_dim"])(ids)
    mask = ops.expand_dims(ops.cast(ops.not_equal(ids, 0), "float32"), -1)
    x = keras.layers.Dropout(preset["dropout"])(x * mask)
    branches = [
        keras.layers.Conv1D(preset["filters"], k, activation="relu")(ops.pad(x, [[0, 0], [0, k - 1], [0, 0]]))
        for k in preset["widths"]
    ]
    x = keras.layers.Concatenate()(branches) * mask
    return keras.Model(inputs, _head(x, preset, 1), name="hand_text")


def compile_like_mmcnn(model, clf, steps, epochs, **compile_kwargs):
    """The optimizer, schedule, loss and metrics of `Classifier.compile`."""
    lr = clf.setting("learning_rate")
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=max(1, steps * epochs - steps // 2),
        warmup_target=lr,
        warmup_steps=max(1, steps // 2),
        alpha=0.01,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=schedule, weight_decay=clf.preset_config.get("weight_decay", 1e-4)
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        **compile_kwargs,
    )


def plain_dataset(x, y, batch_size):
    """The straightforward pipeline: from_tensor_slices -> shuffle -> batch -> prefetch."""
    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(y), seed=SEED)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


def memory_dataset(batches):
    """The same batches, already in memory: one slice per step, nothing else to do."""
    xs = tf.stack([b[0] for b in batches])
    ys = tf.stack([b[1] for b in batches])
    return tf.data.Dataset.from_tensor_slices((xs, ys))


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


def write_pngs(root, n, size, rng, per_class_dirs=NUM_CLASSES):
    from PIL import Image

    for c in range(per_class_dirs):
        os.makedirs(os.path.join(root, f"class{c}"), exist_ok=True)
    # Smooth random blobs compress like real photos, unlike white noise.
    base = rng.integers(0, 256, (n, size // 8, size // 8), dtype=np.uint8)
    for i in range(n):
        image = Image.fromarray(base[i]).resize((size, size), Image.BILINEAR)
        image.save(os.path.join(root, f"class{i % per_class_dirs}", f"{i:06d}.png"))


def pipeline(modality, rng, steps, rounds, workdir, **classifier_kwargs):
    """Step time with the real `make_dataset` pipeline vs the same batches in memory.

    `classifier_kwargs` go to the classifier (bench/bench_device.py passes `precision`)."""
    clf = make_classifier(modality, **classifier_kwargs)
    batch = clf.setting("batch_size")
    n = steps * batch
    if modality == "image":
        import mmcnn.image

        root = os.path.join(workdir, "pipeline_pngs")
        write_pngs(root, n, 28, rng)
        data = mmcnn.image.from_directory(root, verbose=0)
        source = f"{n} 28x28 PNG files (`from_directory`)"
    elif modality == "audio":
        x, y = synthetic_waves(n, rng)
        data = labeled(modality, x, y)
        source = f"{n} decoded 1 s waveforms (`from_arrays`)"
    else:
        x, y = synthetic_texts(n, rng)
        data = labeled(modality, x, y)
        source = f"{n} strings (`from_arrays`)"
    clf.prepare(data)
    clf.compile(steps_per_epoch=steps, epochs=2 * rounds + 2)
    real = clf.make_dataset(data, training=True, batch_size=batch)
    start = time.perf_counter()
    batches = list(real)  # the first pass decodes and fills the cache
    first_pass = time.perf_counter() - start
    memory = memory_dataset(batches)
    timers = {"real": EpochTimer(batch), "memory": EpochTimer(batch)}
    order = [(real, timers["real"]), (memory, timers["memory"])]
    for r in range(rounds + 1):
        for dataset, timer in order if r % 2 == 0 else order[::-1]:
            clf.model.fit(dataset, epochs=1, verbose=0, callbacks=[timer])
    step = {k: batch / t.samples_per_s(skip=1) for k, t in timers.items()}
    # Per round: the two epochs ran back to back; the median of the per-round gaps.
    gap = median(
        [
            m["samples_per_s"] / r["samples_per_s"] - 1
            for r, m in zip(timers["real"].epochs[1:], timers["memory"].epochs[1:])
        ]
    )
    log(
        f"{modality}: step real {1e3 * step['real']:.1f} ms, memory {1e3 * step['memory']:.1f} ms, "
        f"gap {100 * gap:+.1f} %; first pass {first_pass:.1f} s"
    )
    return {
        "source": source,
        "policy": clf.precision_used["policy"],
        "batch": batch,
        "steps": steps,
        "first_pass_s": first_pass,
        "first_pass_per_s": n / first_pass,
        "step_real_ms": 1e3 * step["real"],
        "step_memory_ms": 1e3 * step["memory"],
        "gap": gap,
        "real_epochs": [round(e["samples_per_s"], 1) for e in timers["real"].epochs],
        "memory_epochs": [round(e["samples_per_s"], 1) for e in timers["memory"].epochs],
    }


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
    from bench import bench_serving

    rows = []
    rng = np.random.default_rng(SEED)
    for modality, clf, signatures, _ in bench_serving.cases(rng):
        path = os.path.join(workdir, f"export_{modality}")
        clf.export(path)
        served = tf.saved_model.load(path)
        keep = [s for s in signatures if s[0] == "features"] + [
            next(s for s in signatures if s[0] == "serving_default")
        ]
        for signature, name, example, what in keep:
            fn = served.signatures[signature]
            one = bench_serving.time_calls(
                bench_serving.serve_call(fn, name, np.asarray([example])), latency_calls, max_seconds
            )
            many = bench_serving.time_calls(
                bench_serving.serve_call(fn, name, np.asarray([example] * 64)),
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
    from bench.bench_audio import front_end_throughput

    waves, _ = synthetic_waves(n_clips, rng)
    graph, per_clip = front_end_throughput(waves, 64, librosa_clips=librosa_clips)
    log(f"log-mel: graph {graph:.0f} clips/s, librosa {per_clip:.0f} clips/s")
    return {"graph": graph, "librosa": per_clip, "clips": n_clips, "librosa_clips": librosa_clips}


# ---------------------------------------------------------------------------------- report
def _pct(x):
    return f"{100 * x:.1f} %"


def write_report(path, argv, info, loads, results, total_seconds):
    lines = [
        "## Performance: overhead, input pipeline, compute efficiency, inference, memory",
        "",
        "Command: `"
        + " ".join(["nice -n 0 .venv/bin/python -m bench.bench_performance", *argv])
        + "` (bench/bench_performance.py)",
        "",
        f"Machine: {machine_line(info)}. TensorFlow's default thread pools; oneDNN on.",
        "The machine is shared with other engineers' tests: the load average (1, 5, 15 min) at "
        "the start and end of each section is given below; absolute numbers are pessimistic, "
        "ratios of models run alternately in one process are robust to it.",
        f"Total run time: {total_seconds / 60:.1f} min.",
        "",
    ]
    lines += ["| section | load at start | load at end | seconds |", "|---|---|---|---:|"]
    lines += [f"| {k} | {a} | {b} | {s:.0f} |" for k, (a, b, s) in loads.items()]
    lines.append("")
    peak = results.get("matmul")
    if peak:
        first = results.get("matmul_first", peak)
        lines += [
            "### Dense matrix-multiply rate (the reference for efficiency)",
            "",
            "`tf.linalg.matmul` of two 2048 x 2048 matrices in a `tf.function`, 12 timed calls "
            "after 3 warm-up calls; FLOP/s = 2 n^3 / t. Measured at the start and again before "
            "the efficiency variants; the reference is the higher of the two medians.",
            "",
            "| dtype | start: median GFLOP/s | start: best | reference median GFLOP/s | reference best |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {d} | {first[d]['median'] / 1e9:.1f} | {first[d]['best'] / 1e9:.1f} | "
            f"{r['median'] / 1e9:.1f} | {r['best'] / 1e9:.1f} |"
            for d, r in peak.items()
        ]
        lines.append("")
    if results.get("overhead"):
        rows = results["overhead"]
        lines += [
            "### Overhead: mmcnn against the same network written directly in Keras",
            "",
            "Training samples/s (median of the timed epochs; the first epoch of each, which "
            "traces the step function, is dropped). mmcnn: `clf.fit(from_arrays(...), epochs=1, "
            "early_stopping=False)` once (warm-up), then "
            "`clf.model.fit(ds, epochs=1)` on the dataset that `clf.make_dataset(data, "
            "training=True)` returns, as the later epochs of one long `clf.fit` run; Keras: the "
            "same layers (filters, kernels, batch "
            "norm, pooling, head, augmentation layers and front end) built with "
            "`keras.Model` from plain Keras layers, fed by `from_tensor_slices -> shuffle -> "
            "batch -> prefetch`, the same AdamW + cosine schedule, loss and metric. The two "
            "alternate epoch by epoch in one process (A B, B A, A B, ...); the per-round ratio "
            "compares two epochs run back to back. Synthetic data: random 28x28x1 "
            "images, 1 s tones + noise at 16 kHz, Zipf-distributed 5-40-word texts. Audio and "
            "text reuse mmcnn's front-end layer classes in the Keras model (there is no plain "
            "Keras twin of the librosa-exact log-mel, the waveform augmentation or the "
            "tensorflow-text tokenizer); everything after them is plain Keras.",
            "",
            "| modality | preset (augmentation) | batch | steps/epoch x timed epochs | params mmcnn / Keras "
            "| mmcnn samples/s | Keras samples/s | ratio of medians | per-round ratios "
            "(min - max) | median per-round ratio | target >= 1.0 |",
            "|---|---|---:|---|---|---:|---:|---:|---|---:|---|",
        ]
        for m, r in rows.items():
            lo, hi = min(r["ratios"]), max(r["ratios"])
            ok = (
                "met"
                if r["ratio"] >= 1.0
                else ("not met, but 1.0 is inside the per-round spread" if hi >= 1.0 else "not met")
            )
            lines.append(
                f"| {m} | {r['preset']} ({r['augmentation']}) | {r['batch']} | {r['steps']} x "
                f"{r['rounds']} | {r['params_mmcnn']:,} / {r['params_keras']:,} | {r['mmcnn']:.0f} "
                f"| {r['keras']:.0f} | {r['ratio_of_medians']:.3f} | {lo:.2f} - {hi:.2f} | "
                f"**{r['ratio']:.3f}** | {ok} |"
            )
        lines += [
            "",
            "Per-epoch samples/s (first = warm-up): "
            + "; ".join(
                f"{m}: mmcnn {r['mmcnn_epochs']}, Keras {r['keras_epochs']}" for m, r in rows.items()
            ),
            "",
        ]
    if results.get("pipeline"):
        lines += [
            "### Input pipeline: real data against the same batches in memory",
            "",
            "Step time of `clf.model.fit` on `clf.make_dataset(data, training=True)` against "
            "the same batches materialised as tensors (a dataset of whole batches: one slice "
            "per step). The first pass over the real pipeline decodes the files and fills the "
            "cache (timed alone, without training); then real and in-memory epochs alternate and "
            "the first of each is dropped.",
            "",
            "| modality | source | batch | first pass (decode + cache) | step, real pipeline (ms) "
            "| step, in memory (ms) | gap | target < 5 % |",
            "|---|---|---:|---|---:|---:|---:|---|",
        ]
        for m, r in results["pipeline"].items():
            lines.append(
                f"| {m} | {r['source']} | {r['batch']} | {r['first_pass_s']:.1f} s "
                f"({r['first_pass_per_s']:.0f} examples/s) | {r['step_real_ms']:.1f} | "
                f"{r['step_memory_ms']:.1f} | {100 * r['gap']:+.1f} % | "
                f"{'met' if r['gap'] < 0.05 else 'not met'} |"
            )
        lines += [
            "",
            "Per-epoch samples/s (first = warm-up): "
            + "; ".join(
                f"{m}: real {r['real_epochs']}, memory {r['memory_epochs']}"
                for m, r in results["pipeline"].items()
            ),
            "",
        ]
    if results.get("overhead") and peak:
        lines += [
            "### Compute efficiency of the default presets",
            "",
            "Model multiply-adds per sample (`mmcnn.inspect.total_macs(clf.model)`: "
            "convolutions and dense layers; the log-mel, tokenizer and augmentation are not "
            "counted) x 2 FLOPs x 3 (forward + backward) x training samples/s (from the "
            "overhead run above), over the float32 matmul rate.",
            "",
            "| modality | multiply-adds / sample | training samples/s | GFLOP/s | % of fp32 matmul | "
            "% of bf16 matmul |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for m, r in results["overhead"].items():
            if r["macs"] is None:
                continue
            flops = 6 * r["macs"] * r["mmcnn"]
            lines.append(
                f"| {m} | {r['macs'] / 1e6:.2f} M | {r['mmcnn']:.0f} | {flops / 1e9:.1f} | "
                f"{_pct(flops / peak['float32']['median'])} | "
                f"{_pct(flops / peak['bfloat16']['median'])} |"
            )
        text = results["overhead"].get("text")
        if text:
            lines.append("")
            lines.append(
                f"Text: `total_macs(clf.model)` returns {text['macs_counted']:,} (it does not "
                "look inside `TokenWindowAdapter`, which has no `inspect_path`); the row above "
                "counts the four window convolutions by hand (tokens x embedding x filters x "
                "sum of widths + head)."
            )
        lines.append("")
    if results.get("efficiency"):
        lines += [
            "What moves it, default image preset (`small`, 28x28x1), same in-memory batches, "
            "variants run in turn round after round (first epoch of each dropped); "
            "efficiency against the fp32 matmul rate:",
            "",
            "| variant | multiply-adds / sample | samples/s | GFLOP/s | % of fp32 matmul | vs default |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        base = results["efficiency"][0].get("samples_per_s")
        for r in results["efficiency"]:
            if r["error"]:
                lines.append(f"| {r['name']} | {r['macs'] / 1e6:.2f} M | failed: {r['error']} | | | |")
            else:
                lines.append(
                    f"| {r['name']} | {r['macs'] / 1e6:.2f} M | {r['samples_per_s']:.0f} | "
                    f"{r['flops_per_s'] / 1e9:.1f} | {_pct(r['efficiency'])} | "
                    f"{r['samples_per_s'] / base:.2f}x |"
                )
        lines += [
            "",
            "Per-epoch samples/s: "
            + "; ".join(f"{r['name']}: {r.get('epochs')}" for r in results["efficiency"] if not r["error"]),
            "",
        ]
    if results.get("inference"):
        lines += [
            "### Inference: exported SavedModel",
            "",
            "Each default classifier (untrained) exported with `clf.export()`, reloaded with "
            "`tf.saved_model.load`, called through bench/bench_serving.py's `time_calls` and "
            "`serve_call` (outputs fetched to NumPy): batch 1 back to back (median, p99), and "
            "batch 64 (examples/s).",
            "",
            "| modality | signature | input | batch 1 median (ms) | batch 1 p99 (ms) | calls "
            "| batch 64 examples/s | calls |",
            "|---|---|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['modality']} | `{r['signature']}` | {r['input']} | {r['median_ms']:.2f} | "
            f"{r['p99_ms']:.2f} | {r['calls']} | {r['batch64_per_s']:.0f} | {r['batch64_calls']} |"
            for r in results["inference"]
        ]
        lines.append("")
    if results.get("memory"):
        rows = results["memory"]
        lines += [
            "### Memory: training from a folder larger than the cache limit",
            "",
            f"A folder of {rows[0]['images']} 64x64 grey PNGs ({rows[0]['disk_mb']:.0f} MB on disk, "
            f"{rows[0]['decoded_mb']:.0f} MB decoded as float32, "
            f"{rows[0]['decoded_mb'] / 20:.0f}x a 20 MB cache limit). Each setting runs in its own "
            "subprocess: `from_directory`, `ImageClassifier(image_size=(64, 64), channels=1)"
            ".make_dataset(training=True, batch_size=128, cache_bytes=...)`, feeding a tiny "
            f"Keras model (the memory under test is the pipeline's) for {rows[0]['epochs']} "
            "epochs. Peak RSS is the subprocess's `VmHWM` (/proc/self/status; `ru_maxrss` "
            "would carry the parent's peak across fork + exec).",
            "",
            "`make_dataset` shuffles `min(len(data), 20000)` *decoded* examples, cached or not; "
            "the `bounded_shuffle` row is the pipeline proposed for uncached data (shuffle the "
            "(path, label) pairs over the whole set, decode, then a 1024-image shuffle buffer; "
            "`bounded_shuffle_dataset` in this script).",
            "",
            "| pipeline | cache_bytes | cached in memory | RSS before fit (MB) | peak RSS (MB) | "
            "peak - RSS before (MB) | fit time (s) |",
            "|---|---|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['variant']} | {r['cache_bytes'] / 2**20:.0f} MB | "
            f"{'yes' if r['cached'] else 'no (streams)'} | "
            f"{r['rss_before_mb']:.0f} | {r['peak_rss_mb']:.0f} | "
            f"{r['peak_rss_mb'] - r['rss_before_mb']:.0f} | {r['fit_seconds']:.1f} |"
            for r in rows
        ]
        lines.append("")
    if results.get("frontend"):
        r = results["frontend"]
        lines += [
            "### Audio front end",
            "",
            "Log-mel (n_fft 512, hop 160, 64 mels, per-example normalisation) of 1 s clips "
            "(bench/bench_audio.py's `front_end_throughput`): in-graph `LogMelSpectrogram` in "
            f"batches of 64 over {r['clips']} clips: **{r['graph']:.0f} clips/s**; librosa one "
            f"clip at a time over {r['librosa_clips']} clips: **{r['librosa']:.0f} clips/s** "
            f"({r['graph'] / r['librosa']:.1f}x).",
            "",
        ]
    notes = results.get("notes")
    if notes:
        lines += ["### Notes", ""] + notes + [""]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    log(f"wrote {path}")


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
