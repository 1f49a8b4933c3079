"""Empty explanation maps: how often `Classifier.explain` gives an all-zero map (issue 27).

An all-zero Grad-CAM map says nothing about the input; before this measure it was drawn as a
flat panel under a confident title. For each modality's default preset, trained for a few
epochs on the small sets shipped in `mmcnn/demo_data/` (Fashion-MNIST subset, espeak words,
fortunes), the first `--inputs` test inputs are explained for the class the model predicts,
and the maps with no positive value are counted, with the model's probability for the class.
`image-multilabel` is the same pictures with a second, coarser label each (`top`,
`footwear`, `other` beside the item's class: 13 labels, a sigmoid head); its maps explain
each input's highest-scoring label.

The count is taken from the maps themselves (`not np.any(map > 0)`). "Before" is the method of
mmcnn before issue 27, recomputed here on the same trained model (`legacy_maps`): the mean
gradient of the class's raw logit (of its log-probability for a sigmoid head) over the
positions weighing the feature maps; "after" is `Classifier.explain` as it is now, counted on
its feature-level maps and on the maps at the input's resolution.

    nice -n 5 .venv/bin/python -m bench.bench_explain --out bench/results/explain.md
    nice -n 5 .venv/bin/python -m bench.bench_explain --quick --out /tmp/explain_quick.md

`--quick` trains one epoch on 300 examples and explains 20: a smoke run, not a result.
"""

import argparse
import os
import shlex
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from bench.harness import load_average, machine_line, publish  # noqa: E402

SEED = 0
MODALITIES = ("image", "image-multilabel", "audio", "text")
EPOCHS = {"image": 3, "image-multilabel": 3, "audio": 4, "text": 2}
# Coarse groups of the Fashion-MNIST classes: the second label of `image-multilabel`.
GROUPS = {
    "top": ("T-shirt/top", "Pullover", "Coat", "Shirt", "Dress"),
    "footwear": ("Sandal", "Sneaker", "Ankle boot"),
    "other": ("Trouser", "Bag"),
}
RESULTS = os.path.join(os.path.dirname(__file__), "results", "explain.md")


def _limit(data, n):
    if n is None or n >= len(data):
        return data
    rng = np.random.default_rng(SEED)
    return data.subset(np.sort(rng.choice(len(data), n, replace=False)))


def _with_groups(data):
    """Single-label Fashion-MNIST data -> multi-label data: each picture's class and its group."""
    from mmcnn.data import LabeledData

    names = list(data.class_names) + list(GROUPS)
    targets = np.zeros((len(data), len(names)), "float32")
    targets[np.arange(len(data)), data.labels] = 1.0
    for g, members in enumerate(GROUPS.values()):
        ids = [data.class_names.index(m.replace("/", "-")) for m in members]
        targets[np.isin(data.labels, ids), len(data.class_names) + g] = 1.0
    return LabeledData(data.inputs, data.labels, names, data.kind, targets=targets)


def load_splits(modality, work):
    """`(train, test)` of the shipped demo data for a modality (see the module docstring)."""
    from mmcnn.demo import _data_paths
    from mmcnn.runs import load_data

    base = "image" if modality.startswith("image") else modality
    paths = _data_paths(base, work)
    train = load_data(base, paths["train"], verbose=0)
    test = load_data(base, paths["test"], class_names=train.class_names, verbose=0)
    if modality == "image-multilabel":
        train, test = _with_groups(train), _with_groups(test)
    return train, test


def legacy_maps(model, batch, class_ids, batch_size=32):
    """Feature-level Grad-CAM maps as mmcnn made them before issue 27 (for the "before" column)."""
    import keras
    import tensorflow as tf

    head = model.get_layer("head")
    features_of = keras.Model(model.inputs, head.input)
    path = list(head.inspect_path())
    maps = []
    for start in range(0, len(batch), batch_size):
        features = features_of([batch[start : start + batch_size]])
        ids = tf.constant(class_ids[start : start + batch_size], tf.int32)
        with tf.GradientTape() as tape:
            tape.watch(features)
            x = features
            for layer in path[:-1]:
                x = layer(x, training=False)
            x = tf.cast(x, tf.float32)
            if not isinstance(path[-1], keras.layers.Softmax):
                x = tf.math.log(tf.maximum(tf.cast(path[-1](x), tf.float32), 1e-30))
            score = tf.gather(x, ids, axis=1, batch_dims=1)
        gradients = np.asarray(tape.gradient(score, features), "float32")
        activations = np.asarray(features, "float32")
        weights = gradients.mean(axis=tuple(range(1, gradients.ndim - 1)), keepdims=True)
        maps += list(np.maximum((activations * weights).sum(axis=-1), 0.0))
    return maps


