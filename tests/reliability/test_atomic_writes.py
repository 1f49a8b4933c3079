"""A write that fails part-way (the disk fills) leaves the previous good file whole, and says so.

The disk filling up is made real with RLIMIT_FSIZE in a child process: every
write past the limit fails with EFBIG, as on a full disk, part-way through
the file.
"""

import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.slow

SCRIPT = textwrap.dedent(
    r"""
    import os, resource, signal, sys
    import numpy as np
    import mmcnn, mmcnn.image

    folder = sys.argv[1]
    make = lambda seed: mmcnn.image.ImageClassifier(
        class_names=["a", "b"], image_size=(8, 8), channels=1, preset="tiny", seed=seed)
    good, other = make(0), make(1)
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 1)).astype("float32")
    keras_path = os.path.join(folder, "model.keras")
    export_path = os.path.join(folder, "export")
    good.save(keras_path)
    good.export(export_path)
    before = good.predict_proba(x)

    # From here on every file may hold at most a third of the model file: writes fail part-way.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(keras_path) // 3, resource.RLIM_INFINITY))
    errors = {}
    try:
        other.save(keras_path)
    except OSError as error:
        errors["save"] = str(error)
    try:
        other.export(export_path, overwrite=True)
    except (OSError, mmcnn.export.ExportError) as error:
        errors["export"] = str(error)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    reloaded = mmcnn.load(keras_path).predict_proba(x)
    import tensorflow as tf
    served = tf.saved_model.load(export_path).signatures["features"](pixels=tf.constant(x))["probabilities"]
    print("ERRORS", errors)
    print("KERAS_SAME", bool(np.allclose(reloaded, before, atol=1e-6)))
    print("EXPORT_SAME", bool(np.allclose(served.numpy(), before, atol=1e-5)))
    print("LEFTOVERS", sorted(n for n in os.listdir(folder) if n.startswith(".")))
    """
)


def test_a_failed_write_keeps_the_previous_model_and_export(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "'save': " in out and "the previous file is unchanged" in out  # says what happened
    assert "'export': 'could not write the export" in out and "the previous export is unchanged" in out
    assert "KERAS_SAME True" in out and "EXPORT_SAME True" in out
    assert "LEFTOVERS []" in out
