"""Calibration: expected calibration error before and after temperature scaling (issue 18), for
each modality's default preset on the benchmark data.

Each classifier is trained once with `Classifier.fit` (which calibrates by default: after training
it fits one temperature T on the validation split by minimising its negative log-likelihood). Then:

- validation: ECE / NLL before and after from `clf.calibration` (what `fit` computed), checked
  against the model's own predictions with T = 1 and with the fitted T;
- test: the model's probabilities with its Temperature layer set to 1 and to the fitted T
  (15 equal-width bins, `mmcnn.explain.expected_calibration_error`), and the accuracy of both
  (identical by construction: dividing the logits by T > 0 changes no arg-max).

Data and classifiers are bench_edge's (`bench.datasets.load_split` /
`bench.measures.edge_classifier`): Fashion-MNIST, espeak speech, fortunes. `--edge` also runs
bench_edge's measure (`bench.measures.edge_measure`, unchanged: LiteRT float32/float16/dynamic/int8
and ONNX against Keras) on the *same* trained classifiers, so that each model is trained once for
both measures, and writes its report to `--edge-out`.

Target (issue 18): ECE after scaling at most half of ECE before, or below 0.02.

Run (from the repository root; per-modality epochs as `name=N`, or one number for all):

    nice -n 5 .venv/bin/python -m bench.bench_calibration --modalities image text audio \\
        --epochs image=3 text=4 audio=8 [--edge] [--out bench/results/calibration.md]

`--limit N` / `--demo-data` are for checking that the script runs, not for results.
"""

import argparse
import json
import os
import shlex
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench import datasets, measures  # noqa: E402
from bench.harness import load_average, machine_line, parse_epochs, write_results  # noqa: E402

RESULTS = os.path.join(os.path.dirname(__file__), "results", "calibration.md")
EDGE_RESULTS = os.path.join(os.path.dirname(__file__), "results", "edge.md")
MODALITIES = ["image", "audio", "text"]


def train_with_edge(modality, args, epochs, folder):
    """bench_edge's `measures.edge_measure` on one modality, keeping the classifier and splits it used.

    edge_measure records a failed export as a row and goes on, but a file that exports and
    then fails in its runtime stops it: that failure is caught here and reported as a row (with
    the export failures before it; a variant that succeeded before it is in the log only), so
    that the calibration of the trained model is still measured."""
    captured = {"rows": []}
    load_split, make_classifier = datasets.load_split, measures.edge_classifier
    names = {(fmt, quantize): name for name, fmt, quantize in measures.VARIANTS}

    def capture_split(*a, **k):
        captured["splits"] = load_split(*a, **k)
        return captured["splits"]

    def capture_classifier(*a, **k):
        clf = captured["clf"] = make_classifier(*a, **k)
        fit, export = clf.fit, clf.export

        def timed_fit(*fa, **fk):
            start = time.perf_counter()
            try:
                return fit(*fa, **fk)
            finally:
                captured["train_s"] = time.perf_counter() - start

        def noted_export(path, format=None, quantize=None, **ek):
            captured["variant"] = names.get((format, quantize), f"{format} {quantize}")
            try:
                return export(path, format=format, quantize=quantize, **ek)
            except Exception as error:
                captured["rows"].append({"variant": captured["variant"], "error": _error(error)})
                raise

        clf.fit, clf.export = timed_fit, noted_export
        return clf

    edge_args = argparse.Namespace(
        demo_data=args.demo_data, speech_data=args.speech_data, limit=args.limit, epochs=epochs
    )
    start = time.perf_counter()
    try:
        result = measures.edge_measure(
            modality, edge_args, folder, load_split=capture_split, make_classifier=capture_classifier
        )
    except Exception as error:  # noqa: BLE001 - a runtime failure is a result too
        if "clf" not in captured or "train_s" not in captured:
            raise
        print(modality, captured.get("variant"), "stopped bench_edge:", _error(error), flush=True)
        clf = captured["clf"]
        rows = list(captured["rows"])
        failure = "exported, then failed in its runtime: " + _error(error)
        rows.append({"variant": captured.get("variant"), "error": failure})
        splits = [datasets.limit(p, args.limit) for p in captured["splits"]]
        result = {
            "modality": modality,
            "preset": clf.preset,
            "sizes": {k: len(p) for k, p in zip(("train", "val", "test"), splits)},
            "train_s": captured["train_s"],
            "keras_latency_ms_batch1": float("nan"),
            "rows": rows,
            "stopped": _error(error),
        }
    finally:
        clf = captured.get("clf")
        if clf is not None:
            for attribute in ("fit", "export"):
                clf.__dict__.pop(attribute, None)
    result["edge_s"] = time.perf_counter() - start
    result["epochs"] = epochs
    result["precision"] = (captured["clf"].precision_used or {}).get("policy")
    # edge_measure limits the splits it loads the same (seeded) way.
    splits = [datasets.limit(part, args.limit) for part in captured["splits"]]
    return captured["clf"], splits, result


