"""Fine-tuning benchmark, audio: does a warm start beat training from scratch on a few clips per word?

Audio part of the measure of issue 16. Data: the espeak-ng spoken commands
(`bench.data.speech`), split by voice exactly as in `bench/bench_audio.py`
(`bench.datasets.load_speech`: the test voices are never heard in training; 10 % of the
training voices are held out as validation voices). Trains an
`AudioClassifier` on the five source words (`SOURCE_WORDS`) from every
remaining training voice (the validation voices' clips of those words for
early stopping), saves it, then for 5 and 20 training clips per word of the
five target words (`TARGET_WORDS`, drawn from the training voices with
several seeds) trains

- the same classifier from random weights ("scratch"),
- `init_from` the saved classifier with the default schedule ("fine-tuned"),
- `init_from` it with every layer trained from the first epoch at the
  preset's full rate ("fine-tuned, no freeze"),

all for the same fixed number of epochs (no validation split: too few
clips), and scores them on every test-voice clip of the target words.

Writes `bench/results/transfer_audio.md`. Run from the repository root (the
clips are synthesised into `--data` when it has no manifest; `--cache-dir`
keeps the decoded waveforms for the next run):

    nice -n 5 .venv/bin/python -m bench.bench_transfer_audio --data /tmp/speech_bench \\
        --cache-dir /tmp/speech_cache_transfer --source-epochs 12

Not a test: about 4 minutes on a shared 2-core CPU once the clips are decoded
into `--cache-dir`. `--quick` runs every step with the tiny preset, a few
voices and epochs (a minute or two) to check the script.
"""

import argparse
import os
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.datasets import load_speech  # noqa: E402
from bench.harness import command_line, load_average, machine_line, write_results  # noqa: E402
from bench.measures import KINDS, compare_kinds, kind_arguments, shots_table  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results", "transfer_audio.md")
# The first and the last five of `bench.data.speech.WORDS`.
SOURCE_WORDS = ("yes", "no", "up", "down", "left")
TARGET_WORDS = ("right", "on", "off", "stop", "go")
SHOTS = (5, 20)


def select(data, words, per_class=None, seed=0):
    """The clips of `words` (relabelled 0..n-1 in that order): all, or `per_class` of each, drawn."""
    from mmcnn.data import LabeledData

    rng = np.random.default_rng(seed)
    keep, labels = [], []
    for i, word in enumerate(words):
        index = np.flatnonzero(data.labels == data.class_names.index(word))
        if per_class is not None:
            index = np.sort(rng.choice(index, per_class, replace=False))
        keep.extend(index.tolist())
        labels += [i] * len(index)
    return LabeledData(
        [data.inputs[i] for i in keep],
        labels,
        list(words),
        data.kind,
        sources=None if data.sources is None else [data.sources[i] for i in keep],
    )


def make_classifier(words, args, **kwargs):
    from mmcnn.audio import AudioClassifier

    return AudioClassifier(class_names=list(words), preset=args.preset, **kwargs)


def train_source(data, args, path):
    train, val = select(data["train"], SOURCE_WORDS), select(data["val"], SOURCE_WORDS)
    clf = make_classifier(SOURCE_WORDS, args, epochs=args.source_epochs, seed=0)
    start = time.perf_counter()
    history = clf.fit(train, validation_data=val, verbose=2)
    seconds = time.perf_counter() - start
    clf.save(path)
    return {
        "clips": len(train),
        "val_clips": len(val),
        "epochs": len(history.history["loss"]),
        "val_accuracy": max(history.history.get("val_accuracy", [float("nan")])),
        "seconds": seconds,
    }


def few_shot(data, test, args, source_path):
    from mmcnn.audio import AudioClassifier

    learning_rate = AudioClassifier.presets[args.preset]["learning_rate"]
    rows = []
    for shots in args.shots:
        for seed in range(args.seeds):
            train = select(data["train"], TARGET_WORDS, per_class=shots, seed=seed)

            def make(kind, seed=seed):
                return make_classifier(
                    TARGET_WORDS,
                    args,
                    batch_size=args.few_batch_size,
                    epochs=args.few_epochs,
                    seed=seed,
                    **kind_arguments(kind, source_path, learning_rate),
                )

            result = {"shots": shots, "seed": seed, **compare_kinds(make, train, test, args.kinds)}
            print(
                f"{shots:>3} clips per word, seed {seed}: "
                + ", ".join(f"{kind} {result[kind][0]:.4f}" for kind in args.kinds),
                flush=True,
            )
            rows.append(result)
    return rows


