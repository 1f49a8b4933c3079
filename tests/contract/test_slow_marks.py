"""The rule of tests/conftest.py that marks a test `slow` by what it does (read, never run here).

The functions below are only read by the rule: they are never called.
"""

import pathlib
import subprocess
import sys

import keras
import onnxruntime
import pytest
from mediapipe.tasks.python import audio

import mmcnn
from mmcnn.export import export_litert


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


class Interrupt(Exception):
    """What a test's callback raises to stop a run after some epochs."""


def an_interrupted_fit_resumed(clf, data):
    with pytest.raises(KeyboardInterrupt):
        clf.fit(data)  # trains until a callback interrupts it
    clf.fit(data)


def a_fit_stopped_by_the_tests_exception(clf, data):
    with pytest.raises(Interrupt):
        clf.fit(data)
    with pytest.raises(ValueError):
        clf.fit(data[:0])


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


def exports_litert(clf, path):
    export_litert(clf, path)


def exports_onnx_by_format(clf, path):
    clf.export(path, format="onnx")


def exports_a_saved_model_and_refuses_a_conversion(clf, path):
    clf.export(path)
    with pytest.raises(ValueError):
        clf.export(path, format="litert")


def runs_onnxruntime(path):
    return onnxruntime.InferenceSession(path)


def runs_mediapipe(path):
    return audio.AudioClassifier.create_from_model_path(path)


def builds_a_keras_application():
    return keras.applications.MobileNetV3Small(input_shape=(32, 32, 3), weights=None)


def makes_a_run(config):
    mmcnn.runs.train_run(config, epochs=1)


def compiles_with_xla(model):
    model.compile("sgd", "mse", jit_compile=True)


def compiles_without_xla(model):
    model.compile("sgd", "mse", jit_compile=False)


def fits_a_warm_start(data, path):
    clf = mmcnn.image.ImageClassifier(num_classes=2, init_from=path)
    clf.fit(data)


def fits_a_given_backbone(data, net):
    mmcnn.image.ImageClassifier(num_classes=2, backbone=net).fit(data)


def warm_starts_without_a_fit(path):
    return mmcnn.image.ImageClassifier(num_classes=2, init_from=path, backbone=None)


def fits_without_a_warm_start(data):
    mmcnn.image.ImageClassifier(num_classes=2, backbone=None).fit(data)


@pytest.mark.parametrize(
    "function, fits, processes, slow",
    [
        (one_fit, 1, 0, False),
        (two_fits, 2, 0, True),
        (fits_in_a_loop, 2, 0, True),
        (two_one_epoch_steps, 0, 0, False),
        (a_fit_and_refused_fits, 1, 0, False),
        (an_interrupted_fit_resumed, 2, 0, True),
        (a_fit_stopped_by_the_tests_exception, 1, 0, False),
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


@pytest.mark.parametrize(
    "function, exports, runtimes, warm_fits, slow",
    [
        (exports_litert, 1, 0, 0, True),
        (exports_onnx_by_format, 1, 0, 0, True),
        (exports_a_saved_model_and_refuses_a_conversion, 0, 0, 0, False),
        (runs_onnxruntime, 0, 1, 0, True),
        (runs_mediapipe, 0, 1, 0, True),
        (builds_a_keras_application, 0, 1, 0, True),
        (fits_a_warm_start, 0, 0, 1, True),
        (fits_a_given_backbone, 0, 0, 1, True),
        (warm_starts_without_a_fit, 0, 0, 0, False),
        (fits_without_a_warm_start, 0, 0, 0, False),
    ],
)
def test_conversions_edge_runtimes_networks_and_warm_fits_are_read(
    rule, function, exports, runtimes, warm_fits, slow
):
    cost = rule.cost_of(function)
    assert (cost.exports, cost.runtimes, cost.warm_fits, cost.slow) == (exports, runtimes, warm_fits, slow)


@pytest.mark.parametrize(
    "function, runs, xla, slow",
    [(makes_a_run, 1, 0, True), (compiles_with_xla, 0, 1, True), (compiles_without_xla, 0, 0, False)],
)
def test_whole_runs_and_xla_compilations_are_read(rule, function, runs, xla, slow):
    cost = rule.cost_of(function)
    assert (cost.runs, cost.xla, cost.slow) == (runs, xla, slow)


def test_a_fixture_that_fits_and_a_test_that_warm_starts_from_it_stay_quick(rule):
    # The fit trains the source (once per module); the warm start only copies its weights.
    cost = rule.cost_of(one_fit) + rule.cost_of(warm_starts_without_a_fit)
    assert (cost.fits, cost.warm_starts, cost.warm_fits, cost.slow) == (1, 1, 0, False)


def test_a_function_is_read_once(rule):
    first = rule.cost_of(a_helper_twice)
    assert rule.cost_of(a_helper_twice) is first  # cached: the hook reads each helper once per session
    assert rule.cost_of(recursive) is not rule.cost_of(recursive)  # a cycle is not cached


@pytest.fixture
def a_process():
    """Starts a process (a bare Python, a fraction of a second): the tests that use it are slow."""
    return subprocess.run([sys.executable, "-c", "pass"], check=True).returncode


def test_the_hook_marks_a_test_by_its_fixtures(rule, request, a_process):
    # This test does nothing slow itself; the fixture it asks for starts a process.
    assert rule.cost_of(test_the_hook_marks_a_test_by_its_fixtures).processes == 0
    assert rule.cost_of_test(request.node).processes == 1
    assert request.node.get_closest_marker("slow") is not None  # so `-m "not slow"` skips it
