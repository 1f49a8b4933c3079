"""The rule of tests/conftest.py that marks a test `slow` by what it does (read, never run here).

The functions below are only read by the rule: they are never called.
"""

import pathlib
import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def rule(pytestconfig):
    """The suite's top conftest.py (a conftest is a plugin, not an importable module)."""
    path = pathlib.Path(__file__).resolve().parents[1] / "conftest.py"
    return next(
        plugin
        for plugin in pytestconfig.pluginmanager.get_plugins()
        if getattr(plugin, "__file__", None) and pathlib.Path(plugin.__file__).resolve() == path
    )


def one_fit(clf, data):
    clf.fit(data)


def two_fits(clf, data):
    clf.fit(data)
    clf.fit(data)


def fits_in_a_loop(classifiers, data):
    for clf in classifiers:
        clf.fit(data)


def two_one_epoch_steps(model, x, y):
    model.fit(x, y, epochs=1)
    model.fit(x, y, epochs=1)


def a_fit_and_refused_fits(clf, data):
    clf.fit(data)
    with pytest.raises(ValueError):
        clf.fit(data[:0])
    with pytest.raises(ValueError):
        clf.tune(data[:0])


def a_helper_twice(clf, data):
    one_fit(clf, data)
    one_fit(clf, data)


def a_local_helper_twice(clf, data):
    def train():
        return clf.fit(data)

    return train(), train()


def starts_the_cli():
    subprocess.run([sys.executable, "-m", "mmcnn.cli", "--help"], check=True)


def a_helper_that_starts_a_process():
    starts_the_cli()


def recursive(n):
    return recursive(n - 1) if n else None


@pytest.mark.parametrize(
    "function, fits, processes, slow",
    [
        (one_fit, 1, 0, False),
        (two_fits, 2, 0, True),
        (fits_in_a_loop, 2, 0, True),
        (two_one_epoch_steps, 0, 0, False),
        (a_fit_and_refused_fits, 1, 0, False),
        (a_helper_twice, 2, 0, True),
        (a_local_helper_twice, 2, 0, True),
        (starts_the_cli, 0, 1, True),
        (a_helper_that_starts_a_process, 0, 1, True),
        (recursive, 0, 0, False),
    ],
)
def test_what_a_function_does_is_read_from_its_source(rule, function, fits, processes, slow):
    cost = rule.cost_of(function)
    assert (cost.fits, cost.processes, cost.slow) == (fits, processes, slow)


@pytest.fixture
def a_process():
    """Starts a process (a bare Python, a fraction of a second): the tests that use it are slow."""
    return subprocess.run([sys.executable, "-c", "pass"], check=True).returncode


def test_the_hook_marks_a_test_by_its_fixtures(rule, request, a_process):
    # This test does nothing slow itself; the fixture it asks for starts a process.
    assert rule.cost_of(test_the_hook_marks_a_test_by_its_fixtures).processes == 0
    assert rule.cost_of_test(request.node).processes == 1
    assert request.node.get_closest_marker("slow") is not None  # so `-m "not slow"` skips it
