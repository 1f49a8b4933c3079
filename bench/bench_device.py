"""Device check: training samples/s of each default in float32 and in the auto precision, and
whether the input pipeline keeps the device busy.

Issue 17's GPU check, run by `bench/gpu_check.sh` (which also samples the GPU's utilisation
with `nvidia-smi`); it runs on a CPU-only machine too. For each modality's default classifier
and each precision (`float32`, `auto`), bench/measures.py's `pipeline` (bench_performance's
too) measures the training step with the real input pipeline (`make_dataset` over PNG files,
decoded waveforms, strings) against the same batches already in memory: the samples/s of the real pipeline is
what training gets, and a gap near zero means the pipeline keeps up with the device. The
first epoch of each (tracing) is dropped; synthetic data (speed does not depend on it).

    .venv/bin/python -m bench.bench_device --out bench/results/device.md
    .venv/bin/python -m bench.bench_device --quick            # a smoke run
    .venv/bin/python -m bench.bench_device --gpu-log util.csv # + utilisation per phase
"""

import argparse
import csv
import datetime
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench.harness import load_average, machine_line, publish  # noqa: E402
from bench.measures import pipeline  # noqa: E402

MODALITIES = ("image", "audio", "text")
PRECISIONS = ("float32", "auto")
# Steps per epoch: enough batches that an epoch lasts a few seconds on a GPU.
STEPS = {"image": 100, "audio": 60, "text": 150}


def gpu_utilisation(log_path, start, stop):
    """Mean utilisation (%) in `nvidia-smi --query-gpu=timestamp,utilization.gpu --format=csv`
    rows between two `time.time()` values, or None."""
    if not log_path or not os.path.exists(log_path):
        return None
    values = []
    with open(log_path, newline="") as f:
        for row in csv.reader(f):
            try:
                stamp = datetime.datetime.strptime(row[0].strip(), "%Y/%m/%d %H:%M:%S.%f").timestamp()
                value = float(row[1].strip().rstrip("%").strip())
            except (ValueError, IndexError):
                continue  # the header, or a line cut while written
            if start <= stamp <= stop:
                values.append(value)
    return float(np.mean(values)) if values else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few steps: a smoke run, not a measurement")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs of each pipeline")
    parser.add_argument("--gpu-log", help="nvidia-smi CSV log (bench/gpu_check.sh writes one)")
    parser.add_argument("--out", help="markdown file (default: print only)")
    args = parser.parse_args(argv)
    steps = {m: 3 for m in MODALITIES} if args.quick else STEPS
    rounds = 1 if args.quick else args.rounds
    devices = [d.device_type + ":" + d.name.split(":")[-1] for d in tf.config.list_physical_devices()]
    load_before = load_average()
    rng = np.random.default_rng(0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_device_") as workdir:
        for modality in MODALITIES:
            for precision in PRECISIONS:
                start = time.time()
                result = pipeline(modality, rng, steps[modality], rounds, workdir, precision=precision)
                utilisation = gpu_utilisation(args.gpu_log, start, time.time())
                rows.append({"modality": modality, "precision": precision, "gpu": utilisation, **result})
                print(
                    f"{modality} {precision} ({result['policy']}): "
                    f"{result['batch'] / result['step_real_ms'] * 1e3:.0f} samples/s, "
                    f"gap {100 * result['gap']:+.1f} %",
                    file=sys.stderr,
                    flush=True,
                )
    command = " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# Device check: samples/s of each default in float32 and the auto precision",
        "",
        f"- Machine: {machine_line()}; TensorFlow devices: {', '.join(devices)}",
        f"- Load average before: {load_before}; after: {load_average()}",
        f"- Command: `python -m bench.bench_device {command}`",
        f"- Steps per epoch: {steps}; {rounds} timed epochs of each pipeline after one untimed.",
        "",
        "| modality | precision (policy) | batch | samples/s, real pipeline | samples/s, batches in memory "
        "| pipeline gap | GPU utilisation |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        gpu = "-" if r["gpu"] is None else f"{r['gpu']:.0f} %"
        lines.append(
            f"| {r['modality']} | {r['precision']} ({r['policy']}) | {r['batch']} "
            f"| {r['batch'] / r['step_real_ms'] * 1e3:.0f} | {r['batch'] / r['step_memory_ms'] * 1e3:.0f} "
            f"| {100 * r['gap']:+.1f} % | {gpu} |"
        )
    lines += [
        "",
        "Pipeline gap: how much faster the same batches train from memory (per-round median); near 0 "
        "means the input pipeline keeps the device busy.",
    ]
    publish(lines, args.out, quick=args.quick)


if __name__ == "__main__":
    main()
