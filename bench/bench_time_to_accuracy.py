"""Time to accuracy: test accuracy against training seconds, mmcnn's image default and the Keras example.

Issue 17's measure. Both classifiers train in the same process, one after the
other, on the same Fashion-MNIST split as bench/bench_image.py (55,000
training images, a stratified 5,000 for validation, the 10,000 test images).
After every epoch a callback notes the training seconds so far (validation
time left out) and keeps a copy of the weights; after training, each copy is
scored on the test split. The test split never steers anything: the epochs,
early stopping and best-weight restore of each model follow its own
validation data.

Reported, from the curves: the Keras example's final accuracy and total
training time; the time mmcnn needed to reach that accuracy (target: less
than the Keras example needed); mmcnn's best accuracy within 6 times the
Keras example's total time (target: at least 93.0%). `--candidate NAME=k=v,...`
adds mmcnn configurations (ImageClassifier keyword arguments) to the same run;
`preset=` may also name one of `CANDIDATE_PRESETS` below.

    nice -n 0 .venv/bin/python -m bench.bench_time_to_accuracy --out bench/results/time_to_accuracy.md
    .venv/bin/python -m bench.bench_time_to_accuracy --quick   # a smoke run (2,000 images, 2 epochs)

Writes the markdown table and `time_to_accuracy.png` beside it.
"""

import argparse
import ast
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bench.common import load_average, machine_line, mnist_convnet, write_results  # noqa: E402

VALIDATION_SIZE = 5000
TARGET_ACCURACY = 0.93
TIME_FACTOR = 6


# Presets tried against the library's (`--candidate NAME=preset=compact,...`); the one
# that wins on validation accuracy within the time budget moves into mmcnn.
_COMPACT = dict(
    rank=2,
    stem=32,
    stem_pooling="max",  # the first stage at 14x14: half the multiply-adds of `small`
    stages=[{"filters": 64, "pooling": "max"}, {"filters": 128}],
    head_dropout=0.3,
    learning_rate=2e-3,
    epochs=20,
    batch_size=128,
    patience=5,
    weight_decay=1e-4,
)
CANDIDATE_PRESETS = {
    "compact": _COMPACT,
    "compact_flatten": {**_COMPACT, "head_pooling": "flatten"},
}


def candidate_classifier_class():
    """`ImageClassifier` with `CANDIDATE_PRESETS` added to its presets (the library's stay as they are)."""
    import mmcnn.image as mi

    small = mi.ImageClassifier.presets["small"]
    presets = {**mi.ImageClassifier.presets, **CANDIDATE_PRESETS}
    presets["small_flatten"] = {**small, "head_pooling": "flatten"}
    return type("CandidateImageClassifier", (mi.ImageClassifier,), {"presets": presets})


