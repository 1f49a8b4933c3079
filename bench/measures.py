"""Measurements that more than one benchmark runs, so that no benchmark imports another.

- `make_classifier(modality)` / `pipeline(...)`: a default classifier on synthetic data, and its
  training step with the real input pipeline against the same batches in memory
  (bench_performance, bench_device; bench_feature_cache trains `make_classifier`).
- `front_end_throughput(waves)`: in-graph log-mel against per-clip librosa (bench_audio,
  bench_performance).
- `cases(rng)`: each modality's default classifier with the signatures and inputs to time once
  exported (bench_serving, bench_performance).
- `KINDS`, `kind_arguments`, `compare_kinds`, `shots_table`: runs from scratch against fine-tuned
  ones (bench_transfer, bench_transfer_audio, bench_transfer_text).
- `VARIANTS`, `edge_classifier`, `edge_measure`, `edge_lines`: exports to LiteRT and ONNX scored
  against Keras (bench_edge, bench_calibration).
"""

import csv
import io
import json
import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import soundfile  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

import mmcnn  # noqa: E402
import mmcnn.audio  # noqa: E402
import mmcnn.image  # noqa: E402
import mmcnn.text  # noqa: E402
from bench import datasets  # noqa: E402
from bench.datasets import NUM_CLASSES, labeled, synthetic_texts, synthetic_waves, write_pngs  # noqa: E402
from bench.harness import (  # noqa: E402
    EpochTimer,
    code_commit,
    command_line,
    log,
    machine_line,
    median,
    memory_dataset,
)
from mmcnn.export.litert import read_litert_document  # noqa: E402
from mmcnn.export.mediapipe_check import mediapipe_task_name  # noqa: E402

SEED = 0
DEMO_TEXT = os.path.join(os.path.dirname(mmcnn.__file__), "demo_data", "text", "train.csv")


# ------------------------------ default classifiers on synthetic data (performance, device, feature cache)
def make_classifier(modality, **kwargs):
    """The default classifier of `modality` for 10 classes (28x28 grey images), seeded."""
    if modality == "image":
        return mmcnn.image.ImageClassifier(
            num_classes=NUM_CLASSES, image_size=(28, 28), channels=1, seed=SEED, **kwargs
        )
    if modality == "audio":
        return mmcnn.audio.AudioClassifier(num_classes=NUM_CLASSES, seed=SEED, **kwargs)
    return mmcnn.text.TextClassifier(num_classes=NUM_CLASSES, seed=SEED, **kwargs)


def pipeline(modality, rng, steps, rounds, workdir, **classifier_kwargs):
    """Step time with the real `make_dataset` pipeline vs the same batches in memory.

    `classifier_kwargs` go to the classifier (bench/bench_device.py passes `precision`);
    bench/bench_performance.py and bench/bench_device.py run it."""
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


# ------------------------------------------------------------ the log-mel front end (audio, performance)
def front_end_throughput(waves, batch_size=64, librosa_clips=300):
    """Clips per second: in-graph log-mel (batched, compiled) vs per-clip librosa."""
    import librosa

    from mmcnn.audio import LogMelSpectrogram

    layer = LogMelSpectrogram(
        sample_rate=16000, n_fft=512, hop_length=160, n_mels=64, normalize="per_example"
    )
    fn = tf.function(lambda x: layer(x), jit_compile=False)
    batches = [waves[i : i + batch_size] for i in range(0, len(waves), batch_size)]
    fn(tf.constant(batches[0]))  # trace once
    start = time.perf_counter()
    for batch in batches:
        fn(tf.constant(batch)).numpy()
    graph = len(waves) / (time.perf_counter() - start)
    subset = waves[:librosa_clips]
    start = time.perf_counter()
    for wave in subset:
        mel = librosa.feature.melspectrogram(
            y=wave, sr=16000, n_fft=512, hop_length=160, n_mels=64, center=True, pad_mode="constant"
        )
        db = librosa.power_to_db(mel, ref=1.0, top_db=80.0)
        (db - db.mean()) / max(db.std(), 1e-6)
    per_clip = len(subset) / (time.perf_counter() - start)
    return graph, per_clip


# ------------------------------------------------ exported classifiers to time (serving, performance)
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


# --------------------------- fine-tuned against scratch (transfer, transfer_audio, transfer_text)
KINDS = ("scratch", "fine-tuned", "fine-tuned, no freeze")


def kind_arguments(kind, source_path, learning_rate):
    """The classifier arguments of one kind of run in `KINDS` (`learning_rate`: the preset's)."""
    if kind == "scratch":
        return {}
    if kind == "fine-tuned":
        return {"init_from": source_path}
    if kind == "fine-tuned, no freeze":
        return {"init_from": source_path, "freeze_epochs": 0, "fine_tune_learning_rate": learning_rate}
    raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")


def _spread(values, digits=4, scale=1.0, sign=""):
    """`"mean (min to max)"` of `values` times `scale`; just the value when there is one."""
    values = scale * np.asarray(values, dtype=float)
    shown = [f"{v:{sign}.{digits}f}" for v in (values.mean(), values.min(), values.max())]
    return shown[0] if len(values) == 1 else f"{shown[0]} ({shown[1]} to {shown[2]})"


