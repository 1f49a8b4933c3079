"""The modalities are the `mmcnn.modalities` entry points: `mmcnn`'s lazy attributes read them."""

import logging
import os
import pathlib
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

import mmcnn
from mmcnn.models import registry
from mmcnn.runs import read_toml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_modality_modules_reads_the_entry_points_it_is_given(caplog):
    entry_points = [
        EntryPoint("sensor", "my_package.sensor", registry.ENTRY_POINT_GROUP),
        EntryPoint("radar", "my_package.radar:RadarClassifier", registry.ENTRY_POINT_GROUP),
        EntryPoint("not-a-name", "my_package.other", registry.ENTRY_POINT_GROUP),
    ]
    with caplog.at_level(logging.WARNING, logger="mmcnn"):
        modules = registry.modality_modules(entry_points)
    assert modules == {"radar": "my_package.radar", "sensor": "my_package.sensor"}
    assert "'not-a-name'" in caplog.text and "Python identifier" in caplog.text


def test_the_declared_modalities_are_the_installed_ones_and_lazy_attributes_of_mmcnn():
    declared = read_toml(ROOT / "pyproject.toml")["project"]["entry-points"]
    # A stale install (an entry point added to pyproject.toml, not reinstalled) fails here.
    assert registry.modality_modules() == dict(sorted(declared[registry.ENTRY_POINT_GROUP].items()))
    for name in registry.modality_modules():
        assert name in mmcnn.__all__ and name in dir(mmcnn)
    assert mmcnn.image is sys.modules["mmcnn.image"]


@pytest.mark.slow
def test_a_modality_of_another_distribution_is_a_lazy_attribute_of_mmcnn(tmp_path):
    # An installed distribution, as site-packages holds it: a module and its .dist-info.
    (tmp_path / "sensor_modality.py").write_text("SIGNAL = 'sensor'\n")
    info = tmp_path / "sensor_modality-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sensor-modality\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[mmcnn.modalities]\nsensor = sensor_modality\n")
    script = textwrap.dedent(
        """
        import sys
        import mmcnn
        print("sensor" in mmcnn.__all__, "sensor" in dir(mmcnn))
        print("sensor_modality" in sys.modules, "mmcnn.image" in sys.modules)
        print(mmcnn.sensor.SIGNAL, mmcnn.image.__name__)
        """
    )
    path = os.pathsep.join([str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    # Listed, and imported only on first use (the modality's and mmcnn's own).
    assert result.stdout.split("\n")[:3] == ["True True", "False False", "sensor mmcnn.image"]
