"""The `mmcnn` command: train, evaluate, predict, export, explain, inspect, demo.

Wrong arguments, missing paths and malformed data end in one line naming the
problem and a non-zero exit code, never a traceback. The exit code says which
kind of problem it was, the same in every subcommand (docs/troubleshooting.md,
"Exit codes"): `EXIT_USAGE` for the command as typed, `EXIT_DATA` for the data,
`EXIT_FAILURE` for a failure while running.

The modules: `parser` (`build_parser`), `commands` (what each subcommand
does), `errors` (exit codes, the one-line failure) and `app` (`main`);
`python -m mmcnn.cli` runs `__main__`.
"""

from mmcnn.cli.app import main
from mmcnn.cli.errors import (
    EXIT_DATA,
    EXIT_FAILURE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    CliError,
    exit_code,
)
from mmcnn.cli.parser import build_parser

__all__ = [
    "EXIT_DATA",
    "EXIT_FAILURE",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "CliError",
    "build_parser",
    "exit_code",
    "main",
]
