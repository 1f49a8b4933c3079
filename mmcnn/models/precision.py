"""Precision that follows the hardware: bfloat16 where the machine computes it natively and the
model at hand trains faster in it.

`resolve_precision("auto")` picks `mixed_bfloat16` (variables float32, compute
bfloat16) when every GPU has native bfloat16 (compute capability 8.0 or more)
or, without a GPU, when the CPU has AMX-BF16 or AVX512-BF16; otherwise
`float32`. Where it picks bfloat16, `measured_precision` then times a few
training steps of the model at hand in both precisions, on its real input
shape and batch size, and keeps bfloat16 only where it is measured faster
(by `MARGIN`): native bfloat16 matmuls need not make a small convolutional
net faster. The rates are cached per machine and model shape in
`precision.json` under `cache_dir()` (`MMCNN_CACHE_DIR`, else
`$XDG_CACHE_HOME/mmcnn` or `~/.cache/mmcnn`), so the steps run once.
Losses, the softmax and metrics stay float32 (the heads compute their
softmax in float32). `MMCNN_PRECISION=float32` (or another precision)
replaces "auto" everywhere, e.g. to compare runs across machines; a global
Keras dtype policy that the user set (`keras.config.set_dtype_policy`) is
followed by "auto" too (`Classifier` checks it before calling this).

Example:
>>> resolve_precision("auto", detect=lambda: {"gpus": [], "cpu_flags": {"avx2", "amx_bf16"}})
('mixed_bfloat16', 'the CPU computes bfloat16 natively (amx_bf16)')
>>> resolve_precision("auto", detect=lambda: {"gpus": [], "cpu_flags": {"avx2"}})[0]
'float32'
>>> resolve_precision("float32")
('float32', 'asked for (precision="float32")')
"""

import contextlib
import copy
import hashlib
import json
import logging
import os
import platform
import time

import numpy as np

logger = logging.getLogger("mmcnn")

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# x86 flags (as /proc/cpuinfo names them) of native bfloat16 arithmetic.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
ENV_VAR = "MMCNN_PRECISION"
CACHE_ENV_VAR = "MMCNN_CACHE_DIR"
CACHE_FILE = "precision.json"
# Timed training steps per precision (after one untimed step that traces): at least this many,
# and more until `MEASURE_SECONDS` of steps have been timed, alternating between the two so that
# the load of a shared machine touches both alike. On a loaded 2-core machine single steps vary
# by 2x: the median of each step pair's ratio decides (bench/results/image_auto.md).
MEASURE_STEPS = 5
MEASURE_SECONDS = 2.0
# bfloat16 is kept only when it is this much faster: float32 rounds less, so a tie goes to it.
MARGIN = 1.05


def check_precision(precision):
    if precision not in PRECISIONS:
        raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}")
    return precision


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The CPU's feature flags (Linux `/proc/cpuinfo`); empty where unknown."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def gpu_capabilities():
    """`[(name, (major, minor))]` of the visible GPUs (compute capability; (0, 0) where unknown)."""
    import tensorflow as tf

    found = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device) or {}
        found.append(
            (details.get("device_name", device.name), tuple(details.get("compute_capability") or (0, 0)))
        )
    return found


def detect_hardware():
    """What `resolve_precision` looks at: `{"gpus": gpu_capabilities(), "cpu_flags": cpu_flags()}`."""
    return {"gpus": gpu_capabilities(), "cpu_flags": cpu_flags()}


def forced_precision():
    """The precision `MMCNN_PRECISION` puts in place of "auto", or None when it is not set."""
    forced = os.environ.get(ENV_VAR, "").strip()
    if not forced:
        return None
    if forced not in PRECISIONS[1:]:
        raise ValueError(f"{ENV_VAR} must be one of {PRECISIONS[1:]}. Received: {forced!r}")
    return forced