def shots_table(rows, shots, kinds, heading):
    """Markdown lines: for each number of examples per class and each kind of run, the test
    accuracy (mean, min to max over draws), its gain over `kinds[0]` in points (paired by draw),
    the mean macro-F1 and the mean training seconds.

    `rows`: dicts with `shots`, and per kind `(accuracy, macro_f1)` under the kind's name and
    the training time under `"<kind>_seconds"`; `heading`: the first column's title."""
    lines = [
        f"| {heading} | run | test accuracy | gain over {kinds[0]} (points) | macro-F1 | training s |",
        "|---|---|---|---|---|---|",
    ]
    for n in shots:
        group = [r for r in rows if r["shots"] == n]
        if not group:
            continue
        base = [r[kinds[0]][0] for r in group]
        for kind in kinds:
            accuracy = [r[kind][0] for r in group]
            gain = "" if kind == kinds[0] else _spread(np.subtract(accuracy, base), 1, 100, "+")
            lines.append(
                f"| {n} | {kind} | {_spread(accuracy)} | {gain} "
                f"| {np.mean([r[kind][1] for r in group]):.4f} "
                f"| {np.mean([r[kind + '_seconds'] for r in group]):.0f} |"
            )
    return lines


def compare_kinds(make, train, test, kinds, record=None):
    """One draw: for each kind, `make(kind)` trained on `train` and scored on `test`.

    Returns `{kind: (accuracy, macro-F1), f"{kind}_seconds": training seconds}`,
    plus what `record(kind, clf)` returns (a dict) for each kind."""
    result = {}
    for kind in kinds:
        clf = make(kind)
        start = time.perf_counter()
        clf.fit(train, verbose=0)
        result[f"{kind}_seconds"] = time.perf_counter() - start
        report = clf.evaluate(test)
        result[kind] = (report["accuracy"], report["macro_f1"])
        if record is not None:
            result.update(record(kind, clf))
    return result


# ------------------------------------------------------------ on-device exports (edge, calibration)
VARIANTS = [
    ("litert float32", "litert", None),
    ("litert float16", "litert", "float16"),
    ("litert dynamic", "litert", "dynamic"),
    ("litert int8", "litert", "int8"),
    ("onnx float32", "onnx", None),
]


def edge_classifier(modality, train, epochs):
    """The default classifier of `modality` for `train`'s classes (28x28 grey images)."""
    from mmcnn.models import registry

    cls = registry.get_classifier(modality)
    kwargs = {"class_names": train.class_names, "epochs": epochs}
    if modality == "image":
        kwargs.update(image_size=(28, 28), channels=1)
    return cls(**kwargs)


def edge_measure(modality, args, folder, load_split=datasets.load_split, make_classifier=edge_classifier):
    """Trains `modality`'s default on its bench data, exports it in every format of `VARIANTS` and
    scores each file on the test split (`args`: `demo_data`, `speech_data`, `limit`, `epochs`).

    Each export is checked as `mmcnn export` checks it (`check_data` the validation split); a
    row records the runtimes the `.tflite` file's `mmcnn.json` says it was checked or loaded in
    (`checked_in`: the LiteRT interpreter, the MediaPipe Task).

    `load_split` and `make_classifier` make the splits and the classifier (bench/bench_calibration.py
    passes wrappers that keep what they made)."""
    train, val, test = load_split(modality, args.demo_data, args.speech_data)
    train, val, test = (datasets.limit(p, args.limit) for p in (train, val, test))
    print(f"{modality}: train {len(train)}, val {len(val)}, test {len(test)}", flush=True)
    clf = make_classifier(modality, train, args.epochs)
    start = time.perf_counter()
    clf.fit(train, validation_data=val, verbose=2)
    train_s = time.perf_counter() - start
    rows = []
    for name, fmt, quantize in VARIANTS:
        # One folder per modality: each .tflite file writes its classes' labels.txt beside it.
        suffix = "tflite" if fmt == "litert" else "onnx"
        path = os.path.join(folder, modality, f"{fmt}_{quantize or 'float32'}.{suffix}")
        start = time.perf_counter()
        try:
            clf.export(
                path,
                format=fmt,
                quantize=quantize,
                calibration_data=train if quantize else None,
                check_data=val,
                overwrite=True,  # --files may name the folder of an earlier run
            )
        except Exception as error:  # noqa: BLE001 - a failed variant is a result too
            rows.append({"variant": name, "error": f"{type(error).__name__}: {str(error).splitlines()[0]}"})
            print(modality, name, "failed:", rows[-1]["error"], flush=True)
            continue
        export_s = time.perf_counter() - start
        metrics = clf.evaluate_model_file(test, path)
        rows.append(
            {
                "variant": name,
                "accuracy": metrics["accuracy"],
                "keras_accuracy": metrics["keras_accuracy"],
                "agreement": metrics["agreement"],
                "max_abs_diff": metrics["max_abs_diff"],
                "file_size_bytes": metrics["file_size_bytes"],
                "latency_ms_batch1": metrics["latency_ms_batch1"],
                "export_s": export_s,
                **(litert_checks(path) if fmt == "litert" else {}),
            }
        )
        print(modality, json.dumps(rows[-1]), flush=True)
    keras_ms = keras_latency(clf, test)
    return {
        "modality": modality,
        "preset": clf.preset,
        "sizes": {"train": len(train), "val": len(val), "test": len(test)},
        "epochs": clf.setting("epochs"),
        "precision": (clf.precision_used or {}).get("policy"),
        "train_s": train_s,
        "keras_latency_ms_batch1": keras_ms,
        "rows": rows,
    }


