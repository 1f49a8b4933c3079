"""Fashion-MNIST from the Debian package `dataset-fashion-mnist` (no download).

The package installs the four original IDX files, gzip-compressed, under
`/usr/share/datasets/fashion-mnist/`. Install it with `bench/setup.sh`.

Example:

>>> (x_train, y_train), (x_test, y_test) = load_fashion_mnist()  # doctest: +SKIP
>>> x_train.shape, x_train.dtype, y_test.shape
((60000, 28, 28), dtype('uint8'), (10000,))
"""

import gzip
import os
import struct

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"

# Label order of the original release (label id == index).
CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}

# IDX magic numbers: 0x00000803 = unsigned bytes, 3 dimensions; 0x00000801 = 1 dimension.
_IMAGES_MAGIC = 0x0803
_LABELS_MAGIC = 0x0801


def _find(directory, stem):
    """Returns the path of `stem` or `stem.gz` in `directory`; raises a clear error if neither."""
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"Fashion-MNIST file {stem}[.gz] not found in {directory}. Install the Debian package "
        "`dataset-fashion-mnist` with `bench/setup.sh` (or `apt-get install "
        "dataset-fashion-mnist`), or pass `directory=` pointing at the IDX files."
    )


def _read_idx(path, expected_magic):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    (magic,) = struct.unpack(">I", data[:4])
    if magic != expected_magic:
        raise ValueError(
            f"{path} is not an IDX file of the expected kind: magic number {magic:#06x}, "
            f"expected {expected_magic:#06x}."
        )
    ndim = magic & 0xFF
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says shape {shape}, found {array.size} bytes of data.")
    return array.reshape(shape)


def load_fashion_mnist(directory=DEFAULT_DIR):
    """Loads Fashion-MNIST as uint8 NumPy arrays.

    Args:
        directory: folder holding the four IDX files (`.gz` or not). Defaults to where the
            Debian package `dataset-fashion-mnist` puts them.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: images `(60000, 28, 28)` / `(10000, 28, 28)`
        uint8 in 0..255, labels `(60000,)` / `(10000,)` uint8 in 0..9 indexing `CLASS_NAMES`.
    """
    out = []
    for split in ("train", "test"):
        images_stem, labels_stem, count = _FILES[split]
        x = _read_idx(_find(directory, images_stem), _IMAGES_MAGIC)
        y = _read_idx(_find(directory, labels_stem), _LABELS_MAGIC)
        if x.shape != (count, 28, 28) or y.shape != (count,):
            raise ValueError(
                f"Unexpected Fashion-MNIST {split} shapes in {directory}: images {x.shape}, "
                f"labels {y.shape}; expected ({count}, 28, 28) and ({count},)."
            )
        out.append((x, y))
    return tuple(out)


if __name__ == "__main__":
    import time

    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = load_fashion_mnist()
    elapsed = time.perf_counter() - start
    print(f"train {x_train.shape} {x_train.dtype}, test {x_test.shape}; loaded in {elapsed:.2f} s")
    print("train counts:", np.bincount(y_train, minlength=10).tolist())
    print("test counts: ", np.bincount(y_test, minlength=10).tolist())
