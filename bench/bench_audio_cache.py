"""What caching the log-mel would save: audio training steps with and without the in-graph front end.

Issue 17 asks to compute the log-mel once per clip and cache it when no
waveform augmentation is on. This measures the most that could save, before
building it: the default `AudioClassifier` network (augmentation `"none"`, so
nothing random comes before the spectrogram) is trained on 1 s waveforms, and
the same layers after the front end (`keras.Model(log_mel.output,
model.output)`, shared weights) on the log-mels of the same clips computed once.
Same batches, optimizer, loss and precision; the two alternate epoch by epoch
(A B B A ...), the first epoch of each is dropped, and the median samples/s of
the rest is reported.

    nice -n 0 .venv/bin/python -m bench.bench_audio_cache --out bench/results/audio_cache.md
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from bench.datasets import synthetic_clips  # noqa: E402
from bench.harness import EpochTimer, load_average, machine_line, publish  # noqa: E402

CLIPS = 1920
BATCH = 64


def compiled(model):
    model.compile(
        optimizer=keras.optimizers.AdamW(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=1,
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    from mmcnn.audio import AudioClassifier

    clf = AudioClassifier(num_classes=10, augmentation="none", precision=args.precision, seed=0)
    full = clf.model
    front = full.get_layer("log_mel")
    after = keras.Model(front.output, full.output, name="after_front_end")
    waves, labels = synthetic_clips(CLIPS)
    spectrograms = keras.Model(full.input, front.output).predict(waves, batch_size=BATCH, verbose=0)
    datasets = {
        "waveforms (log-mel in the model)": (full, tf.data.Dataset.from_tensor_slices((waves, labels))),
        "cached log-mels": (after, tf.data.Dataset.from_tensor_slices((spectrograms, labels))),
    }
    timers = {}
    for name, (model, ds) in datasets.items():
        compiled(model)
        datasets[name] = (model, ds.batch(BATCH).cache().prefetch(2))
        timers[name] = EpochTimer(BATCH)
    load_before = load_average()
    names = list(datasets)
    for r in range(args.rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            model, ds = datasets[name]
            model.fit(ds, epochs=1, verbose=0, callbacks=[timers[name]])
            print(
                f"round {r} {name}: {timers[name].epochs[-1]['samples_per_s']:.0f} samples/s", file=sys.stderr
            )
    rates = {name: timer.samples_per_s(skip=1) for name, timer in timers.items()}
    ratio = rates["cached log-mels"] / rates["waveforms (log-mel in the model)"]
    lines = [
        "# What caching the log-mel would save (audio training steps)",
        "",
        f"- Machine: {machine_line()}",
        f"- Load average before: {load_before}; after: {load_average()}",
        "- Command: `python -m bench.bench_audio_cache "
        + " ".join(argv if argv is not None else sys.argv[1:])
        + "`",
        f"- `AudioClassifier(num_classes=10, augmentation='none')` (precision used: "
        f"{clf.precision_used['policy']}), {CLIPS} synthetic 1 s clips, batch {BATCH}, "
        f"{args.rounds} alternating epochs each, the first dropped.",
        "",
        "| input | training samples/s (median) | per-epoch samples/s |",
        "|---|---:|---|",
    ]
    for name, timer in timers.items():
        per_epoch = ", ".join(f"{e['samples_per_s']:.0f}" for e in timer.epochs)
        lines.append(f"| {name} | {rates[name]:.0f} | {per_epoch} |")
    lines += ["", f"Cached log-mels train {ratio:.2f}x as many samples per second."]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
