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
FAST_MIN = 64  # files from which predict decodes them in a parallel tf.data pipeline


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


def sort_inputs(clf, inputs):
    """`(sources, items, rows, readable)`: the expanded inputs, an error row already in `rows`
    for each one that could not be read (None elsewhere), and the indices of the readable ones."""
    sources, items = expand_inputs(clf, inputs)
    rows = [None] * len(items)
    readable = []
    for i, item in enumerate(items):
        if isinstance(item, _Unreadable):
            rows[i] = _error_row(sources[i], item.reason)
        else:
            readable.append(i)
    return sources, items, rows, readable


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

    given = clf.manifest_inputs(path)
    if given is not None:
        return given
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


def predict_rows(clf, inputs, top_k=1, batch_size=64, verbose=0):
    """One row per input: `input`, `label`, `probability`, `top_k`, `error` (None when predicted).

    A multi-label classifier's rows hold `labels` (the classes whose score
    reaches their threshold, in class order; `[]` for none) and `probabilities`
    (each of those classes' own score, in the same order) in place of `label`
    and `probability`, and `scores` (class name -> score); an error row has
    None in all three.

    Many files (at least `FAST_MIN`) go through the modality's own parallel
    `tf.data` decode (`Classifier.file_dataset`), batched and prefetched so that
    decoding overlaps the model, after a cheap check of each file in a thread
    pool (`Classifier.check_input_file`). Everything else, and any file that
    fails in the pipeline, is predicted in chunks by `clf.predict`; when a chunk
    fails, its inputs are predicted one by one, so the unreadable ones are named
    and the rest still predicted.

    Args:
        verbose: 0 silent, 1 a progress bar, 2 one plain line at the end (Keras's `Progbar`).
    """
    sources, items, rows, readable = sort_inputs(clf, inputs)
    top_k = max(1, min(top_k, clf.num_classes))
    row = _RowMaker(clf, top_k)
    bar = _Progress(len(readable), verbose)
    files = [i for i in readable if isinstance(items[i], (str, os.PathLike)) and os.path.isfile(items[i])]
    rest = readable
    if len(files) >= FAST_MIN:
        fast = _predict_files(clf, [items[i] for i in files], batch_size, bar)
        if fast is not None:
            for k, outcome in fast.items():
                i = files[k]
                rows[i] = (
                    _error_row(sources[i], outcome) if isinstance(outcome, str) else row(sources[i], outcome)
                )
            rest = [i for i in readable if rows[i] is None]
    for start in range(0, len(rest), CHUNK):
        chunk = rest[start : start + CHUNK]
        try:
            probs = clf.predict_proba([items[i] for i in chunk], batch_size=batch_size)
            for i, p in zip(chunk, probs):
                rows[i] = row(sources[i], p)
        except Exception:  # noqa: BLE001 - find the bad inputs one at a time
            for i in chunk:
                try:
                    rows[i] = row(sources[i], clf.predict_proba([items[i]], batch_size=1)[0])
                except Exception as error:  # noqa: BLE001 - reported in the row
                    rows[i] = _error_row(sources[i], _message(error))
        bar.add(len(chunk))
    bar.close()
    if row.thresholds is not None:
        rows = [_error_row(r["input"], r["error"], multi_label=True) if r["error"] else r for r in rows]
    for r in rows:
        if r["error"]:
            logger.warning("could not predict %s: %s", r["input"], r["error"])
    return rows


