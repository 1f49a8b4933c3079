"""Text benchmark: the default TextClassifier beside two baselines, on the fortunes corpus.

Trained in the same run, on the same deterministic split (`bench.data.fortunes.load_fortunes`,
defaults: 18 classes, 7706 train / 1942 test texts):

1. TF-IDF of word 1-2-grams + logistic regression (scikit-learn; `C` picked on the
   validation split),
2. the hand-written Keras "text classification from scratch" model (TextVectorization ->
   Embedding -> Dropout -> Conv1D(128, 7, strides 3) x2 -> GlobalMaxPool -> Dense 128 ->
   Dropout -> Dense),
3. `mmcnn.text.TextClassifier()` with its defaults.

10 % of the training texts (stratified, seeded) are a validation split, used for early
stopping and for picking settings; the test split is only used for the reported numbers.
`--tune` instead trains a grid of TextClassifier settings and reports validation accuracy
only (never touches the test split); the winners became the defaults of the "kim" preset.

    nice -n 0 .venv/bin/python -m bench.bench_text --out bench/results/text.md
    nice -n 0 .venv/bin/python -m bench.bench_text --tune
"""

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import mmcnn  # noqa: E402
from bench.baselines import run_keras_scratch, run_tfidf  # noqa: E402
from bench.datasets import split_fortunes  # noqa: E402
from bench.harness import load_average, machine_line  # noqa: E402
from mmcnn.text import TextClassifier  # noqa: E402

SEED = 0
# Settings tried with --tune (validation accuracy); each dict is TextClassifier kwargs.
TUNE_GRID = {
    "kim word mt64 e128 f100 d0.25": dict(
        mode="word", max_tokens=64, embedding_dim=128, filters=100, dropout=0.25
    ),
    "kim unicode_script mt64": dict(
        mode="unicode_script", max_tokens=64, embedding_dim=128, filters=100, dropout=0.25
    ),
    "kim wordpiece mt96": dict(
        mode="wordpiece", max_tokens=96, embedding_dim=128, filters=100, dropout=0.25, vocabulary_size=8000
    ),
    "kim word mt64 d0.5": dict(mode="word", max_tokens=64, embedding_dim=128, filters=100, dropout=0.5),
    "kim word mt64 lr3e-3": dict(
        mode="word", max_tokens=64, embedding_dim=128, filters=100, dropout=0.25, learning_rate=3e-3
    ),
    "kim unicode_script mt64 min1": dict(
        mode="unicode_script", max_tokens=64, embedding_dim=128, filters=100, dropout=0.25, min_frequency=1
    ),
}


def run_mmcnn(train, val, test, name="mmcnn TextClassifier() defaults", evaluate_test=True, **kwargs):
    clf = TextClassifier(seed=SEED, **kwargs)
    start = time.perf_counter()
    history = clf.fit(train, validation_data=val, verbose=0)
    train_s = time.perf_counter() - start
    epochs = len(history.history["loss"])
    result = dict(
        name=name,
        train_s=train_s,
        train_rate=len(train) * epochs / train_s,
        epochs=epochs,
        params=clf.model.count_params(),
        vocabulary=clf.tokenizer.vocabulary_size,
    )
    target = test if evaluate_test else val
    start = time.perf_counter()
    report = clf.evaluate(target)
    infer_s = time.perf_counter() - start
    result.update(accuracy=report["accuracy"], macro_f1=report["macro_f1"], infer_rate=len(target) / infer_s)
    return result


def table(results):
    lines = [
        "| model | accuracy | macro-F1 | train time (s) | epochs | train texts/s | predict texts/s | params |",  # noqa: E501
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {r['train_s']:.1f} | "
            f"{r['epochs']} | {r['train_rate']:.0f} | {r['infer_rate']:.0f} | {r['params']} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="markdown results file")
    parser.add_argument(
        "--tune", action="store_true", help="validation-only grid over TextClassifier settings"
    )
    parser.add_argument(
        "--tune-tfidf", action="store_true", help="pick C of the TF-IDF baseline on validation"
    )
    parser.add_argument("--only", nargs="*", help="with --tune: names of grid entries to run")
    args = parser.parse_args()
    load_before = load_average()
    train, val, test = split_fortunes()
    print(
        f"train {len(train)}, validation {len(val)}, test {len(test)}, {len(train.class_names)} classes",
        flush=True,
    )
    if args.tune:
        results = []
        for name, kwargs in TUNE_GRID.items():
            if args.only and name not in args.only:
                continue
            r = run_mmcnn(train, val, test, name=name, evaluate_test=False, **kwargs)
            print(
                f"{name}: val acc {r['accuracy']:.4f} f1 {r['macro_f1']:.4f} {r['train_s']:.0f}s "
                f"{r['epochs']} epochs",
                flush=True,
            )
            results.append(r)
        print(table(results).replace("accuracy", "val accuracy"))
        return
    total = time.perf_counter()
    results = [run_tfidf(train, val, test, tune=args.tune_tfidf)]
    print(results[-1], flush=True)
    results.append(run_keras_scratch(train, val, test))
    print(results[-1], flush=True)
    results.append(run_mmcnn(train, val, test))
    print(results[-1], flush=True)
    total = time.perf_counter() - total
    load_after = load_average()
    import sklearn

    text = "\n".join(
        [
            "# Text benchmark: fortunes corpus",
            "",
            "Command: `nice -n 0 .venv/bin/python -m bench.bench_text --out bench/results/text.md`",
            "",
            f"- Machine: {machine_line()}; shared with other engineers' jobs, so times are noisy.",
            f"- Load before: `{load_before}`",
            f"- Load after: `{load_after}`",
            f"- Versions: Python {platform.python_version()}, TensorFlow {tf.__version__}, Keras {keras.__version__}, "  # noqa: E501
            f"mmcnn {mmcnn.__version__}, scikit-learn {sklearn.__version__}",
            f"- Data: `load_fortunes()` defaults, {len(train.class_names)} classes; "
            f"{len(train)} train / {len(val)} validation (10 % of the training split, stratified, seed 0) / "
            f"{len(test)} test texts. Test numbers only; settings were picked on validation.",
            f"- Whole run: {total:.0f} s.",
            "",
            table(results),
            "",
            "Train texts/s counts every epoch run (early stopping on validation loss restores the best one); "
            "predict texts/s is over the test split, batch 32-64, raw strings in.",
            "",
        ]
    )
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
