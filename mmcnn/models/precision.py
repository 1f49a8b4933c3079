"""Precision that follows the hardware: bfloat16 where the machine computes it natively.

`resolve_precision("auto")` picks `mixed_bfloat16` (variables float32, compute
bfloat16) when every GPU has native bfloat16 (compute capability 8.0 or more)
or, without a GPU, when the CPU has AMX-BF16 or AVX512-BF16; otherwise
`float32`. Losses, the softmax and metrics stay float32 (the heads compute
their softmax in float32). `MMCNN_PRECISION=float32` (or another precision)
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
import os

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")
# x86 flags (as /proc/cpuinfo names them) of native bfloat16 arithmetic.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
ENV_VAR = "MMCNN_PRECISION"


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