def _empty(maps):
    return np.array([not np.any(np.asarray(m) > 0) for m in maps])


def make_classifier(modality, train, epochs):
    from mmcnn.models import registry

    cls = registry.get_classifier("image" if modality.startswith("image") else modality)
    kwargs = {"class_names": train.class_names, "epochs": epochs, "seed": SEED}
    if modality.startswith("image"):
        kwargs.update(image_size=(28, 28), channels=1)
    if train.multi_label:
        kwargs["multi_label"] = True
    return cls(**kwargs)


def bench_modality(modality, args, work):
    train, test = load_splits(modality, work)
    train = _limit(train, 300 if args.quick else None)
    test = _limit(test, args.inputs)
    epochs = 1 if args.quick else EPOCHS[modality]
    clf = make_classifier(modality, train, epochs)
    start = time.perf_counter()
    clf.fit(train, validation_split=0.1, verbose=0)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    inputs = list(test.inputs) if test.kind != "arrays" else test.inputs
    out = clf.explain(inputs)
    explain_s = time.perf_counter() - start
    chosen = np.array([clf.class_names.index(name) for name in out["class_names"]], "int32")
    confidence = out["probabilities"][np.arange(len(chosen)), chosen]
    before = _empty(legacy_maps(clf.model, clf.preprocess(inputs), chosen))
    features_empty = _empty(out["feature_maps"])
    empty = _empty(out["maps"])
    row = dict(
        modality=modality,
        preset=clf.preset,
        epochs=epochs,
        train=len(train),
        inputs=len(test),
        train_s=train_s,
        explain_s=explain_s,
        before=_summary(before, confidence),
        after_features=_summary(features_empty, confidence),
        after=_summary(empty, confidence),
        flagged=int(np.sum(out["empty"])),
    )
    print(row, flush=True)
    return row


def _summary(empty, confidence):
    """ "empty (at p >= 0.9; highest p)" for one column of the table."""
    text = f"{int(empty.sum())} ({int((empty & (confidence >= 0.9)).sum())}"
    return text + (f"; {confidence[empty].max():.3f})" if empty.any() else ")")


def report(rows, args, before, after, command):
    lines = [
        "# Empty explanation maps (issue 27)",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine_line()}. Load average before {before}, after {after}.",
        "",
        "Empty maps among the inputs explained, as `count (of them at p >= 0.9; highest p)`, p being "
        "the model's probability (score) of the class explained:",
        "",
        "| modality | preset | epochs | train | inputs | before: feature maps | after: feature maps "
        "| after: maps at the input | named empty by `explain()['empty']` | train s | explain s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['modality']} | {r['preset']} | {r['epochs']} | {r['train']} | {r['inputs']} "
            f"| {r['before']} | {r['after_features']} | {r['after']} | {r['flagged']} "
            f"| {r['train_s']:.1f} | {r['explain_s']:.1f} |"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modalities", nargs="+", default=list(MODALITIES), choices=MODALITIES)
    parser.add_argument("--inputs", type=int, default=100, help="test inputs explained per modality")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 300 examples, 1 epoch")
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.inputs = min(args.inputs, 20)
    command = " ".join(
        ["python -m bench.bench_explain", *map(shlex.quote, sys.argv[1:] if argv is None else argv)]
    )
    before = load_average()
    work = tempfile.mkdtemp(prefix="bench-explain-")
    rows = [bench_modality(m, args, work) for m in args.modalities]
    publish(report(rows, args, before, load_average(), command), args.out, quick=args.quick)
    return rows


if __name__ == "__main__":
    main()
