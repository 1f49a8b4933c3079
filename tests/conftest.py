"""Test-wide settings.

`precision="auto"` picks bfloat16 on machines that compute it natively (AMX,
AVX512-BF16, recent GPUs) and float32 elsewhere; CI machines differ between
sessions. The suite pins "auto" to float32 (`MMCNN_PRECISION`, inherited by
the subprocesses of CLI tests) so that it checks the same numbers everywhere;
tests of the precision choice itself pass `precision=` or inject the hardware.

On small data `fit` raises a preset's epochs (`mmcnn.models.schedule`): up to
200 epochs on the few dozen examples of a test. The suite keeps the presets'
schedules (`MMCNN_SCHEDULE=preset`); tests of the adaptation unset it.
"""

import ast
import builtins
import dataclasses
import functools
import inspect
import os
import pathlib
import tempfile
import textwrap

import pytest

os.environ.setdefault("MMCNN_PRECISION", "float32")
os.environ.setdefault("MMCNN_SCHEDULE", "preset")
# What "auto" precision measures is cached per machine (`mmcnn.models.precision.cache_dir`): in a
# folder of this session's, never the user's cache.
os.environ.setdefault("MMCNN_CACHE_DIR", tempfile.mkdtemp(prefix="mmcnn-test-cache-"))


def pytest_configure(config):
    """One TensorFlow thread per operation in each xdist worker: `./run test` runs as many workers
    as the machine has cores, and each worker's tiny models gain nothing from a second thread that
    only contends with the other worker's. Set in this process only (subprocesses keep
    TensorFlow's defaults), before TensorFlow starts its runtime.

    Then, in every process that runs tests, TensorFlow finds its devices now, before any test
    captures output: on a machine with CUDA's libraries but no GPU that search logs a
    `cuInit` error once per process, which would otherwise land in whichever test came first
    and fail one that asserts a quiet stderr (a verdict that would depend on test order)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker or not getattr(config.option, "numprocesses", None):
        import tensorflow as tf

        if worker:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.list_physical_devices()


# --- which tests are slow ------------------------------------------------------------------
#
# A test is `slow` by what it does, read from its source and from the source of the helpers and
# fixtures it uses (functions written under tests/ or in mmcnn.testing, followed through calls):
# - it starts a process (the CLI, a serving process, a cluster's workers, Chromium, node);
# - it fits models more than once (two trainings compared, an interrupted run resumed), or fits a
#   warm-started one (`init_from=` or `backbone=`: a fit in phases, frozen then all layers);
# - it converts a model to a LiteRT or ONNX file (`export_litert`, `export_onnx`, `export(...,
#   format="litert" | "onnx" | "web")`), or runs one in an edge runtime (LiteRT, MediaPipe,
#   onnxruntime);
# - it builds a `keras.applications` network (MobileNet and the like: seconds per build);
# - it makes a whole run (`train_run`: a fit, then the evaluation, the SavedModel export and the
#   report), or compiles a model with XLA (`jit_compile=True`: seconds per compilation).
# One fit of a tiny model is quick and stays in the quick loop. `-m "not slow"` skips the slow
# ones; CI runs everything. A module's `pytestmark = pytest.mark.slow` still marks a whole file by
# hand.

FIT_CALLS = frozenset({"fit", "tune", "train_run"})  # a call of one of these names trains a model
RUN_CALLS = frozenset({"train_run"})  # a call of one of these makes a whole run (fit, evaluate, export)
PROCESS_MODULES = frozenset({"subprocess", "multiprocessing"})  # a call into these starts a process
EXPORT_CALLS = frozenset({"export_litert", "export_onnx"})  # a call of one of these converts a model
EXPORT_FORMATS = frozenset({"litert", "onnx", "web"})  # `format=` of a converting export
WARM_START_ARGUMENTS = frozenset({"init_from", "backbone"})  # a classifier made with one fits in phases
# A call into one of these runs a converted model, or builds a large network.
RUNTIME_MODULES = ("ai_edge_litert", "mediapipe", "onnxruntime", "tensorflow.lite")
NETWORK_MODULES = ("keras.applications", "keras.src.applications")
SLOW_FITS = 2  # this many fits (a fit in a loop counts twice; `epochs=1` and refused calls none) are slow
_HELPER_ROOTS = (
    pathlib.Path(__file__).resolve().parent,
    pathlib.Path(__file__).resolve().parents[1] / "mmcnn" / "testing",
)


@dataclasses.dataclass
class Cost:
    fits: int = 0
    processes: int = 0
    exports: int = 0  # LiteRT / ONNX conversions
    runtimes: int = 0  # calls into an edge runtime, or builds of a keras.applications network
    warm_starts: int = 0  # classifiers made with `init_from=` or `backbone=`
    warm_fits: int = 0  # fits in a function that also makes a warm-started classifier
    runs: int = 0  # whole runs (`train_run`)
    xla: int = 0  # calls with `jit_compile=True`

    def __add__(self, other):
        return Cost(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))

    def __mul__(self, times):
        return Cost(*(a * times for a in dataclasses.astuple(self)))

    @property
    def slow(self):
        return bool(
            self.processes
            or self.exports
            or self.runtimes
            or self.warm_fits
            or self.runs
            or self.xla
            or self.fits >= SLOW_FITS
        )


def _is_helper(obj):
    """A function written in the tests or in mmcnn.testing: followed into."""
    return (inspect.isfunction(obj) or inspect.ismethod(obj)) and _written_in_the_tests(obj)


def _written_in_the_tests(obj):
    """Whether `obj` (a function or class) is written under tests/ or in mmcnn.testing."""
    try:
        path = pathlib.Path(inspect.getsourcefile(inspect.unwrap(obj))).resolve()
    except (TypeError, ValueError):
        return False
    return any(root in path.parents for root in _HELPER_ROOTS)


@functools.cache
def _definition(function):
    """The `def` of `function` as an AST node, or None when its source cannot be read."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None
    node = ast.parse(source).body[0]
    return node if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def _called_name(call):
    """`(base, name)` of a call: `subprocess.run(x)` is ("subprocess", "run"), `fit(x)` is (None, "fit")."""
    func = call.func
    if isinstance(func, ast.Name):
        return None, func.id
    if isinstance(func, ast.Attribute):
        return (func.value.id if isinstance(func.value, ast.Name) else None), func.attr
    return None, None


