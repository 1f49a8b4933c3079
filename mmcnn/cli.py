"""The `mmcnn` command: train, evaluate, predict, export, explain, inspect, demo.

Wrong arguments, missing paths and malformed data end in one line naming the
problem and a non-zero exit code, never a traceback. The exit code says which
kind of problem it was, the same in every subcommand (docs/troubleshooting.md,
"Exit codes"): `EXIT_USAGE` for the command as typed, `EXIT_DATA` for the data,
`EXIT_FAILURE` for a failure while running.
"""

import argparse
import json
import logging
import os
import sys

from mmcnn.runs.config import ConfigError

EXIT_FAILURE = 1  # it ran and failed: training diverged, a write failed, no input could be predicted
EXIT_USAGE = 2  # the command cannot run as typed: an option, a path, a conflict, a refusal to replace
EXIT_DATA = 3  # the data cannot be used: a malformed manifest, one class, a class the model lacks
EXIT_INTERRUPTED = 130

# Library messages name Python arguments; on the command line the same advice is an option.
_CLI_WORDS = (
    ("pass overwrite=True", "pass --overwrite"),
    ("even with overwrite=True", "even with --overwrite"),
    ("pass empty_classes='drop'", "pass --empty-classes drop"),
)


class CliError(Exception):
    """A problem to report in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CliError(f"{message} (see `{self.prog} --help`)")


def _modalities():
    from mmcnn.models import registry

    return registry.modality_names()


def _export_formats():
    from mmcnn.export.formats import registered_formats

    return registered_formats()


def _default_names(formats):
    """`RUN_DIR/export, RUN_DIR/model[_QUANTIZE].tflite, ...`: where each format writes by default."""
    names = []
    for f in formats.values():
        stem, suffix = os.path.splitext(f.default_name)
        names.append(f"RUN_DIR/{stem}[_QUANTIZE]{suffix}" if f.quantizations else f"RUN_DIR/{f.default_name}")
    return names


def _runnable_suffixes():
    from mmcnn.export.runtimes import runnable_suffixes

    return runnable_suffixes()


def _demo_modalities():
    from mmcnn.demo import DEMO_SETTINGS

    return tuple(DEMO_SETTINGS)


def build_parser():
    parser = _Parser(prog="mmcnn", description="Convolutional classifiers for images, audio and text.")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="also show TensorFlow's start-up lines (CUDA probing, CPU features); "
        "MMCNN_VERBOSE=1 does the same",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser(
        "train",
        help="train a classifier into a run directory",
        usage="%(prog)s {" + ",".join(_modalities()) + "} --train DATA --out RUN_DIR [options]",
    )
    train.add_argument("modality", choices=_modalities())
    # Required, but a --config file may give them instead: checked once the file is read.
    required = train.add_argument_group("required (here, or as `train` and `out` in the --config file)")
    required.add_argument(
        "--train", metavar="DATA", help="class-per-folder directory or CSV manifest (path|text, label)"
    )
    required.add_argument("--out", metavar="RUN_DIR", help="run directory")
    train.add_argument("--val", help="validation data (default: a stratified split of --train)")
    train.add_argument("--test", help="test data, evaluated at the end")
    train.add_argument("--preset", help="model preset (see `mmcnn inspect --help`)")
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", dest="batch_size", type=int)
    train.add_argument("--seed", type=int)
    train.add_argument(
        "--config",
        help="TOML file with any of these options; [classifier] holds "
        "constructor arguments such as image_size",
    )
    train.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="classifier argument, TOML value (e.g. image_size=[28,28])",
    )
    train.add_argument(
        "--on-error",
        dest="on_error",
        choices=("skip", "raise"),
        help="bad input files: skip and count (default) or stop",
    )
    train.add_argument(
        "--encoding", help="text encoding of CSV manifests (default UTF-8; e.g. cp1252 for Excel on Windows)"
    )
    train.add_argument(
        "--empty-classes",
        dest="empty_classes",
        choices=("error", "drop"),
        help="a class with no usable training example: stop (default) or leave it out (recorded in "
        "metrics.json and the report)",
    )
    train.add_argument(
        "--init-from",
        dest="init_from",
        metavar="RUN_DIR",
        help="start from a trained run (or .keras file) of the same modality: its settings and "
        "weights are copied, its head too when the classes are the same (docs/transfer.md)",
    )
    train.add_argument(
        "--freeze-epochs",
        dest="freeze_epochs",
        type=int,
        metavar="N",
        help="with --init-from: epochs with the copied layers frozen first (default: up to 3 when "
        "the head is new, 0 when it is kept)",
    )
    train.add_argument(
        "--fine-tune-learning-rate",
        dest="fine_tune_learning_rate",
        type=float,
        metavar="RATE",
        help="with --init-from: learning rate once all layers train (default: the preset's when the "
        "head is new, a tenth of it when it is kept)",
    )
    train.add_argument(
        "--class-weight",
        dest="class_weight",
        choices=("balanced",),
        help="balanced: weigh each class's loss by the inverse of its share of the training data",
    )
    train.add_argument("--overwrite", action="store_true", help="replace a completed run")
    train.add_argument(
        "--distribute",
        choices=("none", "mirrored", "multiworker"),
        default="none",
        help="mirrored: all GPUs of this host; multiworker: the hosts in TF_CONFIG "
        "(see docs/distributed.md). --batch-size is per replica",
    )

    evaluate = sub.add_parser("evaluate", help="score a trained run on labelled data")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--encoding", help="text encoding of a CSV manifest (default UTF-8)")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument(
        "--model",
        help=f"score this exported {_runnable_suffixes()} file in its runtime, next to the run's Keras model",
    )

    predict = sub.add_parser("predict", help="classify files, folders, manifests (image/audio) or texts")
    predict.add_argument("run_dir")
    predict.add_argument(
        "inputs", nargs="*", help="files, folders (recursive), .csv manifests, or texts for a text model"
    )
    predict.add_argument("--file", help="text model: a file with one text per line")
    predict.add_argument("--top-k", dest="top_k", type=int, default=1)
    predict.add_argument(
        "--json", action="store_true", help="print one JSON list (rows with an `error` field)"
    )
    predict.add_argument(
        "--csv",
        help="write path,label,probability,error rows to this CSV file (multi-label: path,labels,"
        "probabilities: the predicted classes and each one's score, joined by ';', then a "
        "score:CLASS column per class, then error)",
    )
    predict.add_argument(
        "--strict", action="store_true", help="exit non-zero when any input could not be predicted"
    )
    predict.add_argument(
        "--embed",
        metavar="OUT.npy",
        help="write each input's pooled feature vector (one row per input, NaN for an unreadable one) "
        "to this .npy file, and the inputs in row order to OUT.inputs.txt, instead of predicting",
    )

    formats = _export_formats()
    export = sub.add_parser("export", help="write a SavedModel, a LiteRT .tflite or an .onnx file")
    export.add_argument("run_dir")
    export.add_argument(
        "--format",
        choices=tuple(formats),
        default="saved_model",
        help=", ".join(f.description or f.name for f in formats.values()),
    )
    quantized = [f for f in formats.values() if f.quantizations]
    export.add_argument(
        "--quantize",
        choices=tuple(dict.fromkeys(q for f in quantized for q in f.quantizations)),
        help=f"{' and '.join(f.name for f in quantized)} only; int8 is calibrated on the run's training data",
    )
    export.add_argument(
        "--out",
        help=f"export directory or file (default: {', '.join(_default_names(formats))})",
    )
    export.add_argument("--overwrite", action="store_true")

    explain = sub.add_parser(
        "explain", help="Grad-CAM pictures: where in each input the evidence for its class lies"
    )
    explain.add_argument("run_dir")
    explain.add_argument(
        "inputs", nargs="+", help="files, folders (recursive), .csv manifests, or texts for a text model"
    )
    explain.add_argument("--out", required=True, help="folder for the pictures (one PNG per input)")
    explain.add_argument(
        "--class", dest="class_name", help="explain this class (default: each input's most probable)"
    )
    explain.add_argument("--json", action="store_true", help="print one JSON list of rows")

    insp = sub.add_parser("inspect", help="receptive fields, parameters and multiply-adds per layer")
    insp.add_argument("run_dir", nargs="?")
    insp.add_argument("--preset")
    insp.add_argument("--modality", choices=_modalities())

    _add_tune_parser(sub)

    demo = sub.add_parser("demo", help="train, evaluate and export the three demo classifiers")
    demo.add_argument("--out", default="demo-runs")
    demo.add_argument("--only", choices=_demo_modalities(), action="append")
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        _setup_output(args.verbose)
        command = {
            "train": cmd_train,
            "evaluate": cmd_evaluate,
            "predict": cmd_predict,
            "export": cmd_export,
            "explain": cmd_explain,
            "inspect": cmd_inspect,
            "demo": cmd_demo,
            "tune": cmd_tune,
        }[args.command]
        return command(args) or 0
    except KeyboardInterrupt:
        print("mmcnn: interrupted; re-run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # noqa: BLE001 - the CLI reports, never dumps a traceback
        if os.environ.get("MMCNN_DEBUG") and not isinstance(error, (CliError, ConfigError)):
            raise
        return _report_failure(error)


def exit_code(error):
    """The exit code of the command that raised `error`: `EXIT_USAGE`, `EXIT_DATA` or `EXIT_FAILURE`."""
    from mmcnn.data import DataError
    from mmcnn.models.transfer import TransferError
    from mmcnn.tune import TuneFailedError

    if isinstance(error, TuneFailedError):
        return EXIT_FAILURE  # a search that ran and failed (every trial crashed, none finished)
    if isinstance(error, DataError):
        return EXIT_DATA
    # A source run whose weights do not fit the options, or a target that needs --overwrite.
    if isinstance(error, (CliError, ConfigError, TransferError, FileExistsError)):
        return EXIT_USAGE
    return EXIT_FAILURE


def _report_failure(error):
    from mmcnn.data import DataError
    from mmcnn.training import BackupError, TrainingDivergedError

    code = exit_code(error)
    kind = "data error" if isinstance(error, DataError) else "error"
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    for python_words, cli_words in _CLI_WORDS:
        message = message.replace(python_words, cli_words)
    known = (CliError, DataError, ValueError, OSError, BackupError, TrainingDivergedError)
    if not isinstance(error, known) and code == EXIT_FAILURE:
        message = f"{type(error).__name__}: {message} (set MMCNN_DEBUG=1 for a traceback)"
    print(f"mmcnn: {kind}: {message}", file=sys.stderr)
    return code


def _setup_output(verbose):
    """TensorFlow's start-up lines off (unless `--verbose`); library messages as `mmcnn: ...` lines."""
    from mmcnn import _stderr

    if verbose:
        os.environ["MMCNN_VERBOSE"] = "1"
        _stderr.replay_suppressed()
    else:
        _stderr.filter_stderr()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("mmcnn: %(message)s"))
    runs_logger = logging.getLogger("mmcnn.runs")
    runs_logger.addHandler(handler)
    runs_logger.setLevel(logging.INFO)
    runs_logger.propagate = False


