"""The benchmark harness: machine description, load, timers, memory, publishing a report.

    from bench.harness import machine_info, machine_line, load_average, EpochTimer, publish

Every benchmark (`bench/bench_*.py`) imports this module, `bench.baselines` (the models mmcnn
is compared with) and `bench.datasets` (the data), and `bench.measures` where two benchmarks
run the same measurement; a benchmark never imports another benchmark.

- `machine_info()` / `machine_line()`: CPU count and model, CPU vector features, Python and
  library versions, as a dict or one markdown-ready sentence.
- `load_average()`: the 1/5/15-minute load average as a string (the machine is shared: record
  it before and after every timed section); `Section`: a timed section that records it.
- `EpochTimer`: a Keras callback that records each epoch's wall time, steps and samples/s.
- `time_calls(call, ...)` / `serve_call(signature, name, batch)`: seconds per call of a function
  (an exported signature) after warm-up.
- `memory_dataset(batches)`: batches already in memory, one slice per step.
- `peak_rss_mb()`: this process's peak resident memory so far.
- `median(values)`, `percentile(values, q)`: plain statistics on lists of timings.
- `publish(lines, out, quick)` / `write_results(path, lines)`: print and write a report (a
  `--quick` smoke run is never written over `bench/results/`);
  `command_line(module)`: the command that ran this process; `code_commit()`: the commit it ran;
  `parse_candidate(text)`; `parse_epochs(values, modalities)`: `--epochs N` or `MODALITY=N` each.
"""

import ast
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

# Flags of /proc/cpuinfo that decide which kernels oneDNN can use for float32 and bfloat16.
VECTOR_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_tile")


def _cpuinfo():
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model, flags


def cpu_flags():
    """The CPU feature flags of /proc/cpuinfo (empty set where it is not readable)."""
    return _cpuinfo()[1]


def _version(module):
    try:
        return __import__(module).__version__
    except ImportError:
        return "not installed"
    except AttributeError:
        return "unknown"


def machine_info():
    """Dict: `nproc`, `cpu` (model name), `vector_flags`, `python` and library versions."""
    model, flags = _cpuinfo()
    info = {
        "nproc": os.cpu_count(),
        "cpu": model,
        "vector_flags": [f for f in VECTOR_FLAGS if f in flags],
        "python": platform.python_version(),
    }
    for module in ("tensorflow", "keras", "tensorflow_text", "librosa", "numpy", "mmcnn"):
        info[module] = _version(module)
    return info


def machine_line(info=None):
    """One sentence naming the machine and versions, for a results file."""
    info = info or machine_info()
    return (
        f"{info['nproc']} CPU cores ({info['cpu']}; vector features: "
        f"{', '.join(info['vector_flags']) or 'none of ' + ', '.join(VECTOR_FLAGS)}), "
        f"Python {info['python']}, TensorFlow {info['tensorflow']}, Keras {info['keras']}, "
        f"tensorflow-text {info['tensorflow_text']}, librosa {info['librosa']}, "
        f"NumPy {info['numpy']}, mmcnn {info['mmcnn']}"
    )


def load_average():
    """The 1, 5 and 15 minute load averages, e.g. `"3.12 2.80 2.41"`."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def peak_rss_mb():
    """Peak resident memory of this process so far, in MB.

    Reads `VmHWM` from /proc/self/status: `ru_maxrss` is not enough in a subprocess,
    because Linux carries the parent's peak across fork + exec into the child's
    `ru_maxrss` (a small child of a 2 GB parent reports 2 GB). Falls back to
    `ru_maxrss` (KiB on Linux) where /proc is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def log(message):
    print(message, flush=True)


class Section:
    """Records the load average at the start and end of a timed section.

    `loads[name]` becomes `(load before, load after, seconds)`."""

    def __init__(self, name, loads):
        self.name, self.loads = name, loads

    def __enter__(self):
        self.start_load, self.start = load_average(), time.perf_counter()
        log(f"== {self.name} (load {self.start_load})")
        return self

    def __exit__(self, *exc):
        self.loads[self.name] = (self.start_load, load_average(), time.perf_counter() - self.start)
        log(f"== {self.name} done in {self.loads[self.name][2]:.0f} s (load {self.loads[self.name][1]})")


def time_calls(call, max_calls, max_seconds, warmup=5):
    """Seconds per call: `call()` repeated until `max_calls` or `max_seconds`, after warm-up."""
    for _ in range(warmup):
        call()
    times = []
    start = time.perf_counter()
    while len(times) < max_calls and time.perf_counter() - start < max_seconds:
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return np.asarray(times)


