"""TensorFlow's C++ start-up lines, kept off the terminal without hiding anything else.

On a machine without a GPU, importing TensorFlow and running its first op print
lines such as `cudart_stub.cc:31] Could not find cuda drivers` and `E0000 ...
failed call to cuInit: INTERNAL: CUDA error` from C++, straight to file
descriptor 2, before absl's logging honours `TF_CPP_MIN_LOG_LEVEL`. A user
reads them as a failure. They are dropped here by exact pattern: every other
line (a real TensorFlow error included) passes through unchanged.

`quiet_import()` filters while TensorFlow is imported (what `import mmcnn`
does); `filter_stderr()` filters for the rest of the process (what the `mmcnn`
command does). `quiet_native()` drops everything that native code (the LiteRT
converter and interpreter, tf2onnx) prints inside a block: their log lines
(`fully_quantize: 0, ...`, `Created TensorFlow Lite XNNPACK delegate`, errors
tf2onnx logs and recovers from) are no news to the user of a successful
export, and a failure reaches the caller as an exception. `MMCNN_VERBOSE=1`
(or `mmcnn --verbose`) turns all three off.
"""

import atexit
import contextlib
import logging
import os
import re
import sys
import tempfile
import threading

# Each pattern matches one whole line that TensorFlow prints at start-up on a CPU-only machine.
_LOG_PREFIX = r"[IWE]\d{4} [\d:. ]+\s*\d+ "
NOISE = re.compile(
    "|".join(
        [
            r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
            _LOG_PREFIX + r"port\.cc:\d+\] oneDNN custom operations are on\. .*",
            _LOG_PREFIX + r"cudart_stub\.cc:\d+\] Could not find cuda drivers on your machine.*",
            _LOG_PREFIX + r"cuda_platform\.cc:\d+\] failed call to cuInit: .*",
            _LOG_PREFIX + r"cuda_executor\.cc:\d+\] .*(NUMA|kernel driver does not appear).*",
            _LOG_PREFIX + r"cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized .*",
            r"To enable the following instructions: .*rebuild TensorFlow with the appropriate compiler .*",
            _LOG_PREFIX + r"cuda_(fft|dnn|blas)\.cc:\d+\] Unable to register cu\w+ factory.*",
            _LOG_PREFIX + r"computation_placer\.cc:\d+\] computation placer already registered.*",
            # The LiteRT converter's C++ summary of each quantization pass.
            r"fully_quantize: \d+, inference_type: \d+, input_inference_type: \w+, output_inference_type: .*",
        ]
    )
    + r"\s*"
)


def verbose():
    """True when the user asked to see TensorFlow's start-up lines (`MMCNN_VERBOSE=1`)."""
    return os.environ.get("MMCNN_VERBOSE", "").strip().lower() not in ("", "0", "false", "no")


def is_noise(line):
    return NOISE.fullmatch(line) is not None


SUPPRESSED = []  # the lines `quiet_import` dropped, for `mmcnn --verbose`


def _keep(text):
    kept = []
    for line in text.splitlines(keepends=True):
        (SUPPRESSED if is_noise(line.rstrip("\r\n")) else kept).append(line)
    return "".join(kept)


def replay_suppressed():
    """Writes the start-up lines that were dropped so far to stderr (for `mmcnn --verbose`)."""
    sys.stderr.write("".join(SUPPRESSED))
    sys.stderr.flush()
    SUPPRESSED.clear()


@contextlib.contextmanager
def quiet_import():
    """Drops TensorFlow's known start-up lines printed to file descriptor 2 inside the block."""
    if verbose():
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr (a daemon): nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        sys.stderr.flush()
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = _keep(capture.read().decode("utf-8", "replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


# Python loggers of the converters, silenced inside `quiet_native` (tf2onnx logs errors it recovers from).
NATIVE_LOGGERS = ("tf2onnx", "absl", "tensorflow")


@contextlib.contextmanager
def quiet_native():
    """Drops what is printed to file descriptors 1 and 2, and the converters' Python log records, inside
    the block (nothing is dropped under `MMCNN_VERBOSE=1`)."""
    if verbose():
        yield
        return
    loggers = [logging.getLogger(name) for name in NATIVE_LOGGERS]
    levels = [logger.level for logger in loggers]
    try:
        saved = [os.dup(1), os.dup(2)]
    except OSError:  # no usable stdout/stderr (a daemon): nothing to drop
        yield
        return
    with open(os.devnull, "wb") as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd in (1, 2):
            os.dup2(sink.fileno(), fd)
        for logger in loggers:
            logger.setLevel(logging.CRITICAL + 1)
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)


class _Filter:
    """Forwards file descriptor 2 through a pipe, dropping noise lines, until the process ends."""

    def __init__(self):
        self.original = os.dup(2)
        read_end, write_end = os.pipe()
        self.read_end = read_end
        sys.stderr.flush()
        os.dup2(write_end, 2)
        os.close(write_end)
        self.thread = threading.Thread(target=self._pump, name="mmcnn-stderr", daemon=True)
        self.thread.start()
        atexit.register(self.close)

    def _write(self, data):
        if data:
            os.write(self.original, data.encode("utf-8", "replace"))

    def _pump(self):
        pending = ""
        while True:
            chunk = os.read(self.read_end, 65536)
            if not chunk:
                break
            pending += chunk.decode("utf-8", "replace")
            *lines, pending = pending.split("\n")
            self._write("".join(line + "\n" for line in lines if not is_noise(line.rstrip("\r"))))
            # A progress bar redraws one line with "\r" and no newline: pass it on at once,
            # unless it could be the start of a noise line.
            if pending and not re.match(r"[IWE]\d|WARNING: All|To enable", pending):
                self._write(pending)
                pending = ""
        self._write(_keep(pending))

    def close(self):
        sys.stderr.flush()
        os.dup2(self.original, 2)  # our copy of the pipe's write end closes: the pump sees its end
        self.thread.join(timeout=5)


_FILTER = None


def filter_stderr():
    """Filters file descriptor 2 for the rest of the process (the command line's choice)."""
    global _FILTER
    if _FILTER is None and not verbose():
        try:
            _FILTER = _Filter()
        except OSError:
            pass
    return _FILTER
