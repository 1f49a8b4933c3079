"""The `mmcnn` command: train, evaluate, predict, export, inspect, demo.

Wrong arguments, missing paths and malformed data end in one line naming the
problem and a non-zero exit code, never a traceback.
"""

import argparse
import json
import os
import sys

EXIT_USAGE = 2
EXIT_FAILURE = 1
MODALITIES = ("image", "audio", "text")
TRAIN_KEYS = (
    "train",
    "val",
    "test",
    "out",
    "preset",
    "epochs",
    "batch_size",
    "seed",
    "on_error",
    "val_fraction",
    "classifier",
)


class CliError(Exception):
    """A problem to report in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CliError(f"{message} (see `{self.prog} --help`)")


def _quiet_tensorflow():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def build_parser():
    parser = _Parser(prog="mmcnn", description="Convolutional classifiers for images, audio and text.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train a classifier into a run directory")
    train.add_argument("modality", choices=MODALITIES)
    train.add_argument("--train", help="class-per-folder directory or CSV manifest (path|text, label)")
    train.add_argument("--val", help="validation data (default: a stratified split of --train)")
    train.add_argument("--test", help="test data, evaluated at the end")
    train.add_argument("--out", help="run directory")
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
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")

    predict = sub.add_parser("predict", help="classify files (image/audio) or texts")
    predict.add_argument("run_dir")
    predict.add_argument("inputs", nargs="*", help="files, or texts for a text model")
    predict.add_argument("--file", help="text model: a file with one text per line")
    predict.add_argument("--top-k", dest="top_k", type=int, default=1)
    predict.add_argument("--json", action="store_true")

    export = sub.add_parser("export", help="write a SavedModel that takes raw input")
    export.add_argument("run_dir")
    export.add_argument("--out", help="export directory (default: RUN_DIR/export)")
    export.add_argument("--overwrite", action="store_true")

    insp = sub.add_parser("inspect", help="receptive fields, parameters and multiply-adds per layer")
    insp.add_argument("run_dir", nargs="?")
    insp.add_argument("--preset")
    insp.add_argument("--modality", choices=MODALITIES)

    demo = sub.add_parser("demo", help="train, evaluate and export the three demo classifiers")
    demo.add_argument("--out", default="demo-runs")
    demo.add_argument("--only", choices=MODALITIES, action="append")
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
        _quiet_tensorflow()
        command = {
            "train": cmd_train,
            "evaluate": cmd_evaluate,
            "predict": cmd_predict,
            "export": cmd_export,
            "inspect": cmd_inspect,
            "demo": cmd_demo,
        }[args.command]
        return command(args) or 0
    except CliError as error:
        print(f"mmcnn: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("mmcnn: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - the CLI reports, never dumps a traceback
        if os.environ.get("MMCNN_DEBUG"):
            raise
        return _report_failure(error)


def _report_failure(error):
    from mmcnn.data import DataError
    from mmcnn.training import BackupError, TrainingDivergedError

    kind = "data error" if isinstance(error, DataError) else "error"
    message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if not isinstance(error, (DataError, ValueError, OSError, BackupError, TrainingDivergedError)):
        message = f"{type(error).__name__}: {message} (set MMCNN_DEBUG=1 for a traceback)"
    print(f"mmcnn: {kind}: {message}", file=sys.stderr)
    return EXIT_FAILURE


# ------------------------------------------------------------------ train
def resolve_train_config(args):
    """Merges defaults < TOML config < command-line options."""
    config = {
        "val": None,
        "test": None,
        "preset": None,
        "epochs": None,
        "batch_size": None,
        "seed": 0,
        "on_error": "skip",
        "val_fraction": 0.1,
        "classifier": {},
    }
    if args.config:
        config.update(_read_toml(args.config))
    for key in ("train", "val", "test", "out", "preset", "epochs", "batch_size", "seed", "on_error"):
        value = getattr(args, key)
        if value is not None:
            config[key] = value
    classifier = dict(config.get("classifier") or {})
    for item in args.settings:
        key, _, value = item.partition("=")
        if not key or not _:
            raise CliError(f"--set expects KEY=VALUE; received {item!r}")
        classifier[key.strip()] = _toml_value(value, item)
    config["classifier"] = classifier
    config["modality"] = args.modality
    for key in ("train", "out"):
        if not config.get(key):
            raise CliError(f"--{key} is required (or `{key}` in --config)")
    unknown = set(config) - set(TRAIN_KEYS) - {"modality"}
    if unknown:
        raise CliError(f"unknown option(s) in {args.config}: {sorted(unknown)}")
    for key in ("train", "val", "test"):
        if config.get(key) and not os.path.exists(config[key]):
            raise CliError(f"--{key} {config[key]}: no such file or directory")
    return config


def _read_toml(path):
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    if not os.path.isfile(path):
        raise CliError(f"--config {path}: no such file")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as error:
        raise CliError(f"--config {path}: invalid TOML ({error})") from None


def _toml_value(text, item):
    try:
        import tomllib
    except ModuleNotFoundError:
        import tomli as tomllib
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word such as a policy name


def load_data(modality, path, class_names=None, on_error="skip", verbose=1):
    """A directory or CSV manifest as the modality's LabeledData."""
    import importlib

    module = importlib.import_module(f"mmcnn.{modality}")
    if os.path.isdir(path):
        return module.from_directory(path, class_names=class_names, on_error=on_error, verbose=verbose)
    if path.lower().endswith(".csv"):
        return module.from_dataframe(path, class_names=class_names, on_error=on_error, verbose=verbose)
    raise CliError(f"{path}: expected a class-per-folder directory or a .csv manifest")


