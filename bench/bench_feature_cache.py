"""Cached features in `fit`: training speed with and without `cache_features`.

`fit(..., cache_features=True)` (the default) computes a model's fixed front
end once per example, where it has one (`Classifier.cached_feature_layer`: the
audio log-mel when no waveform augmentation comes before it, the text
tokenizer), and trains the layers after it. This times whole `fit` calls of
the same classifier, seed and batches with `cache_features=True` and `False`:
the median training samples/s over the epochs after the first (which computes
and caches), the first epoch's seconds, and the validation accuracy reached
(the two should agree: the same training, only done once).

Data: synthetic: 1 s tones in noise whose pitch is the class
(bench/bench_audio_cache.py); Zipf texts (bench/bench_performance.py) holding a
class word. Runs alternate (cached, whole, whole, cached) to spread drift in load.

    nice -n 0 .venv/bin/python -m bench.bench_feature_cache --out bench/results/feature_cache.md
    .venv/bin/python -m bench.bench_feature_cache --quick   # a smoke run
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench.datasets import labeled, synthetic_clips, synthetic_texts  # noqa: E402
from bench.harness import EpochTimer, load_average, machine_line, median, publish  # noqa: E402
from bench.measures import make_classifier  # noqa: E402

CONFIGS = {
    # name: (modality, classifier kwargs, training examples, batch)
    "audio, augmentation 'spec' (SpecAugment only)": ("audio", {"augmentation": "spec"}, 1920, 64),
    "audio, augmentation 'none'": ("audio", {"augmentation": "none"}, 1920, 64),
    "text default": ("text", {}, 8000, 64),
}


def data_for(modality, n, seed):
    """Learnable synthetic data: tones whose pitch is the class; texts holding a class word."""
    if modality == "audio":
        return labeled(modality, *synthetic_clips(n, seed))
    rng = np.random.default_rng(seed)
    texts, labels = synthetic_texts(n, rng)
    return labeled(modality, [f"{t} k{y}" for t, y in zip(texts, labels)], labels)


def one_fit(modality, kwargs, train, val, batch, epochs, cache_features):
    clf = make_classifier(modality, batch_size=batch, epochs=epochs, **kwargs)
    timer = EpochTimer(batch)
    clf.fit(
        train, epochs=epochs, callbacks=[timer], verbose=0, cache_features=cache_features, calibrate=False
    )
    accuracy = clf.evaluate(val)["accuracy"]
    return timer, accuracy, clf.cached_feature_layer(train) if cache_features else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="small data, 2 epochs: a smoke run")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    epochs = 2 if args.quick else args.epochs
    load_before = load_average()
    rows = []
    for name, (modality, kwargs, n, batch) in CONFIGS.items():
        n = 256 if args.quick else n
        train, val = data_for(modality, n, seed=0), data_for(modality, max(64, n // 4), seed=1)
        runs = {True: [], False: []}
        for cache_features in (True, False, False, True):
            timer, accuracy, layer = one_fit(modality, kwargs, train, val, batch, epochs, cache_features)
            runs[cache_features].append((timer, accuracy, layer))
            print(
                f"{name}, cache_features={cache_features}: "
                f"{timer.samples_per_s():.0f} samples/s, accuracy {accuracy:.3f}",
                file=sys.stderr,
            )
        rates = {c: median([t.samples_per_s() for t, _, _ in r]) for c, r in runs.items()}
        first = {c: median([t.epochs[0]["seconds"] for t, _, _ in r]) for c, r in runs.items()}
        accuracy = {c: ", ".join(f"{a:.3f}" for _, a, _ in r) for c, r in runs.items()}
        rows.append(
            f"| {name} | {runs[True][0][2]} | {n} x {epochs} epochs, batch {batch} | "
            f"{rates[True]:.0f} | {rates[False]:.0f} | **{rates[True] / rates[False]:.2f}x** | "
            f"{first[True]:.1f} / {first[False]:.1f} | {accuracy[True]} / {accuracy[False]} |"
        )
    lines = [
        "# Cached features in `fit`: training samples/s with and without `cache_features`",
        "",
        f"- Machine: {machine_line()}",
        f"- Load average before: {load_before}; after: {load_average()}",
        "- Command: `python -m bench.bench_feature_cache "
        + " ".join(argv if argv is not None else sys.argv[1:])
        + "`",
        "- Each configuration: four `fit` calls (cached, whole, whole, cached) of the same classifier "
        "(default preset, seed 0, mixed precision where the machine computes bfloat16), synthetic data, "
        "no validation during training; samples/s is the median over both runs of each run's median "
        "of the epochs after the first."
        + (" **--quick: a smoke run, not a measurement.**" if args.quick else ""),
        "",
        "| configuration | cached layer | data | cached samples/s | whole-model samples/s | ratio | "
        "first epoch s (cached / whole) | held-out accuracy (cached runs / whole runs) |",
        "|---|---|---|---:|---:|---:|---|---|",
        *rows,
    ]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
