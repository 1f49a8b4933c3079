"""Time to accuracy: test accuracy against training seconds, an mmcnn default and its Keras baseline.

Issue 17's measure, for each modality (`--modality`):
- image: Fashion-MNIST split as bench/bench_image.py splits it (55,000 training
  images, 5,000 validation, the 10,000 test images) against the Keras
  `mnist_convnet` example;
- audio: the synthesised speech commands of bench/bench_audio.py (unseen test
  voices; 48 training voices by default, `--train-voices 0` for all) against
  the TensorFlow simple-audio tutorial's CNN;
- text: the fortunes corpus of bench/bench_text.py against the Keras "text
  classification from scratch" CNN.

Both train in the same process, one after the other, on the same splits.
After every epoch a callback notes the training seconds so far (validation
time left out) and keeps a copy of the weights; after training, each copy is
scored on the test split. The test split never steers anything: the epochs,
early stopping and best-weight restore of each model follow its own
validation data, and candidates are compared on validation accuracy.

Reported, from the curves: the baseline's test accuracy (with the weights it
keeps) and training time; the time mmcnn needed to reach that accuracy
(target: less than the baseline needed); the best validation and test
accuracy within 6 times the baseline's training time (image target: at least
93.0% test). `--candidate NAME=k=v,...` adds mmcnn configurations (classifier
keyword arguments, and `early_stopping=False` for `fit`) to the same run; for
images `preset=` may also name a variant that `candidate_classifier_class` adds.

    nice -n 0 .venv/bin/python -m bench.bench_time_to_accuracy --out bench/results/time_to_accuracy.md
    nice -n 0 .venv/bin/python -m bench.bench_time_to_accuracy --modality audio \\
        --out bench/results/time_to_accuracy_audio.md
    .venv/bin/python -m bench.bench_time_to_accuracy --quick   # a smoke run (2,000 images, 2 epochs)

Writes the markdown table and a plot beside it (the same name, `.png`).
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bench import baselines  # noqa: E402
from bench.baselines import mnist_convnet  # noqa: E402
from bench.datasets import load_speech, split_fortunes  # noqa: E402
from bench.harness import load_average, machine_line, parse_candidate, publish  # noqa: E402

VALIDATION_SIZE = 5000
TARGET_ACCURACY = 0.93
TIME_FACTOR = 6


def candidate_classifier_class():
    """`ImageClassifier` with variants of the library's presets added (`--candidate
    NAME=preset=compact_avg,...`); the library's own presets stay as they are.

    The run that chose the default (bench/results/time_to_accuracy_candidates.md)
    called today's `compact` `compact_flatten` and `compact_avg` `compact`; the run that
    added label smoothing to `compact` (bench/results/time_to_accuracy_label_smoothing.md)
    called it `compact_ls`."""
    import mmcnn.image as mi

    presets = dict(mi.ImageClassifier.presets)
    presets["compact_avg"] = {**presets["compact"], "head_pooling": "avg"}
    presets["small_flatten"] = {**presets["small"], "head_pooling": "flatten"}
    presets["compact_ls"] = {**presets["compact"], "label_smoothing": 0.1}
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


def scored_curve(snapshots, model, score):
    """`[(epoch, seconds, test accuracy, validation accuracy)]`: every snapshot's weights scored
    by `score()` (the model's weights are left at the last snapshot's)."""
    curve = []
    for epoch, seconds, val_acc, weights in snapshots.points:
        model.set_weights(weights)
        curve.append((epoch, seconds, score(), val_acc))
    return curve


def run_mmcnn(task, name, settings):
    """One mmcnn classifier trained with its own schedule: its curve, and the test accuracy of
    the weights `fit` kept (early stopping restores the best epoch's) after all its seconds."""
    train, val, test = task["data"]
    # `early_stopping=` in a candidate is an argument of `fit`, the rest the classifier's.
    fit_settings = {k: v for k, v in settings.items() if k == "early_stopping"}
    kwargs = {k: v for k, v in settings.items() if k not in fit_settings}
    clf = task["classifier"](class_names=train.class_names, seed=0, **task["fixed"], **kwargs)
    snapshots = Snapshots()
    clf.fit(train, validation_data=val, callbacks=[snapshots], verbose=2, **fit_settings)
    final = (snapshots.points[-1][1], clf.evaluate(test)["accuracy"])
    curve = scored_curve(snapshots, clf.model, lambda: clf.evaluate(test)["accuracy"])
    described = ", ".join(f"{k}={v!r}" for k, v in settings.items()) or "defaults"
    return {
        "name": name,
        "settings": f"{task['classifier'].__name__.replace('Candidate', '')}({described}); preset "
        f"{clf.preset}, precision {(clf.precision_used or {}).get('policy')}",
        "params": clf.model.count_params(),
        "curve": curve,
        "final": final,
    }


def run_baseline(name, settings, model, fit, score):
    """A hand-written Keras baseline: `fit(callbacks)` trains it, `score()` is its test accuracy."""
    snapshots = Snapshots()
    fit([snapshots])
    final = (snapshots.points[-1][1], score())
    return {
        "name": name,
        "settings": settings,
        "params": model.count_params(),
        "curve": scored_curve(snapshots, model, score),
        "final": final,
    }


def accuracy_of(model, inputs, labels):
    probs = model.predict(inputs, batch_size=512, verbose=0)
    return float(np.mean(np.argmax(probs, -1) == np.asarray(labels)))


# ------------------------------------------------------------------ tasks
def image_task(quick, keras_epochs):
    """Fashion-MNIST as bench/bench_image.py splits it; the Keras `mnist_convnet` example."""
    import mmcnn.image as mi
    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    (x_all, y_all), (x_test, y_test) = load_fashion_mnist()
    order = np.random.default_rng(0).permutation(len(x_all))
    val, train = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    if quick:
        train, val, x_test, y_test = train[:2000], val[:500], x_test[:1000], y_test[:1000]
    names = list(CLASS_NAMES)
    arrays = ((x_all[train], y_all[train]), (x_all[val], y_all[val]), (x_test, y_test))

    def baseline():
        keras.utils.set_random_seed(0)
        (x, y), (xv, yv), (xt, yt) = ((a.astype("float32")[..., None] / 255.0, b) for a, b in arrays)
        model = mnist_convnet()
        model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        return run_baseline(
            "Keras example mnist_convnet",
            f"its own: Adam 1e-3, batch 128, {keras_epochs} epochs, float32, no augmentation",
            model,
            lambda callbacks: model.fit(
                x, y, batch_size=128, epochs=keras_epochs, validation_data=(xv, yv), callbacks=callbacks
            ),
            lambda: accuracy_of(model, xt, yt),
        )

    return {
        "title": "mmcnn's image default against the Keras example (Fashion-MNIST)",
        "data": tuple(mi.from_arrays(x, y, class_names=names) for x, y in arrays),
        "what": "images",
        "classifier": candidate_classifier_class(),
        "fixed": {"image_size": (28, 28), "channels": 1},
        "baseline": baseline,
        "target": TARGET_ACCURACY,
    }


def audio_task(quick, data_dir, train_voices):
    """Synthesised speech commands, unseen test voices (bench/bench_audio.py); the TensorFlow
    simple-audio tutorial's model on its STFT, computed once before training."""
    from mmcnn.audio import AudioClassifier

    data, _, _, _ = load_speech(data_dir, 1, 0.1, None, train_voices)
    if quick:
        data = {k: d.subset(np.arange(min(len(d), 200))) for k, d in data.items()}

    def baseline():
        model, train, val, test_specs = baselines.audio_tutorial_setup(data)
        stopping = keras.callbacks.EarlyStopping(**baselines.AUDIO_TUTORIAL_STOPPING)
        epochs = 2 if quick else 30
        return run_baseline(
            "TF simple-audio tutorial CNN",
            f"bench/baselines.py: Adam, batch 64, up to {epochs} epochs, early stopping (patience 2), "
            "float32, STFT precomputed",
            model,
            lambda callbacks: model.fit(
                train, validation_data=val, epochs=epochs, callbacks=[*callbacks, stopping], verbose=2
            ),
            lambda: accuracy_of(model, test_specs, data["test"].labels),
        )

    voices = "all training voices" if train_voices is None else f"{train_voices} training voices"
    return {
        "title": f"mmcnn's audio default against the TF simple-audio tutorial (espeak words, {voices})",
        "data": (data["train"], data["val"], data["test"]),
        "what": "clips",
        "classifier": AudioClassifier,
        "fixed": {},
        "baseline": baseline,
        "target": None,
    }


def text_task(quick):
    """The fortunes corpus (bench/bench_text.py); the Keras "text classification from scratch" CNN."""
    from mmcnn.text import TextClassifier

    train, val, test = split_fortunes()
    if quick:
        sizes = ((train, 1000), (val, 300), (test, 300))
        train, val, test = (d.subset(np.arange(min(len(d), n))) for d, n in sizes)

    def baseline():
        model = baselines.keras_scratch_model(train)
        stopping = keras.callbacks.EarlyStopping(**baselines.KERAS_SCRATCH_STOPPING)
        ds = baselines.keras_scratch_dataset
        epochs = 2 if quick else 10
        return run_baseline(
            "Keras 'text classification from scratch' CNN",
            f"bench/baselines.py: Adam, batch 32, up to {epochs} epochs, early stopping (patience 2, best "
            "weights), float32",
            model,
            lambda callbacks: model.fit(
                ds(train, True), validation_data=ds(val), epochs=epochs, callbacks=[*callbacks, stopping]
            ),
            lambda: accuracy_of(model, ds(test), test.labels),
        )

    return {
        "title": "mmcnn's text default against the Keras text CNN (fortunes)",
        "data": (train, val, test),
        "what": "texts",
        "classifier": TextClassifier,
        "fixed": {},
        "baseline": baseline,
        "target": None,
    }


def first_time_at(curve, accuracy):
    """Seconds at the first epoch whose test accuracy reaches `accuracy`, or None."""
    return next((seconds for _, seconds, acc, _ in curve if acc >= accuracy), None)


def best_within(curve, seconds, column=2):
    """Best test (`column=2`) or validation (3) accuracy of the epochs finished within `seconds`."""
    kept = [point[column] for point in curve if point[1] <= seconds]
    return max(kept) if kept else None


def summary_lines(baseline, runs, target=None):
    base_seconds, base_final = baseline["final"]
    base_time = first_time_at(baseline["curve"], base_final) or base_seconds
    budget = TIME_FACTOR * base_seconds
    lines = [
        f"Baseline ({baseline['name']}): test accuracy {base_final:.4f} with the weights it keeps, after "
        f"{base_seconds:.0f} s of training (first reached at {base_time:.0f} s). Budget for the candidates' "
        f"comparison: {TIME_FACTOR}x its training time, {budget:.0f} s; candidates are compared on "
        "validation accuracy (the test columns are for the report, they chose nothing).",
        "",
        "| model | params | epochs | training s | test acc (kept weights) | best test acc "
        f"| s to reach {base_final:.4f} | best val acc within {budget:.0f} s "
        f"| best test acc within {budget:.0f} s | targets |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        curve = run["curve"]
        reach = first_time_at(curve, base_final)
        within = best_within(curve, budget)
        val_within = best_within(curve, budget, column=3)
        targets = f"reach faster: {'yes' if reach is not None and reach < base_time else 'no'}"
        if target is not None:
            high = within is not None and within >= target
            targets += f"; >= {target:.1%} in time: {'yes' if high else 'no'}"
        lines.append(
            f"| {run['name']} | {run['params']:,} | {len(curve)} | {run['final'][0]:.0f} "
            f"| {run['final'][1]:.4f} "
            f"| {max(a for _, _, a, _ in curve):.4f} | {'-' if reach is None else f'{reach:.0f}'} "
            f"| {'-' if val_within is None else f'{val_within:.4f}'} "
            f"| {'-' if within is None else f'{within:.4f}'} | {targets} |"
        )
    lines += ["", "Per epoch (training seconds so far, test accuracy, validation accuracy):", ""]
    for run in [baseline, *runs]:
        points = ", ".join(f"{e}: {s:.0f} s {a:.4f} (val {v:.4f})" for e, s, a, v in run["curve"])
        lines.append(f"- {run['name']} ({run['settings']}): {points}")
    return lines


def plot(path, baseline, runs, target=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for run in [baseline, *runs]:
        _, seconds, acc, _ = zip(*run["curve"])
        ax.plot(seconds, acc, marker="o", markersize=3, label=run["name"])
    if target is not None:
        ax.axhline(target, color="grey", linestyle=":", linewidth=1)
    ax.axvline(TIME_FACTOR * baseline["final"][0], color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("training wall-clock seconds (validation excluded)")
    ax.set_ylabel("test accuracy")
    low = min(acc for run in [baseline, *runs] for _, _, acc, _ in run["curve"])
    ax.set_ylim(max(0.0, min(0.8, low)), 1.0 if target is None else 0.95)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modality", choices=("image", "audio", "text"), default="image")
    parser.add_argument("--keras-epochs", type=int, default=15, help="(image) the Keras example's epochs")
    parser.add_argument(
        "--audio-data", default="/tmp/speech_bench", help="(audio) bench/bench_audio.py's --data folder"
    )
    parser.add_argument(
        "--train-voices", type=int, default=48, help="(audio) training voices kept (0: all; default 48)"
    )
    parser.add_argument("--no-default", action="store_true", help="leave out mmcnn's default")
    parser.add_argument("--candidate", action="append", default=[], help="NAME=k=v,k=v (repeatable)")
    parser.add_argument("--quick", action="store_true", help="a few hundred examples, 2 epochs: a smoke run")
    parser.add_argument("--out", help="markdown file (default: print only); the plot is written beside it")
    args = parser.parse_args(argv)

    load_before = load_average()
    started = time.perf_counter()
    if args.modality == "image":
        task = image_task(args.quick, 2 if args.quick else args.keras_epochs)
    elif args.modality == "audio":
        task = audio_task(args.quick, args.audio_data, args.train_voices or None)
    else:
        task = text_task(args.quick)
    name = f"mmcnn {task['classifier'].__name__.replace('Candidate', '')}() default"
    candidates = [] if args.no_default else [(name, {})]
    candidates += [parse_candidate(c) for c in args.candidate]
    if args.quick:
        candidates = [(name, {**settings, "epochs": 2}) for name, settings in candidates]

    baseline = task["baseline"]()
    runs = [run_mmcnn(task, name, settings) for name, settings in candidates]
    train, val, test = task["data"]
    lines = [
        f"# Time to accuracy: {task['title']}",
        "",
        f"- Machine: {machine_line()}",
        f"- Load average before: {load_before}; after: {load_average()}; whole run "
        f"{time.perf_counter() - started:.0f} s",
        "- Command: `python -m bench.bench_time_to_accuracy "
        + " ".join(argv if argv is not None else sys.argv[1:])
        + "`",
        f"- Data: {len(train)} training {task['what']}, {len(val)} validation (early stopping, best "
        f"weights), {len(test)} test {task['what']} scored after the fact for every epoch's weights"
        + (" (**--quick: a smoke run, not a measurement**)" if args.quick else ""),
        "",
        *summary_lines(baseline, runs, task["target"]),
    ]
    publish(lines, args.out)
    if args.out:
        stem = os.path.splitext(os.path.abspath(args.out))[0]
        plot(stem + ".png", baseline, runs, task["target"])
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
