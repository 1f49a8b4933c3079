"""What `mmcnn predict` does: every readable input gets a prediction, every other one a reason.

Inputs are files, folders (searched recursively for the modality's file
types), CSV manifests (`path` or `text` column) or, for text models, texts.
One unreadable file never costs the others: it becomes a row with an `error`.
`embed_rows` / `write_embeddings` are `mmcnn predict --embed`: one feature
vector per input (a NaN row for an unreadable one) in a `.npy` file.
"""

import logging
import os

import numpy as np

logger = logging.getLogger("mmcnn.runs")

CHUNK = 64  # inputs per predict call


def expand_inputs(clf, inputs):
    """Files, folders and manifests -> `(sources, items)`: one source name and one raw input each.

    Folders are searched recursively for `clf.input_extensions`; a `.csv`
    manifest gives its `path` column (relative to the manifest) or, for text
    models, its `text` column. For text models, an argument that is not an
    existing file, folder or manifest is itself a text.
    """
    sources, items = [], []
    extensions = tuple(e.lower() for e in getattr(clf, "input_extensions", ()))
    for arg in inputs:
        arg = os.fspath(arg)
        if os.path.isdir(arg):
            found = []
            for root, dirs, files in os.walk(arg):
                dirs.sort()
                found += [os.path.join(root, f) for f in sorted(files) if f.lower().endswith(extensions)]
            if not found:
                logger.warning("%s: no %s files found", arg, "/".join(extensions) or "input")
            sources += found
            items += [_from_file(clf, path) for path in found]
        elif arg.lower().endswith(".csv") and os.path.isfile(arg):
            rows = _manifest_inputs(clf, arg)
            sources += [source for source, _ in rows]
            items += [item for _, item in rows]
        elif os.path.isfile(arg) or clf.modality != "text":
            sources.append(arg)
            items.append(_from_file(clf, arg))
        else:
            sources.append(arg)
            items.append(arg)
    return sources, items


class _Unreadable:
    def __init__(self, reason):
        self.reason = reason


def _from_file(clf, path):
    if not os.path.exists(path):
        hint = " (the path has Windows '\\' separators)" if "\\" in path else ""
        return _Unreadable(f"no such file{hint}")
    try:
        return clf.input_from_file(path)
    except (OSError, ValueError) as error:
        return _Unreadable(str(error))


def _manifest_inputs(clf, path):
    import pandas as pd

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    base = os.path.dirname(os.path.abspath(path))
    if "path" in frame.columns:
        rows = []
        for i, value in enumerate(frame["path"], start=2):
            full = value if os.path.isabs(value) else os.path.join(base, value)
            rows.append((f"{path}:{i}:{value}", _from_file(clf, full)))
        return rows
    if "text" in frame.columns and clf.modality == "text":
        return [(f"{path}:{i}", text) for i, text in enumerate(frame["text"], start=2)]
    raise ValueError(f"{path}: a manifest for predict needs a `path` column (or `text` for text models)")


def predict_rows(clf, inputs, top_k=1, batch_size=64):
    """One row per input: `input`, `label`, `probability`, `top_k`, `error` (None when predicted).

    Readable inputs are predicted in chunks; when a chunk fails, its inputs
    are predicted one by one, so the unreadable ones are named and the rest
    still predicted.
    """
    sources, items = expand_inputs(clf, inputs)
    rows = [None] * len(items)
    readable = []
    for i, item in enumerate(items):
        if isinstance(item, _Unreadable):
            rows[i] = _error_row(sources[i], item.reason)
        else:
            readable.append(i)
    top_k = max(1, min(top_k, clf.num_classes))
    for start in range(0, len(readable), CHUNK):
        chunk = readable[start : start + CHUNK]
        try:
            result = clf.predict([items[i] for i in chunk], batch_size=batch_size, top_k=top_k)
            for i, top in zip(chunk, result["top_k"]):
                rows[i] = _row(sources[i], top)
        except Exception:  # noqa: BLE001 - find the bad inputs one at a time
            for i in chunk:
                try:
                    result = clf.predict([items[i]], batch_size=1, top_k=top_k)
                    rows[i] = _row(sources[i], result["top_k"][0])
                except Exception as error:  # noqa: BLE001 - reported in the row
                    message = (
                        str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    )
                    rows[i] = _error_row(sources[i], message)
    for row in rows:
        if row["error"]:
            logger.warning("could not predict %s: %s", row["input"], row["error"])
    return rows


def _row(source, top):
    return {
        "input": source,
        "label": top[0][0],
        "probability": float(top[0][1]),
        "top_k": [[name, float(p)] for name, p in top],
        "error": None,
    }


def _error_row(source, reason):
    return {"input": source, "label": None, "probability": None, "top_k": [], "error": reason}


def write_predictions_csv(rows, path):
    """Writes `path,label,probability,error` rows (atomically)."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "path": [r["input"] for r in rows],
            "label": [r["label"] for r in rows],
            "probability": [np.nan if r["probability"] is None else r["probability"] for r in rows],
            "error": [r["error"] or "" for r in rows],
        }
    )
    tmp = f"{path}.tmp"
    frame.to_csv(tmp, index=False)
    os.replace(tmp, path)


def embed_rows(clf, inputs, batch_size=64):
    """Each input's embedding (`Classifier.embed`), in the order `expand_inputs` lists them.

    Returns:
        `(sources, embeddings, errors)`: the source name of each input, a
        float32 array `(n, features)` with a NaN row where an input could not
        be read, and per input None or the reason.
    """
    sources, items = expand_inputs(clf, inputs)
    errors = [item.reason if isinstance(item, _Unreadable) else None for item in items]
    readable = [i for i, error in enumerate(errors) if error is None]
    rows = {}
    for start in range(0, len(readable), CHUNK):
        chunk = readable[start : start + CHUNK]
        try:
            rows.update(zip(chunk, clf.embed([items[i] for i in chunk], batch_size=batch_size)))
        except Exception:  # noqa: BLE001 - find the bad inputs one at a time
            for i in chunk:
                try:
                    rows[i] = clf.embed([items[i]], batch_size=1)[0]
                except Exception as error:  # noqa: BLE001 - reported per input
                    message = str(error).strip()
                    errors[i] = message.splitlines()[0] if message else type(error).__name__
    if rows:
        width = next(iter(rows.values())).shape[-1]
    else:
        from mmcnn.export.endpoints import embedding_model

        width = embedding_model(clf.model).output_shape[-1]
    embeddings = np.full((len(items), width), np.nan, dtype=np.float32)
    for i, row in rows.items():
        embeddings[i] = row
    for source, error in zip(sources, errors):
        if error:
            logger.warning("could not embed %s: %s", source, error)
    return sources, embeddings, errors


def write_embeddings(path, sources, embeddings):
    """Writes `embeddings` to `path` (.npy) and the sources, one per line, beside it (atomically).

    Returns the path of the sources file (`OUT.inputs.txt` for `OUT.npy`)."""
    path = os.fspath(path)
    stem = path[: -len(".npy")] if path.lower().endswith(".npy") else path
    names_path = stem + ".inputs.txt"
    tmp = f"{path}.tmp.npy"
    np.save(tmp, np.asarray(embeddings, dtype=np.float32))
    os.replace(tmp, path)
    with open(f"{names_path}.tmp", "w", encoding="utf-8") as f:
        f.write("".join(f"{source}\n" for source in sources))
    os.replace(f"{names_path}.tmp", names_path)
    return names_path
