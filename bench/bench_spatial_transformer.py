"""Spatial transformer benchmark: a classifier with and without it on distorted Fashion-MNIST.

Each 28x28 Fashion-MNIST image is rotated by up to 45 degrees either way,
scaled by 0.7-1.2 and placed at a random position on a 42x42 black canvas
(scipy.ndimage.affine_transform, bilinear). The same `ImageClassifier`
("tiny" preset, no augmentation) is trained with the same epochs, batch size
and seed, once plain and once with a `SpatialTransformer` in front of its
adapter (what `ImageClassifier(spatial_transformer=True)` builds), and both
are scored on held-out distorted test images. Writes
`bench/results/spatial_transformer.md`.

Run from the repository root (data from the Debian package `dataset-fashion-mnist`):

    nice -n 0 .venv/bin/python -m bench.bench_spatial_transformer

About 10 minutes on a 2-core CPU with the defaults.
"""

import argparse
import os
import platform
import sys
import time

import numpy as np
from scipy import ndimage

from bench.harness import load_average, publish

CANVAS = 42


def distort(images, seed, canvas=CANVAS, max_degrees=45.0, scale=(0.7, 1.2)):
    """Rotated, rescaled, randomly placed copies of `(n, 28, 28)` images on `canvas x canvas`."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(images), canvas, canvas), "float32")
    centre_in = (np.array(images.shape[1:]) - 1) / 2.0
    for i, image in enumerate(images.astype("float32")):
        angle = np.deg2rad(rng.uniform(-max_degrees, max_degrees))
        s = rng.uniform(*scale)
        # Keep most of the object on the canvas: shift the centre by at most the free margin.
        margin = max(0.0, (canvas - 28 * s) / 2.0)
        centre_out = (canvas - 1) / 2.0 + rng.uniform(-margin, margin, size=2)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        matrix = rotation / s  # output -> input coordinates
        offset = centre_in - matrix @ centre_out
        out[i] = ndimage.affine_transform(
            image, matrix, offset, output_shape=(canvas, canvas), order=1, mode="constant", cval=0.0
        )
    return out


def make_classifier_class():
    from mmcnn.image import ImageClassifier
    from mmcnn.layers.spatial_transformer import SpatialTransformer

    class TransformerImageClassifier(ImageClassifier):
        """ImageClassifier with a SpatialTransformer before the adapter (the proposed option)."""

        def front_layers(self):
            layers = super().front_layers()
            return [layers[0], SpatialTransformer(name="spatial_transformer"), *layers[1:]]

    return TransformerImageClassifier


def make_control_class(hidden_units):
    """The plain classifier with a flatten head and a hidden dense layer: about the transformer's
    parameter count without its warp (a capacity control)."""
    from mmcnn.image import ImageClassifier
    from mmcnn.image.image_classifier import PRESETS

    class WideHeadImageClassifier(ImageClassifier):
        presets = {
            name: {**preset, "head_pooling": "flatten", "head_hidden_units": hidden_units}
            for name, preset in PRESETS.items()
        }

    return WideHeadImageClassifier


def train_and_score(cls, train, test, args):
    clf = cls(
        class_names=train.class_names,
        image_size=(CANVAS, CANVAS),
        channels=1,
        preset=args.preset,
        augmentation="none",
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=0,
    )
    start = time.time()
    history = clf.fit(train, early_stopping=False, verbose=2)
    seconds = time.time() - start
    report = clf.evaluate(test)
    return {
        "accuracy": report["accuracy"],
        "macro_f1": report["macro_f1"],
        "params": int(clf.model.count_params()),
        "seconds": seconds,
        "train_accuracy": float(history.history["accuracy"][-1]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=8000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--preset", default="tiny")
    parser.add_argument("--control-units", type=int, default=36)
    parser.add_argument("--out", default="bench/results/spatial_transformer.md")
    args = parser.parse_args(argv)

    from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist

    load_before = load_average()
    start = time.time()
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    rng = np.random.default_rng(0)
    tr = rng.choice(len(x_train), args.train, replace=False)
    te = rng.choice(len(x_test), args.test, replace=False)
    xd_train, xd_test = distort(x_train[tr], seed=1), distort(x_test[te], seed=2)

    import keras

    import mmcnn.image as mi

    train = mi.from_arrays(xd_train, y_train[tr], class_names=CLASS_NAMES)
    test = mi.from_arrays(xd_test, y_test[te], class_names=CLASS_NAMES)
    results = {}
    results["plain"] = train_and_score(mi.ImageClassifier, train, test, args)
    keras.backend.clear_session()
    results["spatial transformer"] = train_and_score(make_classifier_class(), train, test, args)
    keras.backend.clear_session()
    results[f"plain, flatten head + dense {args.control_units} (capacity control)"] = train_and_score(
        make_control_class(args.control_units), train, test, args
    )
    total = time.time() - start
    load_after = load_average()

    command = " ".join(["nice -n 0 .venv/bin/python -m bench.bench_spatial_transformer", *sys.argv[1:]])
    lines = [
        "# Spatial transformer on distorted Fashion-MNIST",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, shared with other engineers' jobs, so times are noisy. "
        f"Load average (1, 5, 15 min) before: {load_before}; after: {load_after}. Total {total:.0f} s.",
        "",
        f"Data: {args.train} training and {args.test} test images of Fashion-MNIST (random subsets), each "
        f"rotated by U(-45, 45) degrees, scaled by U(0.7, 1.2) and placed at a random position on a "
        f"{CANVAS}x{CANVAS} canvas. All models: `ImageClassifier(preset={args.preset!r}, "
        f"augmentation='none')`, {args.epochs} epochs, batch {args.batch_size}, seed 0, no early stopping; "
        "the second has a `SpatialTransformer()` (localisation ConvBlocks 16, 32 with max pooling, "
        "dense 32, dense 6 initialised to the identity) before the adapter. The third is the plain "
        "classifier with a flatten head and a hidden dense layer, which brings its parameter count near "
        "the transformer's: a control for capacity.",
        "",
        "| model | parameters | test accuracy | test macro-F1 | last-epoch train accuracy | train time (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['params']:,} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
            f"{r['train_accuracy']:.4f} | {r['seconds']:.0f} |"
        )
    publish(lines, args.out)


if __name__ == "__main__":
    main()
