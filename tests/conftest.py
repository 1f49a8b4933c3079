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


# --- which tests are slow ------------------------------------------------------------------
#
# A test is `slow` by what it does, read from its source and from the source of the helpers and
# fixtures it uses (functions written under tests/ or in mmcnn.testing, followed through calls):
# it starts a process (the CLI, a serving process, a cluster's workers), or it fits models more
# than once (two trainings compared, an interrupted run resumed, a warm start from a trained
# source). One fit of a tiny model is quick and stays in the quick loop. `-m "not slow"` skips
# the slow ones; CI runs everything. A module's `pytestmark = pytest.mark.slow` still marks a
# whole file by hand.

FIT_CALLS = frozenset({"fit", "tune", "train_run"})  # a call of one of these names trains a model
PROCESS_MODULES = frozenset({"subprocess", "multiprocessing"})  # a call into these starts a process
SLOW_FITS = 2  # this many fits (a fit in a loop counts twice; `epochs=1` and refused calls none) are slow
_HELPER_ROOTS = (
    pathlib.Path(__file__).resolve().parent,
    pathlib.Path(__file__).resolve().parents[1] / "mmcnn" / "testing",
)


@dataclasses.dataclass
class Cost:
    fits: int = 0
    processes: int = 0

    def __add__(self, other):
        return Cost(self.fits + other.fits, self.processes + other.processes)

    def __mul__(self, times):
        return Cost(self.fits * times, self.processes * times)

    @property
    def slow(self):
        return self.processes > 0 or self.fits >= SLOW_FITS


def _is_helper(obj):
    """A function (or class) written in the tests or in mmcnn.testing: followed into."""
    if not (inspect.isfunction(obj) or inspect.ismethod(obj)):
        return False
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


def _expects_an_error(expression):
    return isinstance(expression, ast.Call) and _called_name(expression)[1] == "raises"


def _one_epoch(call):
    """`fit(..., epochs=1)`: a few steps on a test's few examples, not a training."""
    return any(
        keyword.arg == "epochs" and isinstance(keyword.value, ast.Constant) and keyword.value.value == 1
        for keyword in call.keywords
    )


_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def cost_of(function, _active=None):
    """What calling `function` does: how many models it fits and processes it starts (`Cost`)."""
    function = inspect.unwrap(function)
    active = _active if _active is not None else set()
    node = _definition(function)
    if node is None or function in active:
        return Cost()
    active.add(function)
    namespace = getattr(function, "__globals__", {})
    try:
        return _cost_of_body(node.body, namespace, {}, active)
    finally:
        active.discard(function)


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
    if isinstance(node, ast.With) and any(_expects_an_error(item.context_expr) for item in node.items):
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
        elif name in FIT_CALLS and not _one_epoch(node):
            total = total + Cost(fits=times)
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
