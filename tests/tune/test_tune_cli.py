"""`mmcnn tune` on the command line, then `mmcnn train --config best.toml` and `mmcnn evaluate` (README)."""

import json
import subprocess
import sys

import pytest
from conftest import make_images

# Subprocesses of the whole command line or of TensorFlow: part of `./run test`, not of the
# quick `-m "not slow"` loop.
pytestmark = pytest.mark.slow

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

MMCNN = [sys.executable, "-m", "mmcnn.cli"]


def run(*args, check=True, timeout=300):
    result = subprocess.run([*MMCNN, *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"mmcnn {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


@pytest.mark.slow
def test_tune_then_train_with_best_toml_then_evaluate(tmp_path):
    train = make_images(tmp_path / "train", 10)
    val = make_images(tmp_path / "val", 4, seed=1)
    test = make_images(tmp_path / "test", 4, seed=2)
    space = tmp_path / "space.toml"
    space.write_text('[preset]\nvalues = ["tiny"]\n\n[augmentation]\nvalues = ["none", "light"]\n')
    out = tmp_path / "search"
    fixed = [
        "--set",
        "image_size=[12,12]",
        "--set",
        "channels=1",
        "--set",
        "epochs=2",
        "--set",
        "batch_size=8",
    ]
    tuned = run(
        "tune", "image", "--train", str(train), "--val", str(val), "--out", str(out), "--budget", "2",
        "--space", str(space), *fixed,
    )  # fmt: skip
    assert "running 1 trial at a time on" in tuned.stderr
    assert tuned.stderr.count("-> validation accuracy") == 2
    assert "best: trial" in tuned.stdout and str(out / "best.toml") in tuned.stdout
    assert (out / "report" / "trials.csv").exists()

    # best.toml goes to `mmcnn train --config` unchanged.
    run_dir = tmp_path / "run"
    run("train", "image", "--config", str(out / "best.toml"), "--train", str(train), "--val", str(val),
        "--out", str(run_dir))  # fmt: skip
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["validation"]["accuracy"] <= 1.0
    # The run trained the settings of best.toml.
    best = tomllib.loads((out / "best.toml").read_text())
    trained = json.loads((run_dir / "config.json").read_text())["classifier"]
    for key, value in {**best.pop("classifier"), **best}.items():
        if key not in ("seed",):
            assert trained[key] == value, key

    evaluated = run("evaluate", str(run_dir), "--data", str(test), "--json")
    assert json.loads(evaluated.stdout)["num_examples"] == 8


def test_a_bad_space_is_one_line_naming_the_knob(tmp_path):
    make_images(tmp_path / "train", 2)
    space = tmp_path / "space.toml"
    space.write_text("[learning_rate]\nmin = 0.1\nmax = 0.001\n")
    result = run(
        "tune", "image", "--train", str(tmp_path / "train"), "--out", str(tmp_path / "s"), "--budget", "1",
        "--space", str(space), check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        "mmcnn: error: space: `learning_rate` is an impossible range: min (0.1) > max (0.001)"
        in result.stderr
    )
    assert not (tmp_path / "s").exists()
