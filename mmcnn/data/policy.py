"""The bad-input policy: `on_error`, `empty_classes`, `DataError`, and the per-item check.

A bad item is skipped and counted (`on_error="skip"`, the default) or stops the
run with a `DataError` naming it (`on_error="raise"`).
"""

import logging
import os

logger = logging.getLogger("mmcnn")

ON_ERROR = ("skip", "raise")
EMPTY_CLASSES = ("error", "drop")


class DataError(ValueError):
    """Bad input data; the message names the file, row or argument."""


def check_on_error(on_error):
    if on_error not in ON_ERROR:
        raise ValueError(f"`on_error` must be one of {list(ON_ERROR)}. Received: on_error={on_error!r}")
    return on_error


def check_empty_classes(empty_classes):
    if empty_classes not in EMPTY_CLASSES:
        raise ValueError(
            f"`empty_classes` must be one of {list(EMPTY_CLASSES)}. Received: empty_classes={empty_classes!r}"
        )
    return empty_classes


def report_bad(source, reason, on_error, skipped, log=True):
    """Skip-and-count or raise, naming the source (`log=False`: the caller logs it later)."""
    if on_error == "raise":
        raise DataError(f"{source}: {reason}")
    if log:
        logger.warning("skipping %s: %s", source, reason)
    skipped.append((str(source), str(reason)))


def check_each(sources, check, on_error="skip", verbose=1, what="files"):
    """Runs `check(source)` on every source in a thread pool, with a progress bar.

    A source whose check raises `ValueError` or `OSError` is skipped and
    counted, or stops the run (`on_error="raise"`), naming it; one bad file
    never costs the others.

    Returns:
        `(results, kept, skipped)`: the check's results and the indices of
        the sources it accepted, and `(source, reason)` for the others.
    """
    import concurrent.futures

    import keras

    check_on_error(on_error)
    results, kept, skipped = [], [], []
    bar = keras.utils.Progbar(len(sources), unit_name=what, verbose=verbose) if verbose and sources else None
    workers = min(8, (os.cpu_count() or 2) * 2)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for i, outcome in enumerate(pool.map(lambda s: _attempt(check, s), sources)):
            ok, value = outcome
            if ok:
                results.append(value)
                kept.append(i)
            else:
                # With a progress bar on the line, the "skipping" lines wait until it is done.
                report_bad(sources[i], value, on_error, skipped, log=bar is None)
            if bar is not None and (i % 64 == 0 or i == len(sources) - 1):
                bar.update(i + 1, values=[("skipped", len(skipped))] if skipped else None)
    if bar is not None:
        for source, reason in skipped:
            logger.warning("skipping %s: %s", source, reason)
    if skipped:
        logger.warning("skipped %d of %d %s (see the log above for each)", len(skipped), len(sources), what)
    return results, kept, skipped


def _attempt(check, source):
    try:
        return True, check(source)
    except (ValueError, OSError) as error:
        message = str(error)
        # Errors that already name the source need not repeat it.
        return False, message.replace(f"{source}: ", "", 1) if message.startswith(str(source)) else message
