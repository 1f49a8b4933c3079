"""How the `mmcnn` command ends: exit codes, and a failure as one line naming the problem.

The exit code says which kind of problem it was, the same in every subcommand
(docs/troubleshooting.md, "Exit codes"): `EXIT_USAGE` for the command as typed,
`EXIT_DATA` for the data, `EXIT_FAILURE` for a failure while running.
"""

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


def report_failure(error):
    """Prints `error` as one `mmcnn: ...` line on stderr; returns its exit code (`exit_code`)."""
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
