"""`mmcnn train` on a folder full of broken images: every skipped path lands in metrics.json."""

import json
import subprocess
import sys

import pytest
from bad_files import image_tree, refused_images

# Subprocesses of the whole command line or of TensorFlow: part of `./run test`, not of the
# quick `-m "not slow"` loop.
pytestmark = pytest.mark.slow


def test_skipped_paths_land_in_metrics_json(tmp_path):
    root = image_tree(tmp_path / "train")
    for c in ("a", "b"):  # enough good images for the stratified validation split
        for i in range(3, 8):
            (root / c / f"more{i}.png").write_bytes((root / c / "good0.png").read_bytes())
    out = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmcnn.cli",
            "train",
            "image",
            "--train",
            str(root),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--preset",
            "tiny",
            "--batch-size",
            "8",
            "--set",
            "image_size=[16,16]",
            "--set",
            "channels=1",
            "--set",
            "augmentation='none'",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    skipped = metrics["skipped"]["train"] + metrics["skipped"]["val"]
    assert sorted(path for path, _ in skipped) == refused_images(root)
    assert all(reason for _, reason in skipped)
    # The log names each file too, and the summary counts them.
    for path in refused_images(root):
        assert path in result.stderr
    assert f"{len(refused_images(root))} bad files skipped" in result.stdout + result.stderr
