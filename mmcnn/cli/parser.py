"""The argument parser of the `mmcnn` command: every subcommand, its options and their help.

The choices (modalities, export formats, demo modalities) come from the
registries, so a new modality or export format appears here with no edit.
"""

import argparse
import os

from mmcnn.cli.errors import CliError


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
        help="classifier argument, TOML value (e.g. image_size=[28,28]; images default to "
        'image_size="auto" and channels="auto": decided from the training pictures)',
    )
    train.add_argument(
        "--columns",
        metavar="NAME=KIND,...",
        help="table: the kinds of some columns (e.g. photo=image,title=text,hour=number; kinds: "
        "number, category, text, image, audio); the other columns' kinds are detected",
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
        "weights are copied, its head too when the classes are the same (docs/transfer.md); a table: "
        "COLUMN=RUN_DIR,... starts each of those columns' encoders from a run of its modality",
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
