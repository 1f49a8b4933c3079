"""What `mmcnn explain` does: one Grad-CAM picture per input, and a row per input saying what it holds.

Inputs are what `mmcnn predict` takes (files, folders, CSV manifests, or texts
for text models). Each picture (`plot_explanation`) shows the input, where
the evidence for the explained class lies, and the three most probable
classes. An unreadable input costs no other: it gets a row with an `error`.
"""

import logging
import os
import re

from mmcnn.runs.predict import _error_row, sort_inputs

logger = logging.getLogger("mmcnn.runs")

CHUNK = 16  # inputs per explain call


def _png_name(index, source, is_text):
    if is_text:
        stem = "text"
    else:
        stem = os.path.splitext(os.path.basename(str(source)))[0] or "input"
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem)[:60]
    return f"{index:04d}_{stem}.png"


def explain_rows(clf, inputs, out_dir, class_name=None):
    """Writes one PNG per input into `out_dir`; returns one row per input.

    Args:
        clf: a trained classifier (`mmcnn.runs.load_run`).
        inputs: files, folders, `.csv` manifests, or texts for a text model.
        out_dir: the folder for the pictures (created if needed).
        class_name: the class to explain (default: each input's most probable).

    Returns:
        A list of dicts: `input`, `png` (the picture's path, None on error),
        `class_name` (the class explained), `top_k` (3 `[name, probability]`)
        and `error` (None when explained).
    """
    from mmcnn.report import plot_explanation

    if class_name is not None and class_name not in clf.class_names:
        raise ValueError(
            f"--class {class_name!r}: not a class of this model; its classes are {clf.class_names}"
        )
    os.makedirs(out_dir, exist_ok=True)
    sources, items, rows, readable = sort_inputs(clf, inputs)
    is_text = clf.modality == "text"

    def write(indices):
        explanation = clf.explain([items[i] for i in indices], class_name=class_name)
        for k, i in enumerate(indices):
            text_input = is_text and not os.path.isfile(sources[i])
            path = os.path.join(out_dir, _png_name(i, sources[i], text_input))
            title = items[i] if text_input else sources[i]
            plot_explanation(explanation, k, source=title).savefig(path)
            rows[i] = {
                "input": sources[i],
                "png": path,
                "class_name": explanation["class_names"][k],
                "top_k": [[name, float(p)] for name, p in explanation["top_k"][k]],
                "error": None,
            }

    for start in range(0, len(readable), CHUNK):
        chunk = readable[start : start + CHUNK]
        try:
            write(chunk)
        except Exception:  # noqa: BLE001 - find the bad inputs one at a time
            for i in chunk:
                try:
                    write([i])
                except Exception as error:  # noqa: BLE001 - reported in the row
                    message = (
                        str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    )
                    rows[i] = {**_error_row(sources[i], message), "png": None, "class_name": None}
    for row in rows:
        row.setdefault("png", None)
        row.setdefault("class_name", None)
        if row["error"]:
            logger.warning("could not explain %s: %s", row["input"], row["error"])
    return rows
