"""Every docstring example in mmcnn runs (STYLE: docstrings that run)."""

import doctest
import importlib
import pkgutil

import pytest

import mmcnn

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(mmcnn.__path__, "mmcnn.")
    if not name.startswith("mmcnn.demo_data")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