def keras_latency(clf, test, count=50):
    """Median batch-1 latency of the Keras model (a compiled `predict_on_batch`) on test inputs."""
    x = next(iter(clf.make_dataset(datasets.limit(test, count), batch_size=count)))[0]
    times = []
    for i in range(int(x.shape[0])):
        row = x[i : i + 1]
        start = time.perf_counter()
        clf.model.predict_on_batch(row)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times[1:] or times))


def litert_checks(path):
    """`checked_in` (the runtimes the `.tflite` file was checked or loaded in, from its
    `mmcnn.json`) and `mediapipe_task` (the Task its input suits, None: no Task)."""
    document = read_litert_document(path)
    return {"checked_in": document.get("checked_in"), "mediapipe_task": mediapipe_task_name(document)}


def checked_in(row):
    """A table cell for a row's `checked_in` ("n/a": the format records none)."""
    if "checked_in" not in row:
        return "n/a"
    cell = ", ".join(row["checked_in"]) or "none"
    if row["mediapipe_task"] is None:
        return f"{cell} (no MediaPipe Task takes its input)"
    if not any(name.startswith("MediaPipe") for name in row["checked_in"]):
        return f"{cell} (MediaPipe {row['mediapipe_task']} not installed)"
    return cell


def edge_lines(results, args, before, after):
    """The markdown lines of bench/results/edge.md for `edge_measure` results."""
    lines = [
        "# On-device exports: LiteRT and ONNX against Keras",
        "",
        f"Command: `{command_line('bench.bench_edge')}`",
        "",
        f"Code: commit {code_commit()}. Environment: "
        f"MMCNN_PRECISION={os.environ.get('MMCNN_PRECISION', '(unset)')}.",
        "",
        machine_line(),
        f"Load average (1, 5, 15 min) before: {before}; after: {after}.",
        "",
        "Accuracy on the whole test split, each file run one example at a time in its own runtime "
        "(`ai_edge_litert` interpreter, onnxruntime CPU) on the rows the Keras model saw. Targets "
        "(issue 15): float16/dynamic/ONNX within 0.2 points of Keras, int8 within 1 point, int8 file "
        "at most 30% of the float32 file, ONNX probabilities within 1e-4. Each file is exported "
        "as `mmcnn export` writes it, checked on the validation split; *checked in* is the file's "
        "`mmcnn.json` `checked_in`: the runtimes it ran in (that check) or loaded in (its MediaPipe "
        "Task).",
    ]
    if args.limit or args.demo_data:
        lines += ["", f"**Smoke run** (`--limit {args.limit}`, demo data: {args.demo_data}): not results."]
    for result in results:
        keras_acc = next((r["keras_accuracy"] for r in result["rows"] if "keras_accuracy" in r), None)
        float_size = next(
            (
                r["file_size_bytes"]
                for r in result["rows"]
                if r["variant"] == "litert float32" and "error" not in r
            ),
            None,
        )
        lines += [
            "",
            f"## {result['modality']} (preset {result['preset']}, epochs {result.get('epochs')}, dtype "
            f"policy {result.get('precision')}; {result['sizes']}; trained in {result['train_s']:.0f} s)",
            "",
            f"Keras accuracy {keras_acc:.4f}; Keras batch-1 latency "
            f"{result['keras_latency_ms_batch1']:.2f} ms (`predict_on_batch`)."
            if keras_acc is not None
            else "No variant converted.",
            "",
            "| variant | accuracy | vs Keras (points) | same top class | max prob diff | size (KB) | "
            "size vs float32 | batch-1 ms | checked in |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in result["rows"]:
            if "error" in row:
                lines.append(f"| {row['variant']} | failed: {row['error']} | | | | | | | |")
                continue
            ratio = f"{row['file_size_bytes'] / float_size:.0%}" if float_size else ""
            points = 100 * (row["accuracy"] - row["keras_accuracy"])
            lines.append(
                f"| {row['variant']} | {row['accuracy']:.4f} | {points:+.2f} | {row['agreement']:.2%} "
                f"| {row['max_abs_diff']:.1e} | {row['file_size_bytes'] / 1024:.0f} | {ratio} "
                f"| {row['latency_ms_batch1']:.3f} | {checked_in(row)} |"
            )
    return lines
