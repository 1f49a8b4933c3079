"""Fine-tuning benchmark, text: does a warm start beat training from scratch on a few texts per class?

Text part of the measure of issue 16. Data: the fortunes corpus
(`bench.data.fortunes.load_fortunes`, its defaults: 18 classes, a fixed
train / test split by text hash). Its classes, in sorted order, are dealt
into two disjoint data sets: the source (1st, 3rd, 5th, ... class) and the
target (2nd, 4th, ... class). Trains a `TextClassifier` on all training
texts of the source classes (a stratified 10 % held out for early
stopping), saves it, then for 20 and 100 training texts per target class
(drawn with several seeds) trains

- the same classifier from random weights ("scratch": its vocabulary is
  learned from the few texts),
- `init_from` the saved classifier with the default schedule, keeping the
  source's vocabulary ("fine-tuned"),
- the same with every layer trained from the first epoch at the preset's
  full rate ("fine-tuned, no freeze"),
- `init_from` it with `relearn_vocabulary=True` ("fine-tuned, new
  vocabulary": the vocabulary is learned from the few texts, and only the
  tokens the source also knows keep their embedding rows),

all for the same fixed number of epochs (no validation split: too few
texts), and scores them on every test text of the target classes.

Writes `bench/results/transfer_text.md`. Run from the repository root (the
fortune files come from Debian packages installed by `bench/setup.sh`):

    nice -n 5 .venv/bin/python -m bench.bench_transfer_text

Not a test: about 8 minutes on a shared 2-core CPU. `--quick` runs every step
on a few hundred texts and epochs (a minute or two) to check the script.
"""

import argparse
import os
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.datasets import select_texts  # noqa: E402
from bench.harness import command_line, load_average, machine_line, write_results  # noqa: E402
from bench.measures import KINDS, compare_kinds, kind_arguments, shots_table  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results", "transfer_text.md")
SHOTS = (20, 100)
NEW_VOCABULARY = "fine-tuned, new vocabulary"
TEXT_KINDS = (*KINDS, NEW_VOCABULARY)


def text_kind_arguments(kind, source_path, learning_rate):
    """`bench.measures.kind_arguments`, and the warm start that relearns its vocabulary."""
    if kind == NEW_VOCABULARY:
        return {"init_from": source_path, "relearn_vocabulary": True}
    return kind_arguments(kind, source_path, learning_rate)


def make_classifier(classes, args, **kwargs):
    from mmcnn.text import TextClassifier

    return TextClassifier(class_names=list(classes), preset=args.preset, **kwargs)


def train_source(frame, classes, args, path):
    train, val = select_texts(frame, classes).split(0.1, seed=0)
    clf = make_classifier(classes, args, epochs=args.source_epochs, seed=0)
    start = time.perf_counter()
    history = clf.fit(train, validation_data=val, verbose=2)
    seconds = time.perf_counter() - start
    clf.save(path)
    return {
        "texts": len(train),
        "val_texts": len(val),
        "vocabulary": clf.tokenizer.vocabulary_size,
        "epochs": len(history.history["loss"]),
        "val_accuracy": max(history.history.get("val_accuracy", [float("nan")])),
        "seconds": seconds,
    }


def few_shot(frame, classes, test, args, source_path):
    from mmcnn.text import TextClassifier

    learning_rate = TextClassifier.presets[args.preset]["learning_rate"]
    rows = []
    for shots in args.shots:
        for seed in range(args.seeds):
            train = select_texts(frame, classes, per_class=shots, seed=seed)

            def make(kind, seed=seed):
                return make_classifier(
                    classes,
                    args,
                    batch_size=args.few_batch_size,
                    epochs=args.few_epochs,
                    seed=seed,
                    **text_kind_arguments(kind, source_path, learning_rate),
                )

            def vocabulary(kind, clf):
                return {f"{kind}_vocabulary": clf.tokenizer.vocabulary_size}

            result = {"shots": shots, "seed": seed}
            result.update(compare_kinds(make, train, test, args.kinds, record=vocabulary))
            print(
                f"{shots:>4} texts per class, seed {seed}: "
                + ", ".join(f"{kind} {result[kind][0]:.4f}" for kind in args.kinds),
                flush=True,
            )
            rows.append(result)
    return rows


def vocabulary_line(rows, args):
    """The vocabulary sizes each kind ended with (mean over draws), per number of texts per class."""
    parts = []
    for shots in args.shots:
        group = [r for r in rows if r["shots"] == shots]
        sizes = ", ".join(f"{k} {np.mean([r[k + '_vocabulary'] for r in group]):.0f}" for k in args.kinds)
        parts.append(f"{shots} texts per class: {sizes}")
    return "Vocabulary sizes (token ids, mean over draws): " + "; ".join(parts) + "."


