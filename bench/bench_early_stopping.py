"""Early stopping on small data: from which epoch should it watch the validation loss?

The image default on N Fashion-MNIST images per class (`bench.datasets.draw`, as bench_small_data draws, 10%
held out), its adapted schedule, with `fit(early_stopping=False)` and instead a
`keras.callbacks.EarlyStopping(monitor="val_loss", patience=<the schedule's>,
restore_best_weights=True, start_from_epoch=int(fraction * epochs))` for each fraction; the
test split (10,000 images) steers nothing. The numbers of bench/RESULTS.md ("Early stopping
from the middle of the schedule") came from this script, run before `fit` watched from the
middle itself (with today's code, fraction 0 still means "from epoch 0" here, since the
callback is the only early stopping).

    .venv/bin/python -m bench.bench_early_stopping --shots 10 25 50 --fractions 0 0.25 0.5 1.0
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from bench.datasets import draw  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0])
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args(argv)

    import mmcnn.image as mi
    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist
    from mmcnn.models.schedule import fit_schedule

    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    names = list(CLASS_NAMES)
    test = mi.from_arrays(x_test, y_test, class_names=names)
    for shots in args.shots:
        for seed in range(args.seeds):
            x, y = draw(x_train, y_train, shots, seed)
            for fraction in args.fractions:
                clf = mi.ImageClassifier(class_names=names, image_size=(28, 28), channels=1, seed=seed)
                train, val = mi.from_arrays(x, y, class_names=names).split(0.1, seed=seed)
                schedule = fit_schedule(len(train), clf.preset_config)
                stopper = keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=schedule["patience"],
                    restore_best_weights=True,
                    start_from_epoch=int(fraction * schedule["epochs"]),
                )
                start = time.perf_counter()
                history = clf.fit(
                    train, validation_data=val, early_stopping=False, callbacks=[stopper], verbose=0
                )
                loss, accuracy = history.history["val_loss"], history.history["val_accuracy"]
                print(
                    f"shots {shots} seed {seed} start {fraction}: test {clf.evaluate(test)['accuracy']:.4f} "
                    f"ran {len(loss)} best_val_loss_epoch {int(np.argmin(loss))} "
                    f"best_val_accuracy_epoch {int(np.argmax(accuracy))} {time.perf_counter() - start:.0f}s",
                    flush=True,
                )


if __name__ == "__main__":
    sys.exit(main())