def train_run(config, overwrite=False, verbose=1, distribute="none"):
    """Trains into a run directory; resumes an interrupted run. Returns the metrics dict.

    `distribute` is "none", "mirrored" or "multiworker" (`mmcnn.distribute`). In a
    cluster every worker runs this same function; only the chief writes the run
    directory (the others run the same steps into a private temporary folder, deleted
    at the end), and each worker keeps its own backup under <out>/backup/<task>-<i>/.
    """
    import shutil

    from mmcnn import distribute as dist

    # First: a MultiWorkerMirroredStrategy must exist before TensorFlow runs anything.
    strategy = dist.make_strategy(distribute)
    chief = dist.is_chief(strategy)

    import keras

    import mmcnn
    from mmcnn import runs

    run = runs.RunDir(config["out"] if chief else dist.output_path(config["out"], strategy))
    backup_dir = runs.RunDir(config["out"]).backup_dir  # fit adds worker-<i>/ in a cluster
    state = run.prepare(config, overwrite=overwrite or not chief)
    if state == "resume":
        from mmcnn.training import read_backup_epoch

        # Checks the backup now: a damaged one is named before any data is decoded.
        done = read_backup_epoch(backup_dir) if os.path.isdir(backup_dir) else 0
        print(f"mmcnn: resuming the interrupted run in {run.path} after epoch {done}", file=sys.stderr)
    modality = config["modality"]
    classifier_cls = getattr(getattr(mmcnn, modality), f"{modality.capitalize()}Classifier")
    train = load_data(modality, config["train"], on_error=config["on_error"], verbose=verbose)
    if config.get("val"):
        val = load_data(
            modality,
            config["val"],
            class_names=train.class_names,
            on_error=config["on_error"],
            verbose=verbose,
        )
    else:
        train, val = train.split(config["val_fraction"], seed=config["seed"])
    try:
        clf = classifier_cls(
            class_names=train.class_names,
            preset=config["preset"],
            epochs=config["epochs"],
            batch_size=config["batch_size"],
            seed=config["seed"],
            **config["classifier"],
        )
    except TypeError as error:
        raise CliError(f"bad classifier option: {error}") from None
    run.write_resolved_config(config, clf)
    callbacks = [
        keras.callbacks.CSVLogger(run.history_csv, append=True),
        keras.callbacks.TensorBoard(run.tensorboard_dir, write_graph=False),
        keras.callbacks.ModelCheckpoint(run.model_path, monitor="val_loss", save_best_only=True),
    ]
    history = clf.fit(
        train,
        validation_data=val,
        callbacks=callbacks,
        backup_dir=backup_dir,
        verbose=verbose,
        strategy=strategy,
    )
    clf.save(run.model_path)  # the best epoch's weights (early stopping restored them)
    if strategy is not None:
        # Evaluate and report with a plain one-device copy: no collectives needed.
        clf = mmcnn.load(run.model_path)
    metrics = {"validation": clf.evaluate(val), "skipped": {"train": train.skipped, "val": val.skipped}}
    if config.get("test"):
        test = load_data(
            modality,
            config["test"],
            class_names=clf.class_names,
            on_error=config["on_error"],
            verbose=verbose,
        )
        metrics["test"] = clf.evaluate(test)
        metrics["skipped"]["test"] = test.skipped
    run.finish(metrics)
    _write_report(clf, run, history, metrics, val)
    if not chief:
        # The other workers ran the same steps (keeping the cluster in step) into a private folder.
        shutil.rmtree(dist.backup_path(backup_dir, strategy), ignore_errors=True)
        shutil.rmtree(os.path.dirname(run.path), ignore_errors=True)
        return metrics
    final = metrics.get("test", metrics["validation"])
    print(
        f"mmcnn: trained {modality} classifier in {run.path}: "
        f"{'test' if 'test' in metrics else 'validation'} accuracy {final['accuracy']:.4f}, "
        f"macro-F1 {final['macro_f1']:.4f}, {sum(len(v) for v in metrics['skipped'].values())} "
        f"bad files skipped"
    )
    return metrics