def serve_call(signature, name, batch):
    """A call of an exported signature on `batch` (its input `name`), outputs fetched to NumPy."""
    import tensorflow as tf

    tensor = tf.constant(batch)

    def call():
        outputs = signature(**{name: tensor})
        return {k: v.numpy() for k, v in outputs.items()}

    return call


def memory_dataset(batches):
    """The same batches, already in memory: one slice per step, nothing else to do."""
    import tensorflow as tf

    xs = tf.stack([b[0] for b in batches])
    ys = tf.stack([b[1] for b in batches])
    return tf.data.Dataset.from_tensor_slices((xs, ys))


def median(values):
    return float(np.median(np.asarray(values, dtype=float)))


def percentile(values, q):
    return float(np.percentile(np.asarray(values, dtype=float), q))


def _keras_callback_base():
    import keras

    return keras.callbacks.Callback


class EpochTimer(_keras_callback_base()):
    """Keras callback: wall time, steps and samples per second of every training epoch.

    Timing starts at `on_epoch_begin` and stops at `on_epoch_end`, so it includes the input
    pipeline and the step function but not validation started after the epoch's last step
    (Keras runs validation inside `on_epoch_end`'s caller, before the callback sees it,
    only when `validation_data` is given: pass none when timing).

    Args:
        batch_size: samples per step (the last, partial batch of an epoch counts whole:
            use sizes that divide evenly).

    Attributes:
        epochs: list of dicts `{"seconds", "steps", "samples_per_s"}`, one per epoch, in order
            (across several `fit` calls that share the callback).

    Example:
    >>> timer = EpochTimer(batch_size=32)
    >>> timer.epochs
    []
    """

    def __init__(self, batch_size):
        super().__init__()
        self.batch_size = int(batch_size)
        self.epochs = []
        self._start = None
        self._steps = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._steps = 0
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        # With `steps_per_execution` > 1 Keras calls this once per execution with the index
        # of the execution's last step: count steps from the index, not from the calls.
        self._steps = batch + 1

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        self.epochs.append(
            {
                "seconds": seconds,
                "steps": self._steps,
                "samples_per_s": self._steps * self.batch_size / seconds,
            }
        )

    def samples_per_s(self, skip=1):
        """Median samples/s over the recorded epochs, leaving out the first `skip` (warm-up)."""
        kept = self.epochs[skip:] or self.epochs
        return median([e["samples_per_s"] for e in kept])


def write_results(path, lines):
    """Writes a results file (markdown lines), creating its folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


# The committed results; a smoke run never replaces one of them.
RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def publish(lines, out=None, quick=False):
    """Prints a report (markdown lines) and writes it to `out` when given; `quick` marks it as a
    smoke run at the end, and a smoke run is not written into `bench/results/` (its scripts'
    default `--out`): give another `--out` to keep it."""
    if quick:
        lines = [*lines, "", "**--quick: a smoke run, not a measurement.**"]
    print("\n".join(lines))
    if out and quick and os.path.dirname(os.path.abspath(out)) == RESULTS_DIR:
        print(f"--quick: not written to {out} (a smoke run keeps the measured results; give another --out)")
    elif out:
        write_results(out, lines)


def command_line(module):
    """The command that ran this process, with its niceness, for a results file."""
    return f"nice -n {os.nice(0)} .venv/bin/python -m {module} {' '.join(sys.argv[1:])}".rstrip()


def code_commit():
    """The short commit of the checkout holding bench/, with `+ uncommitted changes` when its
    tracked files other than bench/results/ (what a run writes) differ from it (`"unknown"`
    outside a git checkout)."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                ":/",
                ":(top,exclude)bench/results",
            ],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} + uncommitted changes" if changed else commit


def parse_epochs(values, modalities):
    """`--epochs` values: `["image=3", "text=4"]` -> `{"image": 3, "text": 4}`; `["5"]` -> 5 for
    every one of `modalities`; `None` or `[]` -> `{}` (each preset's epochs).

    Raises:
        SystemExit: an item is not `N` alone or `MODALITY=N` with a known modality and N >= 1.
    """
    if not values:
        return {}
    out = {}
    for value in values:
        name, _, count = value.rpartition("=")
        every = "=" not in value and len(values) == 1
        if not (every or name in modalities) or not count.isdigit() or int(count) < 1:
            raise SystemExit(
                f"--epochs: expected N or MODALITY=N (N >= 1, MODALITY in {list(modalities)}); got {value!r}"
            )
        out.update(dict.fromkeys(modalities if every else [name], int(count)))
    return out


def parse_candidate(text):
    """`NAME=key=value,key=value` -> (NAME, {key: value}); values are Python literals or strings."""
    name, _, rest = text.partition("=")
    settings = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--candidate {text!r}: expected key=value items, got {item!r}")
        try:
            settings[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            settings[key.strip()] = value
    return name, settings