def write_report(path, args, classes, sizes, source, rows, loads, seconds):
    source_classes, target_classes = classes
    lines = [
        "# Fine-tuning on a few texts per class (fortunes: one half of the classes to the other)",
        "",
        f"Command: `{command_line('bench.bench_transfer_text')}` ({seconds / 60:.1f} min).",
        "",
        f"{machine_line()}. Load average before / after: {loads[0]} / {loads[1]} (the machine "
        "is shared with other jobs: times are noisy, accuracies are not).",
        "",
        "Data: `bench.data.fortunes.load_fortunes()` (18 classes, at most 600 fortunes each, "
        f"{sizes['train']} training / {sizes['test']} test texts), its sorted classes dealt into "
        f"two disjoint data sets. Source: {', '.join(source_classes)}. Target: "
        f"{', '.join(target_classes)}. Why this pair: it is the text analogue of the image and "
        "audio measures (a model trained on some classes of a corpus, fine-tuned on classes it "
        "never saw), it needs nothing but the packages `bench/setup.sh` installs, and the "
        "target's test set stays the fixed `load_fortunes` split. A second corpus on the machine "
        "(the Debian package lists that `apt-cache dumpavail` reads) holds only one-line "
        "descriptions of a few words, a different kind of text, and changes with every "
        "`apt-get update`.",
        "",
        f"Source: `TextClassifier(preset={args.preset!r})` trained on the source classes "
        f"({source['texts']} texts, {source['val_texts']} held out for early stopping; "
        f"{source['epochs']} epochs, best validation accuracy {source['val_accuracy']:.4f}, "
        f"vocabulary {source['vocabulary']} token ids, {source['seconds']:.0f} s).",
        "",
        f"Target: N training texts per target class ({args.seeds} draws each, seeds "
        f"0-{args.seeds - 1}), {args.few_epochs} epochs at batch {args.few_batch_size}, no "
        f"validation split; test: all {sizes['target_test']} test texts of the target classes. "
        "Scratch: random weights, vocabulary learned from the few texts. Fine-tuned: `init_from` "
        "the source, default schedule (3 epochs with the copied tokenizer, embedding and "
        "convolutions frozen, then all layers at a tenth of the rate), the source's vocabulary. "
        "Fine-tuned, no freeze: the same with `freeze_epochs=0, fine_tune_learning_rate=` the "
        "preset's rate. Fine-tuned, new vocabulary: default schedule with "
        "`relearn_vocabulary=True`. Accuracy: mean (min to max) over draws; gain: paired by draw.",
        "",
        *shots_table(rows, args.shots, args.kinds, "texts per class"),
        "",
        vocabulary_line(rows, args),
    ]
    if args.quick:
        lines += ["", "**--quick run: a check of the script, not a measurement.**"]
    write_results(path, lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="kim")
    parser.add_argument("--source-epochs", type=int, default=None, help="default: the preset's")
    parser.add_argument("--few-epochs", type=int, default=20)
    parser.add_argument("--few-batch-size", type=int, default=16, help="batch size of the few-text runs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--shots", type=int, nargs="+", default=list(SHOTS))
    parser.add_argument(
        "--kinds", nargs="+", choices=TEXT_KINDS, default=list(TEXT_KINDS), help="runs per draw"
    )
    parser.add_argument("--max-per-class", type=int, default=600, help="load_fortunes(max_per_class=)")
    parser.add_argument("--quick", action="store_true", help="few texts and epochs")
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.source_epochs, args.few_epochs, args.seeds = 2, 3, 1
        args.shots, args.max_per_class = [20], 100
        if args.out == RESULTS:
            args.out = os.path.join(tempfile.gettempdir(), "mmcnn-bench-transfer-text-quick.md")

    from bench.data.fortunes import load_fortunes

    loads = [load_average()]
    start = time.perf_counter()
    train_frame, test_frame = load_fortunes(max_per_class=args.max_per_class)
    names = sorted(train_frame["label"].unique())
    classes = (names[0::2], names[1::2])
    test = select_texts(test_frame, classes[1])
    sizes = {"train": len(train_frame), "test": len(test_frame), "target_test": len(test)}
    with tempfile.TemporaryDirectory() as folder:
        source_path = os.path.join(folder, "source.keras")
        source = train_source(train_frame, classes[0], args, source_path)
        print(f"source: {source}", flush=True)
        rows = few_shot(train_frame, classes[1], test, args, source_path)
    loads.append(load_average())
    write_report(args.out, args, classes, sizes, source, rows, loads, time.perf_counter() - start)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
