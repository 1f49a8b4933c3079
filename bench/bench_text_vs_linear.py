"""The text default against TF-IDF + logistic regression and the Keras text CNN, on every text set.

One table, one run, the same splits for every model (`bench.datasets.text_sets`):

- `debian-sections`: Debian package short descriptions -> their section, 12 classes
  (`bench.data.debian_sections`);
- `fortunes-10`: fortune cookies -> their file, the 10 largest files (`bench.data.fortunes`);
- `debtags`: Debian package short descriptions -> their debtags, 30 tags, multi-label, scored
  by mean average precision (`bench.data.debtags`; a seeded 6,000 of the training texts);
- `apps`: Debian's desktop apps' AppStream summaries and descriptions -> their main category,
  10 classes (`bench.data.appstream_table`);
- `app-categories`: the same texts -> every freedesktop category that 20 or more training apps
  list, 30 tags, multi-label (`appstream_table.category_tags`).

Models:

1. TF-IDF of word 1-2-grams + logistic regression, and TF-IDF of character 2-5-grams (within
   words, `char_wb`) + logistic regression (scikit-learn; `C` of 1, 10, 100 picked on the
   validation split; one-vs-rest liblinear for multi-label);
2. the Keras "text classification from scratch" CNN (`bench.baselines.keras_scratch_model`;
   sigmoid outputs and binary cross-entropy for multi-label), up to 10 epochs, early stopping;
3. `mmcnn.text.TextClassifier()` with its defaults (validation split for early stopping,
   calibration or thresholds), and any `--candidate`.

`--split validation` scores every model on the validation split instead of the test split:
the mode for choosing settings (never the test split). A candidate is
`NAME=key=value,key=value`: TextClassifier arguments, `fit_<name>` for `fit` arguments
(`fit_calibrate=False`), `preset_<key>` for a preset entry (`preset_wide_dim=64`), `env_<NAME>`
for an environment variable during its fit (`env_MMCNN_SCHEDULE=preset`), `stop_from_start=True`
for early stopping on the validation loss from the first epoch (as before the schedule change).

    nice -n 10 .venv/bin/python -m bench.bench_text_vs_linear --out bench/results/text_vs_linear.md
    nice -n 10 .venv/bin/python -m bench.bench_text_vs_linear --split validation --models mmcnn \
        --candidate "no calibration=fit_calibrate=False"
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bench.baselines import keras_scratch_model  # noqa: E402
from bench.datasets import TEXT_SETS, text_sets  # noqa: E402
from bench.harness import command_line, load_average, log, machine_line, parse_candidate, publish  # noqa: E402

SEED = 0
MODELS = ("tfidf-word", "tfidf-char", "keras-cnn", "mmcnn")
C_GRID = (1.0, 10.0, 100.0)
KERAS_EPOCHS = 10


def score(data, scores):
    """Accuracy (single-label) or mean average precision (multi-label) of `scores` on `data`."""
    from mmcnn.models.metrics import multilabel_report

    if data.multi_label:
        thresholds = np.full(len(data.class_names), 0.5)
        return multilabel_report(data.target_matrix(), scores, thresholds, data.class_names)[
            "mean_average_precision"
        ]
    return float(np.mean(np.argmax(scores, -1) == data.labels))


def run_linear(kind, train, val, target):
    """TF-IDF (`kind`: word 1-2-grams or character 2-5-grams) + logistic regression, `C` on `val`."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    def fit(c):
        if kind == "tfidf-word":
            vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        else:
            vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        if train.multi_label:
            model = OneVsRestClassifier(LogisticRegression(C=c, solver="liblinear"))
            model.fit(vectorizer.fit_transform(train.inputs), train.target_matrix().astype(int))
        else:
            model = LogisticRegression(C=c, max_iter=1000)
            model.fit(vectorizer.fit_transform(train.inputs), train.labels)
        return lambda data: model.predict_proba(vectorizer.transform(data.inputs))

    tried = {}
    for c in C_GRID:
        tried[c] = score(val, fit(c)(val))
    best = max(C_GRID, key=lambda c: (tried[c], -c))
    start = time.perf_counter()
    predict = fit(best)
    train_s = time.perf_counter() - start
    words = "word 1-2-grams" if kind == "tfidf-word" else "char 2-5-grams"
    return dict(
        model=f"TF-IDF {words} + LR (C={best:g})",
        value=score(target, predict(target)),
        train_s=train_s,
        epochs="-",
        note="validation: " + ", ".join(f"C={c:g} {v:.4f}" for c, v in tried.items()),
    )