def _module_of_call(call, namespace):
    """The dotted name a call reaches, from the module its root name is bound to, or None:
    `ort.InferenceSession(...)` is "onnxruntime.InferenceSession" after `import onnxruntime as ort`;
    `Interpreter(...)` is "ai_edge_litert.interpreter.Interpreter" after a `from ... import`."""
    parts, func = [], call.func
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    root = namespace.get(func.id)
    if root is None:
        return None
    if inspect.ismodule(root):
        prefix = root.__name__
    else:
        prefix = f"{getattr(root, '__module__', None)}.{func.id}"
    return ".".join([prefix, *reversed(parts)])


def _within(name, modules):
    return name is not None and any(name == m or name.startswith(m + ".") for m in modules)


def _converting_export(call, name):
    """`export_litert(...)`, `export_onnx(...)` or `export(..., format="litert" | "onnx" | "web")`."""
    if name in EXPORT_CALLS:
        return True
    return any(
        keyword.arg == "format"
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value in EXPORT_FORMATS
        for keyword in call.keywords
    )


def _warm_start(call):
    """A call with `init_from=` or `backbone=` other than None."""
    return any(
        keyword.arg in WARM_START_ARGUMENTS
        and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None)
        for keyword in call.keywords
    )


def _expects_an_error(expression, namespace):
    """`pytest.raises(E)` where `E` refuses the call before it works: not `KeyboardInterrupt`, nor an
    exception class of the tests' own (a callback's, interrupting a run after some epochs)."""
    if not (isinstance(expression, ast.Call) and _called_name(expression)[1] == "raises" and expression.args):
        return False
    error = expression.args[0]
    if not isinstance(error, ast.Name):
        return True
    if error.id == "KeyboardInterrupt":
        return False
    found = namespace.get(error.id, getattr(builtins, error.id, None))
    return found is not None and not _written_in_the_tests(found)