def _error(error):
    return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"


def train_only(modality, args, epochs):
    train, val, test = datasets.load_split(modality, args.demo_data, args.speech_data)
    train, val, test = (datasets.limit(p, args.limit) for p in (train, val, test))
    print(f"{modality}: train {len(train)}, val {len(val)}, test {len(test)}", flush=True)
    clf = measures.edge_classifier(modality, train, epochs)
    start = time.perf_counter()
    clf.fit(train, validation_data=val, verbose=2)
    return clf, (train, val, test), time.perf_counter() - start


def probabilities_at(clf, data, temperature):
    """The model's probabilities on `data` with its Temperature layer set to `temperature`."""
    from mmcnn.explain import temperature_layer

    layer = temperature_layer(clf.model)
    fitted = layer.get_temperature()
    layer.set_temperature(temperature)
    try:
        return np.asarray(clf.model.predict(clf.make_dataset(data), verbose=0), dtype="float64")
    finally:
        layer.set_temperature(fitted)


def calibration_numbers(clf, val, test):
    from mmcnn.explain import expected_calibration_error as ece
    from mmcnn.explain import negative_log_likelihood as nll
    from mmcnn.explain import scale_probabilities

    fitted = clf.calibration
    temperature = clf.temperature
    out = {"temperature": temperature, "fit": fitted}
    for name, data in (("val", val), ("test", test)):
        labels = np.asarray(data.labels).astype(int)
        before = probabilities_at(clf, data, 1.0)
        after = probabilities_at(clf, data, temperature)
        pred_before, pred_after = before.argmax(1), after.argmax(1)
        out[name] = {
            "n": int(len(labels)),
            "ece_before": ece(before, labels),
            "ece_after": ece(after, labels),
            "nll_before": nll(before, labels),
            "nll_after": nll(after, labels),
            "accuracy_before": float(np.mean(pred_before == labels)),
            "accuracy_after": float(np.mean(pred_after == labels)),
            "changed_predictions": int(np.sum(pred_before != pred_after)),
            "mean_confidence_before": float(before.max(1).mean()),
            "mean_confidence_after": float(after.max(1).mean()),
            # The Temperature layer against NumPy's softmax(log(p) / T) of the T = 1 output.
            "layer_vs_numpy_max_diff": float(
                np.max(np.abs(scale_probabilities(before, temperature) - after))
            ),
        }
    return out


def target_met(before, after):
    return after <= before / 2 or after < 0.02


