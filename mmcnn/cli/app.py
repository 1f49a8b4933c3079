"""`main`: the `mmcnn` command from its arguments to its exit code."""

import logging
import os
import sys

from mmcnn.cli.commands import (
    cmd_demo,
    cmd_evaluate,
    cmd_explain,
    cmd_export,
    cmd_inspect,
    cmd_predict,
    cmd_train,
    cmd_tune,
)
from mmcnn.cli.errors import EXIT_INTERRUPTED, CliError, report_failure
from mmcnn.cli.parser import build_parser
from mmcnn.runs.config import ConfigError


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
        return report_failure(error)


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