def _write_report(clf, run, history, metrics, data):
    import pandas as pd

    from mmcnn import report

    history_frame = pd.read_csv(run.history_csv) if os.path.exists(run.history_csv) else history.history
    report.write_report(
        clf,
        run.report_dir,
        history=history_frame,
        metrics=metrics.get("test", metrics["validation"]),
        example=_first_example(clf, data),
    )


def _first_example(clf, data):
    """The first input of `data` as one model input (for the report's pictures)."""
    import numpy as np

    if not len(data):
        return None
    item = data.inputs[0]
    if data.kind == "texts":
        return item  # the report shows the text's own tokens
    batch = np.asarray(item)[None] if data.kind == "arrays" else [item]
    return clf.preprocess(batch)[0]


def cmd_train(args):
    train_run(resolve_train_config(args), overwrite=args.overwrite, distribute=args.distribute)


# -------------------------------------------------------------- other commands
def _load_run(run_dir):
    import mmcnn
    from mmcnn import runs

    path = runs.RunDir(run_dir).model_path
    if not os.path.isfile(path):
        raise CliError(f"{run_dir}: no trained model (expected {path})")
    return mmcnn.load(path)


def cmd_evaluate(args):
    clf = _load_run(args.run_dir)
    if not os.path.exists(args.data):
        raise CliError(f"--data {args.data}: no such file or directory")
    data = load_data(clf.modality, args.data, class_names=clf.class_names, verbose=0 if args.json else 1)
    metrics = clf.evaluate(data)
    if args.json:
        print(json.dumps(metrics))
        return
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


def cmd_predict(args):
    clf = _load_run(args.run_dir)
    inputs = list(args.inputs)
    if args.file:
        if clf.modality != "text":
            raise CliError("--file is for text models; give image or audio files as arguments")
        with open(args.file, encoding="utf-8", errors="replace") as f:
            inputs += [line.rstrip("\n") for line in f]
    if not inputs:
        raise CliError("nothing to predict: give inputs (or --file for text)")
    if clf.modality != "text":
        missing = [p for p in inputs if not os.path.isfile(p)]
        if missing:
            raise CliError(f"{missing[0]}: no such file")
    if args.top_k < 1:
        raise CliError(f"--top-k must be >= 1; received {args.top_k}")
    result = clf.predict(inputs, top_k=min(args.top_k, clf.num_classes))
    if args.json:
        print(
            json.dumps(
                [
                    {"input": x, "label": label, "top_k": [[n, p] for n, p in top]}
                    for x, label, top in zip(inputs, result["labels"], result["top_k"])
                ]
            )
        )
        return
    for x, top in zip(inputs, result["top_k"]):
        shown = ", ".join(f"{name} {p:.3f}" for name, p in top)
        print(f"{x}\t{shown}")


def cmd_export(args):
    from mmcnn import runs

    clf = _load_run(args.run_dir)
    out = args.out or runs.RunDir(args.run_dir).export_dir
    clf.export(out, overwrite=args.overwrite)
    print(f"mmcnn: exported to {out}")


def cmd_inspect(args):
    import pandas as pd

    import mmcnn

    if args.run_dir:
        model = _load_run(args.run_dir).model
    else:
        if not (args.preset and args.modality):
            raise CliError("give RUN_DIR, or --preset NAME and --modality M")
        cls = getattr(getattr(mmcnn, args.modality), f"{args.modality.capitalize()}Classifier")
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