def _compiles_with_xla(call):
    """A call with `jit_compile=True` (`compile`, a `tf.function`): XLA compiles the model."""
    return any(
        keyword.arg == "jit_compile"
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value is True
        for keyword in call.keywords
    )


def _one_epoch(call):
    """`fit(..., epochs=1)`: a few steps on a test's few examples, not a training."""
    return any(
        keyword.arg == "epochs" and isinstance(keyword.value, ast.Constant) and keyword.value.value == 1
        for keyword in call.keywords
    )


_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


_COSTS = {}  # function -> its Cost, for those read without meeting a call back into an unfinished one
_CYCLES = [0]  # how many times a function was met while its own cost was being read


def cost_of(function, _active=None):
    """What calling `function` does: the models it fits, processes it starts, files it converts (`Cost`).

    A fit in a function that also makes a warm-started classifier is a warm fit (`warm_fits`)."""
    function = inspect.unwrap(function)
    if function in _COSTS:
        return _COSTS[function]
    active = _active if _active is not None else set()
    node = _definition(function)
    if function in active:
        _CYCLES[0] += 1
        return Cost()
    if node is None:
        return Cost()
    active.add(function)
    namespace = getattr(function, "__globals__", {})
    cycles = _CYCLES[0]
    try:
        total = _cost_of_body(node.body, namespace, {}, active)
    finally:
        active.discard(function)
    if total.warm_starts and total.fits:
        total = dataclasses.replace(total, warm_fits=max(total.warm_fits, total.fits))
    if _CYCLES[0] == cycles:  # complete: the same wherever it is called from
        _COSTS[function] = total
    return total


def _cost_of_body(body, namespace, local_defs, active, times=1):
    total = Cost()
    local_defs = dict(local_defs)
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            local_defs[statement.name] = statement  # counted where it is called
            continue
        total = total + _cost_of_node(statement, namespace, local_defs, active, times)
    return total


def _cost_of_node(node, namespace, local_defs, active, times):
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
        return Cost()  # a nested definition costs nothing until it is called
    if isinstance(node, _LOOPS):
        times = 2
    if isinstance(node, ast.With) and any(
        _expects_an_error(item.context_expr, namespace) for item in node.items
    ):
        times = 0  # `with pytest.raises(...)`: the call is refused before it does its work
    total = Cost()
    if isinstance(node, ast.Call):
        base, name = _called_name(node)
        target = namespace.get(name) if base is None else None
        if base is None and name in local_defs:
            local = local_defs[name]
            if local not in active:  # a recursive local function counts once
                active.add(local)
                total = total + _cost_of_body(local.body, namespace, local_defs, active) * times
                active.discard(local)
        elif target is not None and _is_helper(target):
            total = total + cost_of(target, active) * times
        elif base in PROCESS_MODULES or getattr(target, "__module__", None) in PROCESS_MODULES:
            total = total + Cost(processes=times)
        elif name in FIT_CALLS:
            fits = 0 if _one_epoch(node) else times
            total = total + Cost(fits=fits, runs=times if name in RUN_CALLS else 0)
        elif _converting_export(node, name):
            total = total + Cost(exports=times)
        elif _within(_module_of_call(node, namespace), RUNTIME_MODULES + NETWORK_MODULES):
            total = total + Cost(runtimes=times)
        if _warm_start(node):
            total = total + Cost(warm_starts=times)
        if _compiles_with_xla(node):
            total = total + Cost(xla=times)
    for child in ast.iter_child_nodes(node):
        total = total + _cost_of_node(child, namespace, local_defs, active, times)
    return total


def cost_of_test(item):
    """What a collected test does, with the fixtures it requests (each counted once)."""
    total = cost_of(item.function) if hasattr(item, "function") else Cost()
    fixture_info = getattr(item, "_fixtureinfo", None)
    for definitions in getattr(fixture_info, "name2fixturedefs", {}).values():
        fixture = definitions[-1].func
        if _is_helper(fixture):
            total = total + cost_of(fixture)
    return total


def pytest_collection_modifyitems(config, items):
    for item in items:
        if cost_of_test(item).slow:
            item.add_marker(pytest.mark.slow)