def resolve_precision(precision="auto", detect=detect_hardware):
    """`(policy_name, reason)` for a `precision` setting.

    Args:
        precision: `"auto"`, `"float32"`, `"mixed_bfloat16"` or `"mixed_float16"`.
        detect: a function returning `{"gpus": [(name, (major, minor))],
            "cpu_flags": set}` (injectable, for tests).
    """
    check_precision(precision)
    if precision != "auto":
        return precision, f'asked for (precision="{precision}")'
    hardware = detect()
    gpus = list(hardware.get("gpus") or [])
    if gpus:
        slow = [name for name, capability in gpus if tuple(capability) < (8, 0)]
        if slow:
            return "float32", f"GPU {slow[0]} has no native bfloat16 (compute capability below 8.0)"
        return "mixed_bfloat16", f"the GPU computes bfloat16 natively ({gpus[0][0]})"
    flags = set(hardware.get("cpu_flags") or ())
    native = [flag for flag in BF16_CPU_FLAGS if flag in flags]
    if native:
        return "mixed_bfloat16", f"the CPU computes bfloat16 natively ({', '.join(native)})"
    return "float32", "the CPU has no native bfloat16 (no AMX-BF16 or AVX512-BF16)"


@contextlib.contextmanager
def dtype_policy(policy):
    """Builds layers under the Keras dtype policy `policy`, restoring the global one after."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def float32_copy(clf):
    """`Classifier.float32_copy` of `clf`: itself when its model is float32, else a shallow copy
    whose model is rebuilt with float32 policies and given the same weights."""
    model = clf.model
    config = model.get_config()
    if not _mixed_policies(config):
        return clf
    float_model = type(model).from_config(_float32_policies(config))
    float_model.set_weights(model.get_weights())
    copy_ = copy.copy(clf)
    copy_._model = float_model
    return copy_


def _is_policy(value):
    return isinstance(value, dict) and value.get("class_name") == "DTypePolicy"


def _mixed_policies(node):
    """Whether a layer config (tree) holds a dtype policy other than float32."""
    if _is_policy(node):
        return node.get("config", {}).get("name") != "float32"
    if isinstance(node, dict):
        return any(_mixed_policies(v) for v in node.values())
    if isinstance(node, list):
        return any(_mixed_policies(v) for v in node)
    return False


def _float32_policies(node):
    """A copy of a layer config (tree) with every dtype policy set to float32."""
    if _is_policy(node):
        return "float32"
    if isinstance(node, dict):
        return {k: _float32_policies(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_float32_policies(v) for v in node]
    return node


def cache_dir():
    """Where mmcnn keeps what it measured about this machine: `MMCNN_CACHE_DIR`, else
    `$XDG_CACHE_HOME/mmcnn`, else `~/.cache/mmcnn`."""
    if os.environ.get(CACHE_ENV_VAR):
        return os.environ[CACHE_ENV_VAR]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mmcnn")


def machine_key(hardware):
    """What identifies this machine's speed: processor, its bfloat16 flags, GPUs, TensorFlow."""
    import tensorflow as tf

    flags = sorted(set(hardware.get("cpu_flags") or ()) & set(BF16_CPU_FLAGS))
    gpus = [name for name, _ in hardware.get("gpus") or []]
    return f"{_cpu_name()}|{','.join(flags)}|{','.join(gpus)}|{os.cpu_count()} cpus|tf {tf.__version__}"


def _cpu_name(cpuinfo="/proc/cpuinfo"):
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def measure_rates(build, batch_size, policies=("float32", "mixed_bfloat16"), steps=MEASURE_STEPS):
    """Training examples per second of the model `build()` makes, under each dtype policy.

    Each model is compiled (SGD, mean squared error against zeros: the cost of a
    training step lies in the layers, not the loss) and trained on one random batch
    of its own input shape: one untimed step that traces, then at least `steps`
    rounds of one timed step per policy, in turn, until `MEASURE_SECONDS` are timed.

    Returns:
        `{policy: examples_per_second}` of the median step, and `"ratios"`: the median over
        rounds of each policy's speed relative to the first policy's in the same round
        (steps next to each other in time see the same load).
    """
    import keras

    rng = np.random.default_rng(0)
    runs = {}
    for policy in policies:
        with dtype_policy(policy):
            model = build()
        model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse", jit_compile=False)
        # The model's own input structure: one tensor, or a dict of them (a table's columns).
        x = keras.tree.map_structure(lambda spec: _batch(rng, spec, batch_size), model.input)
        y = np.zeros((batch_size, *model.output_shape[1:]), "float32")
        model.train_on_batch(x, y)
        runs[policy] = (model, x, y)
    times = {policy: [] for policy in policies}
    timed = 0.0
    while len(times[policies[0]]) < steps or timed < MEASURE_SECONDS:
        for policy, (model, x, y) in runs.items():
            start = time.perf_counter()
            model.train_on_batch(x, y)
            times[policy].append(time.perf_counter() - start)
            timed += times[policy][-1]
        if len(times[policies[0]]) >= 10 * steps:
            break
    first = np.asarray(times[policies[0]])
    rates = {policy: batch_size / float(np.median(t)) for policy, t in times.items()}
    rates["ratios"] = {policy: float(np.median(first / np.asarray(t))) for policy, t in times.items()}
    return rates


