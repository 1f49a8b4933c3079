"""MirroredStrategy on one host: two logical CPU devices train like one device."""

import json
import os
import subprocess
import sys

import dist_common as common
import numpy as np
import pytest

# Subprocesses of the whole command line or of TensorFlow: part of `./run test`, not of the
# quick `-m "not slow"` loop.
pytestmark = pytest.mark.slow


def mirrored_result(tmp_path, *args):
    """Runs mirrored_script.py on the test images (with `args`) and returns its RESULT line's JSON."""
    common.write_images(str(tmp_path / "images"))
    done = subprocess.run(
        [sys.executable, os.path.join(common.HERE, "mirrored_script.py"), str(tmp_path / "images"), *args],
        env=common._environment(),
        capture_output=True,
        text=True,
        timeout=common.WORKER_TIMEOUT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(lines[-1][len("RESULT ") :])


def test_two_logical_cpus_train_like_one_device(tmp_path):
    result = mirrored_result(tmp_path)
    assert result["replicas"] == 2
    np.testing.assert_allclose(result["mirrored_loss"], result["single_loss"], rtol=1e-4)
    for diff, scale in zip(result["diffs"], result["scales"]):
        assert diff <= 5e-3 + 1e-2 * scale, result


def test_a_table_trains_under_the_strategy(tmp_path):
    result = mirrored_result(tmp_path, "table")
    assert result["replicas"] == 2
    assert result["columns"] == {"photo": "image", "title": "text", "level": "number"}
    assert np.all(np.isfinite(result["loss"])) and result["loss"][-1] < result["loss"][0]
    assert result["accuracy"] >= 0.9  # the title says the class
