"""On-device exports: accuracy, file size and batch-1 latency of Keras vs LiteRT (float32, float16,
dynamic, int8) vs ONNX, for each modality's default preset on the benchmark data.

Each classifier is trained once (the preset's schedule; `--epochs` overrides it), then written in
every format and scored in its own runtime (`ai_edge_litert`, onnxruntime) on the whole test
split through `Classifier.evaluate_model_file`: the same rows as the Keras model, one example at a
time. int8 is calibrated on 300 training examples (seeded).

Data: Fashion-MNIST (`bench.data.fashion_mnist`), espeak speech (`bench.bench_audio.load_data`),
fortunes (`bench.bench_text.split_data`); `bench/setup.sh` installs them. `--demo-data` uses the
small sets shipped in `mmcnn/demo_data/` instead, and `--limit N` keeps N examples of each split:
both are for checking that the script runs, not for results.

Run:  python -m bench.bench_edge [--modalities image audio text] [--out bench/results/edge.md]
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

from bench.common import load_average, machine_line, write_results

RESULTS = os.path.join(os.path.dirname(__file__), "results", "edge.md")
VARIANTS = [
    ("litert float32", "litert", None),
    ("litert float16", "litert", "float16"),
    ("litert dynamic", "litert", "dynamic"),
    ("litert int8", "litert", "int8"),
    ("onnx float32", "onnx", None),
]
SEED = 0


def _limit(data, count):
    if count is None or len(data) <= count:
        return data
    return data.subset(np.sort(np.random.default_rng(SEED).choice(len(data), count, replace=False)))


def load_split(modality, demo_data=False, speech_dir="/tmp/speech_bench"):
    """`(train, val, test)` LabeledData of a modality's benchmark (or shipped demo) data."""
    if demo_data:
        from mmcnn.demo import _data_paths
        from mmcnn.runs import load_data

        paths = _data_paths(modality, tempfile.mkdtemp(prefix="bench-edge-"))
        train = load_data(modality, paths["train"], verbose=0)
        test = load_data(modality, paths["test"], class_names=train.class_names, verbose=0)
        train, val = train.split(0.1, seed=SEED)
        return train, val, test
    if modality == "image":
        import mmcnn.image as mi
        from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

        (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
        train = mi.from_arrays(x_train, y_train, class_names=CLASS_NAMES)
        train, val = train.split(5000 / len(train), seed=SEED)
        return train, val, mi.from_arrays(x_test, y_test, class_names=CLASS_NAMES)
    if modality == "audio":
        from bench.bench_audio import load_data

        data = load_data(speech_dir, 1, 0.1, None)[0]
        return data["train"], data["val"], data["test"]
    from bench.bench_text import split_data

    return split_data()


def make_classifier(modality, train, epochs):
    from mmcnn.models import registry

    cls = registry.get_classifier(modality)
    kwargs = {"class_names": train.class_names, "epochs": epochs}
    if modality == "image":
        kwargs.update(image_size=(28, 28), channels=1)
    return cls(**kwargs)


def bench_modality(modality, args, folder):
    train, val, test = load_split(modality, args.demo_data, args.speech_data)
    train, val, test = _limit(train, args.limit), _limit(val, args.limit), _limit(test, args.limit)
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
            clf.export(path, format=fmt, quantize=quantize, calibration_data=train if quantize else None)
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
            }
        )
        print(modality, json.dumps(rows[-1]), flush=True)
    keras_ms = keras_latency(clf, test)
    return {
        "modality": modality,
        "preset": clf.preset,
        "sizes": {"train": len(train), "val": len(val), "test": len(test)},
        "train_s": train_s,
        "keras_latency_ms_batch1": keras_ms,
        "rows": rows,
    }


def keras_latency(clf, test, count=50):
    """Median batch-1 latency of the Keras model (a compiled `predict_on_batch`) on test inputs."""
    x = next(iter(clf.make_dataset(_limit(test, count), batch_size=count)))[0]
    times = []
    for i in range(int(x.shape[0])):
        row = x[i : i + 1]
        start = time.perf_counter()
        clf.model.predict_on_batch(row)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times[1:] or times))


def report(results, args, before, after):
    lines = [
        "# On-device exports: LiteRT and ONNX against Keras",
        "",
        f"Command: `python -m bench.bench_edge {' '.join(sys.argv[1:])}`".rstrip(),
        "",
        machine_line(),
        f"Load average (1, 5, 15 min) before: {before}; after: {after}.",
        "",
        "Accuracy on the whole test split, each file run one example at a time in its own runtime "
        "(`ai_edge_litert` interpreter, onnxruntime CPU) on the rows the Keras model saw. Targets "
        "(issue 15): float16/dynamic/ONNX within 0.2 points of Keras, int8 within 1 point, int8 file "
        "at most 30% of the float32 file, ONNX probabilities within 1e-4.",
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
            f"## {result['modality']} (preset {result['preset']}; {result['sizes']}; trained in "
            f"{result['train_s']:.0f} s)",
            "",
            f"Keras accuracy {keras_acc:.4f}; Keras batch-1 latency "
            f"{result['keras_latency_ms_batch1']:.2f} ms (`predict_on_batch`)."
            if keras_acc is not None
            else "No variant converted.",
            "",
            "| variant | accuracy | vs Keras (points) | same top class | max prob diff | size (KB) | "
            "size vs float32 | batch-1 ms |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in result["rows"]:
            if "error" in row:
                lines.append(f"| {row['variant']} | failed: {row['error']} | | | | | | |")
                continue
            ratio = f"{row['file_size_bytes'] / float_size:.0%}" if float_size else ""
            points = 100 * (row["accuracy"] - row["keras_accuracy"])
            lines.append(
                f"| {row['variant']} | {row['accuracy']:.4f} | {points:+.2f} | {row['agreement']:.2%} "
                f"| {row['max_abs_diff']:.1e} | {row['file_size_bytes'] / 1024:.0f} | {ratio} "
                f"| {row['latency_ms_batch1']:.3f} |"
            )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--modalities", nargs="+", default=["image", "audio", "text"], choices=["image", "audio", "text"]
    )
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    parser.add_argument(
        "--limit", type=int, default=None, help="keep this many examples of each split (smoke runs)"
    )
    parser.add_argument("--demo-data", action="store_true", help="use mmcnn/demo_data (smoke runs)")
    parser.add_argument("--speech-data", default="/tmp/speech_bench", help="bench_audio's data folder")
    parser.add_argument("--files", default=None, help="keep the exported files in this folder")
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    before = load_average()
    folder = args.files or tempfile.mkdtemp(prefix="bench-edge-files-")
    os.makedirs(folder, exist_ok=True)
    results = [bench_modality(m, args, folder) for m in args.modalities]
    after = load_average()
    write_results(args.out, report(results, args, before, after))
    with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