class Snapshots(keras.callbacks.Callback):
    """Training seconds (validation excluded) and a copy of the weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.points = []  # (epoch, seconds, validation accuracy, weights)
        self._seconds = 0.0
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_test_begin(self, logs=None):
        # Validation runs inside the epoch, before on_epoch_end: stop the clock for it.
        if self._start is not None:
            self._seconds += time.perf_counter() - self._start
            self._start = None

    def on_epoch_end(self, epoch, logs=None):
        if self._start is not None:
            self._seconds += time.perf_counter() - self._start
            self._start = None
        weights = [w.copy() for w in self.model.get_weights()]
        self.points.append((epoch + 1, self._seconds, (logs or {}).get("val_accuracy"), weights))


def run_mmcnn(name, settings, splits, class_names):
    import mmcnn.image as mi

    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    classifier = candidate_classifier_class()
    clf = classifier(class_names=class_names, image_size=(28, 28), channels=1, **settings)
    snapshots = Snapshots()
    clf.fit(
        mi.from_arrays(x_train, y_train, class_names=class_names),
        validation_data=mi.from_arrays(x_val, y_val, class_names=class_names),
        callbacks=[snapshots],
        verbose=2,
    )
    test = mi.from_arrays(x_test, y_test, class_names=class_names)
    curve = []
    for epoch, seconds, val_acc, weights in snapshots.points:
        clf.model.set_weights(weights)
        curve.append((epoch, seconds, clf.evaluate(test)["accuracy"], val_acc))
    described = ", ".join(f"{k}={v!r}" for k, v in settings.items()) or "defaults"
    return {
        "name": name,
        "settings": f"ImageClassifier({described}); preset {clf.preset}, "
        f"precision {(clf.precision_used or {}).get('policy')}",
        "params": clf.model.count_params(),
        "curve": curve,
    }


def run_keras(splits, epochs):
    """The Keras example `mnist_convnet` with its own settings (as bench/bench_image.py)."""
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits
    keras.utils.set_random_seed(0)

    def scale(x):
        return x.astype("float32")[..., None] / 255.0

    model = mnist_convnet()
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    snapshots = Snapshots()
    model.fit(
        scale(x_train),
        y_train,
        batch_size=128,
        epochs=epochs,
        validation_data=(scale(x_val), y_val),
        callbacks=[snapshots],
        verbose=2,
    )
    curve = []
    for epoch, seconds, val_acc, weights in snapshots.points:
        model.set_weights(weights)
        probs = model.predict(scale(x_test), batch_size=512, verbose=0)
        curve.append((epoch, seconds, float(np.mean(np.argmax(probs, -1) == y_test)), val_acc))
    return {
        "name": "Keras example mnist_convnet",
        "settings": f"its own: Adam 1e-3, batch 128, {epochs} epochs, float32, no augmentation",
        "params": model.count_params(),
        "curve": curve,
    }


def first_time_at(curve, accuracy):
    """Seconds at the first epoch whose test accuracy reaches `accuracy`, or None."""
    return next((seconds for _, seconds, acc, _ in curve if acc >= accuracy), None)


def best_within(curve, seconds):
    """Best test accuracy of the epochs finished within `seconds`, or None."""
    kept = [acc for _, s, acc, _ in curve if s <= seconds]
    return max(kept) if kept else None


def summary_lines(baseline, runs):
    keras_final = baseline["curve"][-1][2]
    keras_total = baseline["curve"][-1][1]
    keras_time = first_time_at(baseline["curve"], keras_final)
    lines = [
        f"Keras example: final test accuracy {keras_final:.4f} after {keras_total:.0f} s of training "
        f"(first reached at {keras_time:.0f} s).",
        "",
        "| model | params | epochs | training s | final test acc | best test acc "
        f"| s to reach {keras_final:.4f} "
        f"| best within {TIME_FACTOR}x Keras ({TIME_FACTOR * keras_total:.0f} s) | targets |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        curve = run["curve"]
        reach = first_time_at(curve, keras_final)
        within = best_within(curve, TIME_FACTOR * keras_total)
        faster = reach is not None and reach < keras_time
        high = within is not None and within >= TARGET_ACCURACY
        targets = f"reach faster: {'yes' if faster else 'no'}; "
        targets += f">= {TARGET_ACCURACY:.1%} in time: {'yes' if high else 'no'}"
        lines.append(
            f"| {run['name']} | {run['params']:,} | {len(curve)} | {curve[-1][1]:.0f} | {curve[-1][2]:.4f} "
            f"| {max(a for _, _, a, _ in curve):.4f} | {'-' if reach is None else f'{reach:.0f}'} "
            f"| {'-' if within is None else f'{within:.4f}'} | {targets} |"
        )
    lines += ["", "Per epoch (training seconds so far, test accuracy, validation accuracy):", ""]
    for run in [baseline, *runs]:
        points = ", ".join(f"{e}: {s:.0f} s {a:.4f} (val {v:.4f})" for e, s, a, v in run["curve"])
        lines.append(f"- {run['name']} ({run['settings']}): {points}")
    return lines


def plot(path, baseline, runs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for run in [baseline, *runs]:
        _, seconds, acc, _ = zip(*run["curve"])
        ax.plot(seconds, acc, marker="o", markersize=3, label=run["name"])
    ax.axhline(TARGET_ACCURACY, color="grey", linestyle=":", linewidth=1)
    ax.axvline(TIME_FACTOR * baseline["curve"][-1][1], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("training wall-clock seconds (validation excluded)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.8, 0.95)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_candidate(text):
    """`NAME=key=value,key=value` -> (NAME, {key: value}); values are Python literals or strings."""
    name, _, rest = text.partition("=")
    settings = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--candidate {text!r}: expected key=value items, got {item!r}")
        try:
            settings[key.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            settings[key.strip()] = value
    return name, settings


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras-epochs", type=int, default=15)
    parser.add_argument("--no-default", action="store_true", help="leave out mmcnn's default")
    parser.add_argument("--candidate", action="append", default=[], help="NAME=k=v,k=v (repeatable)")
    parser.add_argument("--quick", action="store_true", help="2,000 training images, 2 epochs: a smoke run")
    parser.add_argument("--out", help="markdown file (default: print only); the plot is written beside it")
    args = parser.parse_args(argv)

    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    (x_all, y_all), (x_test, y_test) = load_fashion_mnist()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(x_all))
    val, train = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    if args.quick:
        train, val, args.keras_epochs = train[:2000], val[:500], 2
        x_test, y_test = x_test[:1000], y_test[:1000]
    splits = ((x_all[train], y_all[train]), (x_all[val], y_all[val]), (x_test, y_test))
    candidates = [] if args.no_default else [("mmcnn ImageClassifier() default", {})]
    candidates += [parse_candidate(c) for c in args.candidate]
    if args.quick:
        candidates = [(name, {**settings, "epochs": 2}) for name, settings in candidates]

    load_before = load_average()
    started = time.perf_counter()
    baseline = run_keras(splits, args.keras_epochs)
    runs = [run_mmcnn(name, settings, splits, list(CLASS_NAMES)) for name, settings in candidates]
    lines = [
        "# Time to accuracy: mmcnn's image default against the Keras example (Fashion-MNIST)",
        "",
        f"- Machine: {machine_line()}",
        f"- Load average before: {load_before}; after: {load_average()}; whole run "
        f"{time.perf_counter() - started:.0f} s",
        "- Command: `python -m bench.bench_time_to_accuracy "
        + " ".join(argv if argv is not None else sys.argv[1:])
        + "`",
        f"- Data: {len(train)} training images, {len(val)} validation (early stopping, best weights), "
        f"{len(y_test)} test images scored after the fact for every epoch's weights"
        + (" (**--quick: a smoke run, not a measurement**)" if args.quick else ""),
        "",
        *summary_lines(baseline, runs),
    ]
    print("\n".join(lines))
    if args.out:
        write_results(args.out, lines)
        plot(os.path.join(os.path.dirname(os.path.abspath(args.out)), "time_to_accuracy.png"), baseline, runs)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
