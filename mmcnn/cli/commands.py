"""What each `mmcnn` subcommand does: read its arguments, call `mmcnn.runs`, print.

`cmd_<name>(args)` takes the parsed arguments and returns an exit code (None: 0);
a problem with the command as typed is a `CliError`.
"""

import json
import logging
import os
import sys

from mmcnn.cli.errors import EXIT_FAILURE, CliError


# ------------------------------------------------------------------ train
def cmd_train(args):
    from mmcnn import runs

    options = {key: getattr(args, key) for key in runs.TRAIN_KEYS if hasattr(args, key)}
    if args.modality == "table" and args.init_from:
        options["init_from"] = column_pairs("--init-from", args.init_from)
    settings = list(args.settings)
    if args.columns:
        if args.modality != "table":
            raise CliError(f"--columns is for tables (mmcnn train table); received it for {args.modality}")
        settings.append(f"columns={columns_setting(args.columns)}")
    config = runs.resolve_train_config(args.modality, options, config_file=args.config, settings=settings)
    runs.train_run(config, overwrite=args.overwrite, distribute=args.distribute, verbose=_progress())


def columns_setting(text):
    """`--columns photo=image,title=text` as the TOML inline table `--set columns=...` takes.

    Example:
    >>> columns_setting("photo=image, hour=number")
    '{"photo" = "image", "hour" = "number"}'
    """
    pairs = column_pairs("--columns", text)
    return "{" + ", ".join(f"{json.dumps(name)} = {json.dumps(kind)}" for name, kind in pairs.items()) + "}"


def column_pairs(option, text):
    """`COLUMN=VALUE,COLUMN=VALUE` (a table's `--columns`, `--init-from`) as a dict.

    Example:
    >>> column_pairs("--init-from", "photo=runs/photos, title=runs/titles")
    {'photo': 'runs/photos', 'title': 'runs/titles'}
    """
    pairs = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CliError(
                f"{option} expects COLUMN=VALUE pairs separated by commas; received {item.strip()!r}"
            )
        pairs[name.strip()] = value.strip()
    return pairs


def _progress():
    """Keras verbosity: progress bars on a terminal, one plain line per epoch in a log or CI."""
    return 1 if sys.stdout.isatty() else 2


# ------------------------------------------------------------------- tune
def cmd_tune(args):
    from mmcnn import runs, tune

    settings = {}
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not key.strip() or not sep:
            raise CliError(f"--set expects KEY=VALUE; received {item!r}")
        settings[key.strip()] = runs.parse_value(value)
    tune_logger = logging.getLogger("mmcnn.tune")
    for handler in logging.getLogger("mmcnn.runs").handlers:
        tune_logger.addHandler(handler)  # `mmcnn: ...` lines, as `mmcnn train` prints them
    tune_logger.setLevel(logging.INFO)
    tune_logger.propagate = False
    result = tune.tune(
        args.modality,
        args.train,
        val=args.val,
        out=args.out,
        budget=args.budget,
        space=args.space,
        seed=args.seed,
        settings=settings,
        on_error=args.on_error,
        encoding=args.encoding,
    )
    print(
        f"best: trial {result['trial']} of {result['trials']}, validation accuracy "
        f"{result['val_accuracy']:.4f} -> {result['best_toml']}"
    )
    print(f"report: {result['report']}")
    print(
        f"next: mmcnn train {args.modality} --config {result['best_toml']} --train {args.train}"
        + (f" --val {args.val}" if args.val else "")
        + " --out RUN_DIR"
    )


# -------------------------------------------------------------- other commands
def _load_run(run_dir):
    from mmcnn import runs

    if os.path.isfile(run_dir):
        raise CliError(
            f"RUN_DIR {run_dir}: is a file; give the run directory that `mmcnn train --out` wrote "
            "(it holds model.keras)"
        )
    try:
        return runs.load_run(run_dir)
    except FileNotFoundError as error:
        raise CliError(str(error)) from None


def _check_run(run_dir):
    from mmcnn import runs

    path = runs.RunDir(run_dir).model_path
    if not os.path.isfile(path):
        raise CliError(f"{run_dir}: no trained model (expected {path})")