def run_keras_cnn(train, val, target):
    """The Keras "text classification from scratch" CNN (sigmoid outputs for multi-label)."""
    import tensorflow as tf

    model = keras_scratch_model(train, multi_label=train.multi_label)

    def dataset(data, training=False):
        y = data.target_matrix() if data.multi_label else data.labels
        d = tf.data.Dataset.from_tensor_slices((tf.constant(list(data.inputs))[:, None], y))
        if training:
            d = d.shuffle(len(data), seed=SEED)
        return d.batch(32).prefetch(tf.data.AUTOTUNE)

    start = time.perf_counter()
    history = model.fit(
        dataset(train, True),
        validation_data=dataset(val),
        epochs=KERAS_EPOCHS,
        verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)],
    )
    train_s = time.perf_counter() - start
    scores = model.predict(dataset(target), verbose=0)
    return dict(
        model="Keras 'text classification from scratch' CNN",
        value=score(target, scores),
        train_s=train_s,
        epochs=len(history.history["loss"]),
        note="",
    )


def run_mmcnn(train, val, target, name="mmcnn TextClassifier() defaults", settings=None):
    """A TextClassifier (defaults, or `settings`: see the module docstring) fitted on `train`."""
    from mmcnn.text import TextClassifier

    settings = dict(settings or {})
    fit_kwargs = {k[4:]: settings.pop(k) for k in list(settings) if k.startswith("fit_")}
    env = {k[4:]: str(settings.pop(k)) for k in list(settings) if k.startswith("env_")}
    if settings.pop("stop_from_start", False):
        # Early stopping as before the size-adapted schedule: watched from the first epoch.
        fit_kwargs.update(early_stopping=False, callbacks=[_early_stopping_from_start(settings)])
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        patch = {k[7:]: settings.pop(k) for k in list(settings) if k.startswith("preset_")}
        clf = TextClassifier(**{"seed": SEED, **settings})  # a candidate may name its seed
        if patch:  # a variant of the preset, for this run only
            clf.presets = {**clf.presets, clf.preset: {**clf.preset_config, **patch}}
        start = time.perf_counter()
        history = clf.fit(train, validation_data=val, verbose=0, **fit_kwargs)
        train_s = time.perf_counter() - start
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    scores = clf.predict_proba(target.inputs)
    watched, _ = clf.monitor
    curve = " ".join(f"{v:.3f}" for v in history.history.get(watched, []))
    return dict(
        model=name,
        value=score(target, scores),
        train_s=train_s,
        epochs=len(history.history["loss"]),
        note=f"{clf.model.count_params()} parameters, precision {clf.precision_used['policy']}; "
        f"{watched} by epoch: {curve}",
    )


def _early_stopping_from_start(settings):
    from mmcnn.text import TextClassifier

    patience = TextClassifier.presets[settings.get("preset", "kim")]["patience"]
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="markdown results file")
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument("--sets", nargs="*", default=list(TEXT_SETS), choices=TEXT_SETS)
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    parser.add_argument("--candidate", action="append", default=[], help="NAME=key=value,...")
    args = parser.parse_args()
    candidates = [parse_candidate(c) for c in args.candidate]
    load_before, total = load_average(), time.perf_counter()
    rows, described = [], []
    for set_name, (train, val, test, about) in text_sets(args.sets).items():
        target = val if args.split == "validation" else test
        described.append(
            f"- `{set_name}`: {about}; {len(train)} train / {len(val)} validation / {len(test)} test, "
            f"{len(train.class_names)} classes" + (" (multi-label)" if train.multi_label else "")
        )
        log(described[-1])
        runs = [(model, None, None) for model in args.models]
        runs += [("mmcnn", name, settings) for name, settings in candidates]
        for model, name, settings in runs:
            load = load_average()
            if model.startswith("tfidf"):
                result = run_linear(model, train, val, target)
            elif model == "keras-cnn":
                result = run_keras_cnn(train, val, target)
            else:
                result = run_mmcnn(train, val, target, name or "mmcnn TextClassifier() defaults", settings)
            rows.append(dict(result, set=set_name, multi_label=train.multi_label, load=load))
            log(f"  {result['model']}: {result['value']:.4f} ({result['train_s']:.0f} s) {result['note']}")
    total = time.perf_counter() - total
    measure = "validation" if args.split == "validation" else "test"
    lines = [
        "# Text default against TF-IDF + logistic regression and the Keras text CNN",
        "",
        f"Command: `{command_line('bench.bench_text_vs_linear')}`",
        "",
        f"- Machine: {machine_line()}; shared with other jobs, so times are noisy.",
        f"- Load (1/5/15 min): before `{load_before}`, after `{load_average()}`; whole run {total:.0f} s.",
        f"- Scored on the {measure} split; one run (seed {SEED}). Accuracy for single-label sets, mean "
        "average precision (mAP) for the multi-label one. Train time: the final fit only (the "
        "linear models' C grid on validation is not counted).",
        *described,
        "",
        f"| set | model | {measure} accuracy (mAP) | train time (s) | epochs | load at start | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['set']} | {r['model']} | {r['value']:.4f}{' mAP' if r['multi_label'] else ''} | "
            f"{r['train_s']:.1f} | {r['epochs']} | {r['load'].split()[0]} | {r['note']} |"
        )
    publish(lines, args.out)


if __name__ == "__main__":
    main()