def write_report(path, args, voices, source, test_size, rows, loads, seconds):
    lines = [
        "# Fine-tuning on a few clips per word (espeak-ng spoken commands)",
        "",
        f"Command: `{command_line('bench.bench_transfer_audio')}` ({seconds / 60:.1f} min).",
        "",
        f"{machine_line()}. Load average before / after: {loads[0]} / {loads[1]} (the machine "
        "is shared with other jobs: times are noisy, accuracies are not).",
        "",
        "Data: `bench.data.speech` (1 clip per word per voice, 1 s at 16 kHz), split by voice as "
        f"in `bench/bench_audio.py`: {voices['train']} training voices, {voices['val']} validation "
        f"voices (held out of the training voices), {voices['test']} test voices never heard in "
        "training.",
        "",
        f"Source: `AudioClassifier(preset={args.preset!r})` trained on the words "
        f"{', '.join(SOURCE_WORDS)} ({source['clips']} clips of the training voices; early "
        f"stopping on {source['val_clips']} clips of the validation voices; {source['epochs']} "
        f"epochs, best validation accuracy {source['val_accuracy']:.4f}, {source['seconds']:.0f} s).",
        "",
        f"Target: the words {', '.join(TARGET_WORDS)}, N training clips per word drawn from the "
        f"training voices ({args.seeds} draws each, seeds 0-{args.seeds - 1}), {args.few_epochs} "
        f"epochs at batch {args.few_batch_size}, no validation split; test: all {test_size} clips "
        "of the target words spoken by the test voices. Scratch: random weights. Fine-tuned: "
        "`init_from` the source, default schedule (3 epochs with the copied adapter and backbone "
        "frozen, then all layers at a tenth of the rate). Fine-tuned, no freeze: `init_from` the "
        "source with `freeze_epochs=0, fine_tune_learning_rate=` the preset's rate. Accuracy: "
        "mean (min to max) over draws; gain: paired by draw.",
        "",
        *shots_table(rows, args.shots, args.kinds, "clips per word"),
    ]
    if args.quick:
        lines += ["", "**--quick run: a check of the script, not a measurement.**"]
    write_results(path, lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="/tmp/speech_bench", help="data folder (built there when it has no manifest.csv)"
    )
    parser.add_argument("--cache-dir", default=None, help="folder for decoded .npy waveforms")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--source-epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--few-epochs", type=int, default=30)
    parser.add_argument("--few-batch-size", type=int, default=16, help="batch size of the few-clip runs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shots", type=int, nargs="+", default=list(SHOTS))
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS), help="runs per draw")
    parser.add_argument("--train-voices", type=int, help="use only this many training voices")
    parser.add_argument("--quick", action="store_true", help="tiny preset, few voices and epochs")
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.preset, args.source_epochs, args.few_epochs, args.seeds = "tiny", 2, 3, 1
        args.shots, args.train_voices = [5], args.train_voices or 24
        if args.out == RESULTS:
            args.out = os.path.join(tempfile.gettempdir(), "mmcnn-bench-transfer-audio-quick.md")

    loads = [load_average()]
    start = time.perf_counter()
    data, voices, _, decode = load_speech(args.data, 1, 0.1, args.cache_dir, args.train_voices)
    print(f"data: {voices} voices, {decode:.1f} s to load", flush=True)
    test = select(data["test"], TARGET_WORDS)
    with tempfile.TemporaryDirectory() as folder:
        source_path = os.path.join(folder, "source.keras")
        source = train_source(data, args, source_path)
        print(f"source: {source}", flush=True)
        rows = few_shot(data, test, args, source_path)
    loads.append(load_average())
    write_report(args.out, args, voices, source, len(test), rows, loads, time.perf_counter() - start)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