def cmd_evaluate(args):
    if args.model:
        return _evaluate_model_file(args)
    clf = _load_run(args.run_dir)
    if not os.path.exists(args.data):
        raise CliError(f"--data {args.data}: no such file or directory")
    from mmcnn import runs

    data = runs.load_eval_data(
        clf, args.data, encoding=args.encoding, verbose=0 if args.json else _progress()
    )
    metrics = clf.evaluate(data)
    if args.json:
        print(json.dumps(metrics))
        return
    if metrics.get("multi_label"):
        return _print_multilabel_metrics(metrics)
    print(
        f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
        f"({metrics['num_examples']} examples, {metrics['skipped']} skipped)"
    )
    print(f"{'class':<20} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
    for name, scores in metrics["per_class"].items():
        print(
            f"{name:<20} {scores['precision']:>9.3f} {scores['recall']:>9.3f} "
            f"{scores['f1']:>9.3f} {scores['support']:>8d}"
        )
    print("confusion matrix (rows: true, columns: predicted)")
    for name, row in zip(metrics["labels"], metrics["confusion_matrix"]):
        print(f"{name:<20} " + " ".join(f"{v:>5d}" for v in row))


def _print_multilabel_metrics(metrics):
    """`mmcnn evaluate` of a multi-label run: no confusion matrix (an example may hold several
    classes), per-class average precision and threshold instead."""
    print(
        f"micro-F1 {metrics['micro_f1']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
        f"mAP {metrics['mean_average_precision']:.4f}  exact-match accuracy {metrics['accuracy']:.4f}  "
        f"({metrics['num_examples']} examples, {metrics['skipped']} skipped)"
    )
    print(f"{'class':<20} {'precision':>9} {'recall':>9} {'f1':>9} {'AP':>9} {'threshold':>9} {'support':>8}")
    for name, scores in metrics["per_class"].items():
        # A class without positives in the data has no average precision.
        ap = "-" if scores["average_precision"] is None else f"{scores['average_precision']:.3f}"
        print(
            f"{name:<20} {scores['precision']:>9.3f} {scores['recall']:>9.3f} {scores['f1']:>9.3f} "
            f"{ap:>9} {scores['threshold']:>9.3f} {scores['support']:>8d}"
        )


def _evaluate_model_file(args):
    from mmcnn.runs import export

    if not os.path.exists(args.data):
        raise CliError(f"--data {args.data}: no such file or directory")
    if not os.path.isfile(args.model):
        raise CliError(f"--model {args.model}: no such file")
    _check_run(args.run_dir)
    metrics = export.evaluate_model_file(
        args.run_dir, args.model, args.data, verbose=0 if args.json else _progress(), encoding=args.encoding
    )
    if args.json:
        print(json.dumps(metrics))
        return
    if metrics.get("multi_label"):
        print(
            f"{metrics['format']} file {args.model}: micro-F1 {metrics['micro_f1']:.4f}  "
            f"mAP {metrics['mean_average_precision']:.4f}  (Keras model micro-F1 "
            f"{metrics['keras_micro_f1']:.4f}, mAP {metrics['keras_mean_average_precision']:.4f}; "
            f"same label set on {metrics['agreement']:.1%}, largest score difference "
            f"{metrics['max_abs_diff']:.2e}; {metrics['num_examples']} examples)"
        )
    else:
        print(
            f"{metrics['format']} file {args.model}: accuracy {metrics['accuracy']:.4f}  "
            f"(Keras model {metrics['keras_accuracy']:.4f}; same top class on {metrics['agreement']:.1%}, "
            f"largest probability difference {metrics['max_abs_diff']:.2e}; "
            f"{metrics['num_examples']} examples)"
        )
    print(
        f"file size {metrics['file_size_bytes']:,} bytes; batch-1 latency "
        f"{metrics['latency_ms_batch1']:.3f} ms (median)"
    )


def cmd_predict(args):
    from mmcnn.runs import predict

    if args.top_k < 1:
        raise CliError(f"--top-k must be >= 1; received {args.top_k}")
    if args.csv and os.path.isdir(args.csv):
        raise CliError(f"--csv {args.csv}: is a directory; give a file name")
    # Output paths are checked before the prediction pass, not when its rows are written.
    for option, path in (("--csv", args.csv), ("--embed", args.embed)):
        folder = os.path.dirname(os.path.abspath(path)) if path else None
        if folder and not os.path.isdir(folder):
            raise CliError(f"{option} {path}: the folder {folder} does not exist; create it first")
    if args.embed and (args.csv or args.json):
        raise CliError("--embed writes feature vectors instead of predictions; leave out --csv and --json")
    if args.embed and not args.embed.lower().endswith(".npy"):
        raise CliError(f"--embed {args.embed}: give a file name ending in .npy")
    if args.embed and not os.path.isdir(os.path.dirname(os.path.abspath(args.embed))):
        raise CliError(f"--embed {args.embed}: the folder {os.path.dirname(args.embed)} does not exist")
    clf = _load_run(args.run_dir)
    inputs = list(args.inputs)
    if args.file:
        if clf.modality != "text":
            raise CliError("--file is for text models; give image or audio files as arguments")
        with open(args.file, encoding="utf-8", errors="replace") as f:
            inputs += [line.rstrip("\n") for line in f]
    if not inputs:
        raise CliError(
            "nothing to predict: give inputs (files, folders, a .csv manifest; or --file for text)"
        )
    if args.embed:
        return _embed(clf, inputs, args)
    # The bar goes to stdout: only where stdout is not the rows themselves.
    verbose = 0 if args.json or not (args.csv or sys.stdout.isatty()) else _progress()
    rows = predict.predict_rows(clf, inputs, top_k=args.top_k, verbose=verbose)
    if args.csv:
        predict.write_predictions_csv(rows, args.csv)
    if args.json:
        print(json.dumps(rows))
    elif not args.csv:
        for row in rows:
            if row["error"]:
                print(f"{row['input']}\terror: {row['error']}")
            elif "labels" in row:  # multi-label: the predicted set, then the top scores
                top = ", ".join(f"{name} {p:.3f}" for name, p in row["top_k"])
                print(f"{row['input']}\t{';'.join(row['labels']) or '(none)'}\t{top}")
            else:
                print(f"{row['input']}\t" + ", ".join(f"{name} {p:.3f}" for name, p in row["top_k"]))
    failed = sum(1 for row in rows if row["error"])
    if args.csv:
        print(f"mmcnn: wrote {len(rows) - failed} predictions to {args.csv}", file=sys.stderr)
    if failed:
        print(f"mmcnn: {failed} of {len(rows)} inputs could not be predicted", file=sys.stderr)
    if not rows or failed == len(rows) or (failed and args.strict):
        return EXIT_FAILURE
    return 0


def _embed(clf, inputs, args):
    from mmcnn.runs import predict

    sources, embeddings, errors = predict.embed_rows(clf, inputs)
    names_path = predict.write_embeddings(args.embed, sources, embeddings)
    failed = sum(1 for error in errors if error)
    print(
        f"mmcnn: wrote {len(sources) - failed} embeddings ({embeddings.shape[1]} features) to "
        f"{args.embed}; inputs in row order in {names_path}",
        file=sys.stderr,
    )
    if failed:
        print(f"mmcnn: {failed} of {len(sources)} inputs could not be embedded (NaN rows)", file=sys.stderr)
    if not sources or failed == len(sources) or (failed and args.strict):
        return EXIT_FAILURE
    return 0


def cmd_export(args):
    from mmcnn.export.formats import registered_formats
    from mmcnn.runs import export

    record = registered_formats()[args.format]
    if args.quantize and args.quantize not in record.quantizations:
        takes = [f.name for f in registered_formats().values() if args.quantize in f.quantizations]
        kinds = " or ".join(record.quantizations)
        raise CliError(
            f"--quantize is for --format {' or '.join(takes)}; --format {args.format} "
            + (f"takes --quantize {kinds}" if kinds else "writes float32")
        )
    _check_run(args.run_dir)
    out = export.export_run(
        args.run_dir, args.out, format=args.format, quantize=args.quantize, overwrite=args.overwrite
    )
    print(f"mmcnn: exported to {out}")


def cmd_explain(args):
    from mmcnn.runs.explain import explain_rows

    clf = _load_run(args.run_dir)
    if args.class_name is not None and args.class_name not in clf.class_names:
        raise CliError(f"--class {args.class_name}: not a class of this model; choose from {clf.class_names}")
    rows = explain_rows(clf, args.inputs, args.out, class_name=args.class_name)
    if args.json:
        print(json.dumps(rows))
    else:
        for row in rows:
            if row["error"]:
                print(f"{row['input']}\terror: {row['error']}")
            else:
                top = ", ".join(f"{name} {p:.3f}" for name, p in row["top_k"])
                print(f"{row['input']}\t{row['png']}\t{top}")
    failed = sum(1 for row in rows if row["error"])
    if failed:
        print(f"mmcnn: {failed} of {len(rows)} inputs could not be explained", file=sys.stderr)
    return EXIT_FAILURE if not rows or failed == len(rows) else 0


def cmd_inspect(args):
    import pandas as pd

    import mmcnn
    from mmcnn import runs

    if args.run_dir:
        model = _load_run(args.run_dir).model
    else:
        if not (args.preset and args.modality):
            raise CliError("give RUN_DIR, or --preset NAME and --modality M")
        cls = runs.classifier_class(args.modality)
        if args.preset not in cls.presets:
            raise CliError(
                f"--preset {args.preset}: not a {args.modality} preset; choose from {sorted(cls.presets)}"
            )
        model = cls(num_classes=10, preset=args.preset).model
    fields = mmcnn.inspect.receptive_field(model)
    costs = mmcnn.inspect.summary(model)
    table = pd.concat(
        [
            fields[["layer", "type", "size", "jump", "start"]],
            costs[["output_shape", "params", "macs", "dense_params"]],
        ],
        axis=1,
    )
    with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_colwidth", 40):
        print(table.to_string(index=False))
    print(
        f"total: {int(costs['params'].sum()):,} parameters, {int(costs['macs'].sum()):,} "
        "multiply-adds per example"
    )


def cmd_demo(args):
    from mmcnn import demo

    demo.run_demo(args.out, only=args.only)
