"""The README's layer example runs when copied alone into a fresh interpreter."""

import pathlib
import re
import subprocess
import sys

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_layer_example_is_complete(tmp_path):
    (block,) = [b for b in python_blocks() if "ConvBlock" in b and "Sequential" in b]
    result = subprocess.run(
        [sys.executable, "-c", block], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # It prints both tables of the inspector.
    assert "jump" in result.stdout and "macs" in result.stdout