def _batch(rng, spec, batch_size):
    shape = (batch_size, *(d or 1 for d in spec.shape[1:]))
    if "string" in str(spec.dtype):
        # Raw text, tokenized in the model; a string tensor, which Keras also distributes under a
        # strategy (a NumPy array of objects it refuses there).
        import tensorflow as tf

        return tf.constant(np.full(shape, " ".join(["text"] * 64), dtype=object), dtype=tf.string)
    if "int" in str(spec.dtype):
        return np.zeros(shape, str(spec.dtype))  # token ids: 0 is in every vocabulary
    return rng.uniform(0, 255, shape).astype(str(spec.dtype))


def measured_precision(build, model_key, batch_size, hardware, measure=measure_rates):
    """`(policy, reason, rates)` for `precision="auto"` where the hardware has native bfloat16:
    `mixed_bfloat16` when the model `build()` makes trains at least `MARGIN` times faster in it
    than in float32 on this machine, else `float32`.

    The rates come from `precision.json` in `cache_dir()` when this machine measured a
    model of this `model_key` before; else from `measure(build, batch_size)`, then stored.

    Args:
        build: makes the model, under the current Keras dtype policy.
        model_key: a string that identifies the model's shape (layers, input, batch).
        batch_size: the training batch size.
        hardware: what `detect_hardware` returned.
        measure: the timing function (`measure_rates`).
    """
    key = hashlib.sha256(f"{machine_key(hardware)}|{model_key}|batch {batch_size}".encode()).hexdigest()[:20]
    path = os.path.join(cache_dir(), CACHE_FILE)
    cache = _read_cache(path)
    cached = key in cache
    if cached:
        rates = cache[key]["rates"]
    else:
        start = time.perf_counter()
        try:
            rates = measure(build, batch_size)
        except Exception as error:  # noqa: BLE001 - a model the steps cannot run keeps the flag rule
            logger.warning(
                "precision: could not time this model (%s: %s); using mixed_bfloat16, which the hardware "
                "computes natively, unmeasured",
                type(error).__name__,
                str(error).splitlines()[0] if str(error) else "",
            )
            return "mixed_bfloat16", "the hardware computes bfloat16 natively (the measurement failed)", {}
        logger.info("precision: measured %s in %.1f s", _rates_text(rates), time.perf_counter() - start)
        cache[key] = {"rates": rates, "machine": machine_key(hardware), "measured_at": time.time()}
        _write_cache(path, cache)
    speedup = rates.get("ratios", {}).get("mixed_bfloat16") or rates["mixed_bfloat16"] / rates["float32"]
    faster = speedup >= MARGIN
    policy = "mixed_bfloat16" if faster else "float32"
    reason = f"measured{' (cached)' if cached else ''} on this machine: {_rates_text(rates)}, bfloat16 " + (
        f"{speedup:.2f}x as fast" if faster else f"{speedup:.2f}x as fast, not {MARGIN:g}x"
    )
    measured = {"rates": {k: round(float(rates[k]), 1) for k in ("float32", "mixed_bfloat16")}}
    return policy, reason, {**measured, "speedup": round(float(speedup), 3), "cached": cached}


def _rates_text(rates):
    return ", ".join(f"{policy} {rates[policy]:,.0f} examples/s" for policy in ("float32", "mixed_bfloat16"))


def _read_cache(path):
    try:
        with open(path, encoding="utf-8") as f:
            cache = json.load(f)
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: measured again and rewritten
    return cache if isinstance(cache, dict) else {}


def _write_cache(path, cache):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(cache, f, indent=1)
        os.replace(tmp, path)
    except OSError as error:
        logger.warning(
            "precision: cannot write the measurement cache %s (%s); it is measured again next time",
            path,
            error,
        )