def _message(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class _Progress:
    """A `keras.utils.Progbar` over inputs, counting the failed ones as it goes."""

    def __init__(self, total, verbose):
        self.done, self.bar = 0, None
        if verbose and total:
            import keras

            self.bar = keras.utils.Progbar(total, unit_name="file", verbose=verbose)

    def add(self, count):
        self.done += count
        if self.bar is not None:
            self.bar.update(self.done)

    def close(self):
        if self.bar is not None and self.done < self.bar.target:
            self.bar.update(self.bar.target, finalize=True)


def _predict_files(clf, paths, batch_size, bar):
    """Predicts files through the modality's `tf.data` decode.

    Returns `{position: probabilities}` for predicted files and `{position:
    reason}` for files the cheap check refused; a file that fails in the
    pipeline is left out (the caller predicts it one by one to name the
    error). None where the modality decodes its files in Python.
    """
    import concurrent.futures

    import tensorflow as tf

    try:
        clf.file_dataset(paths[:1])
    except ValueError:
        logger.info("%s models decode files one by one at predict time", clf.modality)
        return None

    def check(path):
        try:
            clf.check_input_file(path)
            return None
        except (OSError, ValueError) as error:
            return _message(error)

    outcomes = {}
    with concurrent.futures.ThreadPoolExecutor(min(8, (os.cpu_count() or 2) * 2)) as pool:
        reasons = list(pool.map(check, paths))
    accepted = []
    for k, reason in enumerate(reasons):
        if reason is None:
            accepted.append(k)
        else:
            outcomes[k] = reason
    bar.add(len(outcomes))
    if not accepted:
        return outcomes
    # The position rides beside each decoded input, so an element that fails to decode (and is
    # dropped by `ignore_errors`) is known by its missing position.
    ds = tf.data.Dataset.zip(
        (tf.data.Dataset.range(len(accepted)), clf.file_dataset([paths[k] for k in accepted]))
    )
    ds = ds.ignore_errors().batch(batch_size).prefetch(tf.data.AUTOTUNE)
    model = clf.model
    for positions, x in ds:
        probs = np.asarray(model.predict_on_batch(x), dtype=np.float64)
        for position, p in zip(positions.numpy(), probs):
            outcomes[accepted[position]] = p
        bar.add(len(probs))
    return outcomes


class _RowMaker:
    """An input's row from its probabilities: top-k classes, or for multi-label the thresholded set."""

    def __init__(self, clf, top_k):
        self.names = list(clf.class_names)
        self.top_k = top_k
        self.thresholds = clf.threshold_values() if getattr(clf, "multi_label", False) else None

    def __call__(self, source, probs):
        probs = np.asarray(probs, dtype=np.float64)
        # As `Classifier.predict`: classes by decreasing probability.
        top = [[self.names[j], float(probs[j])] for j in np.argsort(-probs, kind="stable")[: self.top_k]]
        if self.thresholds is None:
            return {
                "input": source,
                "label": top[0][0],
                "probability": top[0][1],
                "top_k": top,
                "error": None,
            }
        # Each predicted class with its own score: no single `probability` could stand for a set.
        hits = [j for j, (p, t) in enumerate(zip(probs, self.thresholds)) if p >= t]
        return {
            "input": source,
            "labels": [self.names[j] for j in hits],
            "probabilities": [float(probs[j]) for j in hits],
            "scores": {n: float(p) for n, p in zip(self.names, probs)},
            "top_k": top,
            "error": None,
        }


def _error_row(source, reason, multi_label=False):
    if multi_label:
        return {
            "input": source,
            "labels": None,
            "probabilities": None,
            "scores": None,
            "top_k": [],
            "error": reason,
        }
    return {"input": source, "label": None, "probability": None, "top_k": [], "error": reason}


def write_predictions_csv(rows, path):
    """Writes `path,label,probability,error` rows (atomically).

    Multi-label rows (`predict_rows` of a multi-label classifier) give
    `path,labels,probabilities`, a `score:CLASS` column per class, then `error`:
    `labels` holds the predicted classes joined by ";" (empty for none) and
    `probabilities` each one's own score, joined by ";" in the same order
    (e.g. `boot;dark` and `0.812345;0.621000`); empty cells for errors.
    """
    import pandas as pd

    if any("labels" in r for r in rows):
        columns = {
            "path": [r["input"] for r in rows],
            "labels": [";".join(r["labels"] or []) for r in rows],
            "probabilities": [";".join(f"{p:.6f}" for p in r["probabilities"] or []) for r in rows],
        }
    else:
        columns = {
            "path": [r["input"] for r in rows],
            "label": [r["label"] for r in rows],
            "probability": [np.nan if r["probability"] is None else r["probability"] for r in rows],
        }
    names = next((list(r["scores"]) for r in rows if r.get("scores")), [])
    for name in names:
        columns[f"score:{name}"] = [r["scores"][name] if r.get("scores") else np.nan for r in rows]
    columns["error"] = [r["error"] or "" for r in rows]
    tmp = f"{path}.tmp"
    pd.DataFrame(columns).to_csv(tmp, index=False)
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
    from mmcnn.export.atomic import replaced_file

    with replaced_file(path, suffix=".npy") as tmp:
        np.save(tmp, np.asarray(embeddings, dtype=np.float32))
    with replaced_file(names_path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(f"{source}\n" for source in sources))
    return names_path
