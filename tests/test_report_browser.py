"""A run's report opened in a real browser (headless Chromium, no network): every picture loads.

Chromium comes from Debian's `chromium` package, which `./run test` installs
where it is missing (as root); the test is skipped, saying so, where no
Chromium can be had.
"""

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from mmcnn import runs

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Appended to a copy of index.html: once every image has loaded (or failed), write what each got.
PROBE = """
<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images).map(i => [i.getAttribute("src"), i.naturalWidth]);
  const out = document.createElement("pre");
  out.id = "probe";
  out.textContent = JSON.stringify(images);
  document.body.appendChild(out);
});
</script>
"""


def make_images(root, per_class, seed):
    rng = np.random.default_rng(seed)
    for name, base in (("dark", 60), ("bright", 190)):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(base, 40, (12, 12)), 0, 255).astype("uint8")
            Image.fromarray(pixels).save(folder / f"{i}.png")


@pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium: `apt-get install chromium` (./run test does as root)"
)
def test_every_picture_of_the_report_loads_in_chromium(tmp_path):
    make_images(tmp_path / "train", 16, seed=0)
    make_images(tmp_path / "test", 6, seed=1)
    config = runs.resolve_train_config(
        "image",
        {"train": str(tmp_path / "train"), "test": str(tmp_path / "test"), "out": str(tmp_path / "run"),
         "preset": "tiny", "epochs": 2, "batch_size": 8},
        settings=["image_size=[12,12]", "channels=1", "augmentation='none'"],
    )  # fmt: skip
    runs.train_run(config, verbose=0)
    report = tmp_path / "run" / "report"
    page = (report / "index.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img[^>]+src="([^"]+)"', page)
    assert len(sources) >= 4, sources
    (report / "probe.html").write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--allow-file-access-from-files",
         "--virtual-time-budget=10000", "--dump-dom", (report / "probe.html").as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)},
    )  # fmt: skip
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, flags=re.S)
    assert found, f"Chromium printed no probe result:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    loaded = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert [src for src, _ in loaded] == sources
    broken = [src for src, width in loaded if width <= 0]
    assert broken == [], f"images that did not load: {broken}"