# ------------------------------------------------------------------ train
def cmd_train(args):
    from mmcnn import runs

    options = {key: getattr(args, key) for key in runs.TRAIN_KEYS if hasattr(args, key)}
    config = runs.resolve_train_config(
        args.modality, options, config_file=args.config, settings=args.settings
    )
    runs.train_run(config, overwrite=args.overwrite, distribute=args.distribute, verbose=_progress())


def _progress():
    """Keras verbosity: progress bars on a terminal, one plain line per epoch in a log or CI."""
    return 1 if sys.stdout.isatty() else 2


# ------------------------------------------------------------------- tune
def _add_tune_parser(sub):
    tune = sub.add_parser(
        "tune", help="search a classifier's settings on your data within a budget; writes best.toml"
    )
    tune.add_argument("modality", choices=_modalities())
    tune.add_argument("--train", required=True, help="class-per-folder directory or CSV manifest")
    tune.add_argument(
        "--val", help="validation data that scores every trial (default: a stratified split of --train)"
    )
    tune.add_argument("--out", required=True, help="search folder (TUNE_DIR); rerun to resume")
    tune.add_argument(
        "--budget", default="30m", help="wall-clock time (30m, 2h, 1h30m, 90s) or a number of trials (20)"
    )
    tune.add_argument("--space", help="TOML file that narrows or replaces the default space (docs/tune.md)")
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="classifier argument held fixed in every trial, TOML value (e.g. image_size=[28,28])",
    )
    tune.add_argument("--on-error", dest="on_error", choices=("skip", "raise"), default="skip")
    tune.add_argument("--encoding", help="text encoding of CSV manifests (default UTF-8)")


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


if __name__ == "__main__":
    sys.exit(main())