def report(results, args, before_load, after_load):
    lines = [
        "# Calibration: ECE before and after temperature scaling",
        "",
        f"Command: `{args.command}` (MMCNN_PRECISION={os.environ.get('MMCNN_PRECISION', '(unset)')})",
        "",
        *([args.code_note, ""] if args.code_note else []),
        machine_line(),
        f"Load average (1, 5, 15 min) before: {before_load}; after: {after_load}.",
        "",
        "Each default preset trained once by `Classifier.fit` (which fits one temperature T on the "
        "validation split after training); ECE in 15 equal-width bins of the top probability. "
        "'before' = the model with its Temperature layer at T = 1, 'after' = at the fitted T. "
        "Target (issue 18): ECE after at most half of before, or below 0.02 (judged on test).",
    ]
    if args.limit or args.demo_data:
        lines += ["", f"**Smoke run** (`--limit {args.limit}`, demo data: {args.demo_data}): not results."]
    lines += [
        "",
        "| modality (preset, epochs, policy) | split | n | T | ECE before | ECE after | NLL before "
        "| NLL after | accuracy before | accuracy after | target |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r["calibration"]
        for split in ("val", "test"):
            s = c[split]
            met = "met" if target_met(s["ece_before"], s["ece_after"]) else "not met"
            lines.append(
                f"| {r['modality']} ({r['preset']}, {r['epochs']}, {r['precision']}) | {split} | {s['n']} | "
                f"{c['temperature']:.3f} | {s['ece_before']:.4f} | {s['ece_after']:.4f} | "
                f"{s['nll_before']:.4f} | {s['nll_after']:.4f} | {s['accuracy_before']:.4f} | "
                f"{s['accuracy_after']:.4f} | {met} |"
            )
    lines += ["", "Checks:"]
    for r in results:
        c, fit = r["calibration"], r["calibration"]["fit"] or {}
        layer_diff = max(c["val"]["layer_vs_numpy_max_diff"], c["test"]["layer_vs_numpy_max_diff"])
        lines.append(
            f"- {r['modality']}: trained in {r['train_s']:.0f} s; `clf.calibration` (from `fit`) "
            f"ECE {fit.get('ece_before', float('nan')):.4f} -> {fit.get('ece_after', float('nan')):.4f} "
            f"on {fit.get('num_examples', '?')} validation examples (recomputed above: "
            f"{c['val']['ece_before']:.4f} -> {c['val']['ece_after']:.4f}); predictions changed by "
            f"T: {c['val']['changed_predictions']} val, {c['test']['changed_predictions']} test; "
            f"mean top probability on test {c['test']['mean_confidence_before']:.4f} -> "
            f"{c['test']['mean_confidence_after']:.4f}; Temperature layer vs "
            f"`scale_probabilities` max diff {layer_diff:.1e}."
        )
    return lines


def edge_report(edge_results, args, before_load, after_load):
    lines = measures.edge_lines(edge_results, args, before_load, after_load)
    epochs = ", ".join(
        f"{r['modality']} {r['epochs'] or 'preset'} (dtype policy {r['precision']})" for r in edge_results
    )
    for i, line in enumerate(lines):
        if line.startswith("Command:"):
            lines[i] = f"Command: `{args.command}`"
            lines.insert(
                i + 1,
                "\n`bench.measures.edge_measure` (bench_edge's measure) run unchanged through "
                "`bench/bench_calibration.py --edge` "
                f"(one training per modality for both measures); epochs: {epochs}. Environment: "
                f"MMCNN_PRECISION={os.environ.get('MMCNN_PRECISION', '(unset)')}."
                + (f"\n\n{args.code_note}" if args.code_note else ""),
            )
            break
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modalities", nargs="+", default=["image", "text", "audio"], choices=MODALITIES)
    parser.add_argument(
        "--epochs", nargs="+", default=None, help="N for all, or MODALITY=N each (default: the presets')"
    )
    parser.add_argument("--limit", type=int, default=None, help="keep this many examples of each split")
    parser.add_argument("--demo-data", action="store_true", help="use mmcnn/demo_data (smoke runs)")
    parser.add_argument("--speech-data", default="/tmp/speech_bench", help="bench_audio's data folder")
    parser.add_argument(
        "--edge", action="store_true", help="also run bench_edge's measure on the same models"
    )
    parser.add_argument("--edge-out", default=EDGE_RESULTS)
    parser.add_argument("--files", default=None, help="keep the exported files in this folder (--edge)")
    parser.add_argument("--out", default=RESULTS)
    parser.add_argument("--code-note", default=None, help="a line naming the code measured (e.g. the commit)")
    args = parser.parse_args(argv)
    args.command = "python -m bench.bench_calibration " + shlex.join(sys.argv[1:] if argv is None else argv)
    epochs = parse_epochs(args.epochs, MODALITIES)
    before_load = load_average()
    folder = args.files or tempfile.mkdtemp(prefix="bench-calibration-files-")
    os.makedirs(folder, exist_ok=True)
    results, edge_results = [], []
    for modality in args.modalities:
        if args.edge:
            clf, (train, val, test), edge = train_with_edge(modality, args, epochs.get(modality), folder)
            edge_results.append(edge)
            train_s = edge["train_s"]
        else:
            clf, (train, val, test), train_s = train_only(modality, args, epochs.get(modality))
        calibration = calibration_numbers(clf, val, test)
        results.append(
            {
                "modality": modality,
                "preset": clf.preset,
                "epochs": epochs.get(modality) or clf.setting("epochs"),
                "precision": (clf.precision_used or {}).get("policy"),
                "train_s": train_s,
                "load_after": load_average(),
                "calibration": calibration,
            }
        )
        print(modality, json.dumps(results[-1], default=float), flush=True)
        # Written after every modality, so that a later failure keeps the earlier results.
        now = load_average()
        write_results(args.out, report(results, args, before_load, now))
        with open(os.path.splitext(args.out)[0] + ".json", "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, default=float)
        if args.edge:
            write_results(args.edge_out, edge_report(edge_results, args, before_load, now))
            with open(os.path.splitext(args.edge_out)[0] + ".json", "w", encoding="utf-8") as f:
                json.dump(edge_results, f, indent=2, default=float)
    print(f"wrote {args.out}" + (f" and {args.edge_out}" if args.edge else ""), flush=True)


if __name__ == "__main__":
    main()
