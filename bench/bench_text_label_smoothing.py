"""Label smoothing 0.1 against none for the text default, on validation splits only (issue 32).

`TextClassifier()` ("kim") against the same with the preset entry `label_smoothing=0.1`, set on
the instance (`clf.presets`), no package change. Seeds 0 and 1 per set; scored on the validation
split (never the test split): accuracy and macro-F1. The compiled loss's `label_smoothing` is
printed for every run.

    nice -n 15 .venv/bin/python -m bench.bench_text_label_smoothing --sets fortunes-10 debian-sections \
        --out bench/results/text_label_smoothing.md
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench.datasets import TEXT_SETS, text_sets  # noqa: E402
from bench.harness import code_commit, command_line, load_average, log, machine_line, publish  # noqa: E402

SEEDS = (0, 1)
VARIANTS = {"default": 0.0, "label_smoothing=0.1": 0.1}


def run(train, val, seed, smoothing):
    from mmcnn.models.metrics import classification_report
    from mmcnn.text import TextClassifier

    clf = TextClassifier(seed=seed)
    if smoothing:
        clf.presets = {**clf.presets, clf.preset: {**clf.preset_config, "label_smoothing": smoothing}}
    start = time.perf_counter()
    history = clf.fit(train, validation_data=val, verbose=0)
    train_s = time.perf_counter() - start
    loss = clf.model.loss
    compiled = getattr(loss, "label_smoothing", 0.0)
    pred = np.argmax(clf.predict_proba(val.inputs), axis=-1)
    report = classification_report(val.labels, pred, train.class_names)
    return dict(
        accuracy=report["accuracy"],
        macro_f1=report["macro_f1"],
        train_s=train_s,
        epochs=len(history.history["loss"]),
        loss=f"{type(loss).__name__}(label_smoothing={compiled})",
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="markdown results file")
    parser.add_argument("--sets", nargs="*", default=["fortunes-10", "debian-sections"], choices=TEXT_SETS)
    args = parser.parse_args()
    load_before, total = load_average(), time.perf_counter()
    rows, described = [], []
    for set_name, (train, val, _test, about) in text_sets(args.sets).items():
        described.append(f"- `{set_name}`: {about}; {len(train)} train / {len(val)} validation")
        log(described[-1])
        for seed in SEEDS:
            for variant, smoothing in VARIANTS.items():
                result = dict(run(train, val, seed, smoothing), set=set_name, seed=seed, variant=variant)
                rows.append(dict(result, load=load_average()))
                log(f"  {set_name} seed {seed} {variant}: {result}")
    lines = [
        "# Label smoothing for the text default (validation splits only)",
        "",
        f"Command: `{command_line('bench.bench_text_label_smoothing')}`",
        "",
        f"- Machine: {machine_line()}; shared with other jobs, so times are noisy.",
        f"- Code: commit {code_commit()}.",
        f"- Load (1/5/15 min): before `{load_before}`, after `{load_average()}`; "
        f"whole run {time.perf_counter() - total:.0f} s.",
        *described,
        "",
        "| set | seed | variant | val accuracy | val macro-F1 | epochs | train (s) | compiled loss "
        "| load after |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['set']} | {r['seed']} | {r['variant']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
            f"{r['epochs']} | {r['train_s']:.0f} | {r['loss']} | {r['load'].split()[0]} |"
        )
    lines += [
        "",
        "| set | mean accuracy difference (smoothed - default) | mean macro-F1 difference |",
        "|---|---|---|",
    ]
    for set_name in dict.fromkeys(r["set"] for r in rows):
        diffs = {}
        for key in ("accuracy", "macro_f1"):
            by = {(r["seed"], r["variant"]): r[key] for r in rows if r["set"] == set_name}
            pairs = [by[s, "label_smoothing=0.1"] - by[s, "default"] for s in SEEDS if (s, "default") in by]
            diffs[key] = np.mean(pairs)
        lines.append(f"| {set_name} | {diffs['accuracy']:+.4f} | {diffs['macro_f1']:+.4f} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
