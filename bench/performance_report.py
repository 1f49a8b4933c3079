"""The report of bench/bench_performance.py: `write_report` turns its results into
bench/results/performance.md (markdown)."""

import os

from bench.harness import log, machine_line


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
            "`tf.saved_model.load`, called through bench/harness.py's `time_calls` and "
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
            "(bench/measures.py's `front_end_throughput`): in-graph `LogMelSpectrogram` in "
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
