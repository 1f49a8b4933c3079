"""Prediction throughput: files/s of `mmcnn predict RUN FOLDER --csv` against the training decode rate.

Writes N Fashion-MNIST test images as PNGs (class folders) to a temp folder and
times, on the same files and an untrained default image classifier (the weights
do not change the cost):
- the training pipeline's decode: one pass of `clf.make_dataset(data)` without the model;
- `predict_rows` + `write_predictions_csv` (what `mmcnn predict RUN FOLDER --csv` runs):
  the parallel tf.data path, and the old chunked one-file-at-a-time path;
- audio, with `--speech-dir DIR` (clips from bench/data/speech.py): predict against
  `mmcnn.audio.from_directory`'s decode; audio files are decoded in Python and
  predicted in chunks (`predict_in_batches`: one `predict_on_batch` per batch).

    .venv/bin/python bench/bench_predict.py --n 10000 --speech-dir /tmp/speech_bench
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.data.fashion_mnist import CLASS_NAMES, load_fashion_mnist  # noqa: E402
from bench.harness import load_average, machine_line, publish  # noqa: E402


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def image_rows(n, tmp):
    from PIL import Image

    import mmcnn
    from mmcnn.data import LabeledData
    from mmcnn.runs import predict

    _, (x, y) = load_fashion_mnist()
    x, y = np.concatenate([x] * (n // len(x) + 1))[:n], np.concatenate([y] * (n // len(y) + 1))[:n]
    paths = []
    for i, (image, label) in enumerate(zip(x, y)):
        folder = os.path.join(tmp, f"c{label}")
        os.makedirs(folder, exist_ok=True)
        paths.append(os.path.join(folder, f"{i:05d}.png"))
        Image.fromarray(image).save(paths[-1])
    clf = mmcnn.image.ImageClassifier(
        num_classes=10, class_names=CLASS_NAMES, image_size=(28, 28), channels=1, seed=0
    )
    clf.model  # noqa: B018 - built outside the clock
    clf.predict(paths[:2])  # the predict function traced outside the clock
    data = LabeledData(paths, y, CLASS_NAMES, kind="files")

    def decode():
        for _ in clf.make_dataset(data, batch_size=64):
            pass

    _, t_decode = _timed(decode)
    csv = os.path.join(tmp, "out.csv")

    def run():
        predict.write_predictions_csv(predict.predict_rows(clf, [tmp]), csv)

    _, t_fast = _timed(run)
    fast_min = predict.FAST_MIN
    predict.FAST_MIN = 10**12
    try:
        _, t_old = _timed(run)
    finally:
        predict.FAST_MIN = fast_min
    return [
        ("image", n, "training pipeline decode (`make_dataset`, no model)", t_decode),
        ("image", n, "`mmcnn predict --csv`, tf.data path", t_fast),
        ("image", n, "`mmcnn predict --csv`, old chunked path", t_old),
    ]


def audio_rows(speech_dir, n):
    import glob

    import mmcnn
    from mmcnn.runs import predict

    files = sorted(glob.glob(os.path.join(speech_dir, "**", "*.wav"), recursive=True))[:n]
    if not files:
        print(f"no .wav clips under {speech_dir}; audio skipped")
        return []
    clf = mmcnn.audio.AudioClassifier(num_classes=2, class_names=["a", "b"])
    clf.model  # noqa: B018
    _, t_decode = _timed(lambda: [mmcnn.audio.load_audio(f, sample_rate=clf.sample_rate) for f in files])
    _, t_pred = _timed(lambda: predict.predict_rows(clf, files))
    return [
        ("audio", len(files), "decode (`load_audio`, one by one)", t_decode),
        ("audio", len(files), "`mmcnn predict` (chunked path)", t_pred),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="image files")
    parser.add_argument("--audio-n", type=int, default=2_000)
    parser.add_argument("--speech-dir", help="clips from bench/data/speech.py (audio skipped without)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "predict.md"))
    args = parser.parse_args(argv)
    load_before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        rows = image_rows(args.n, tmp)
    if args.speech_dir and os.path.isdir(args.speech_dir):
        rows += audio_rows(args.speech_dir, args.audio_n)
    else:
        print("no --speech-dir (bench/data/speech.py builds one): audio skipped")
    lines = [
        "# Prediction throughput",
        "",
        f"Machine: {machine_line()}. Load average before: {load_before}; after: {load_average()}.",
        f"Command: `.venv/bin/python bench/bench_predict.py {' '.join(argv or sys.argv[1:])}`",
        "",
        "| modality | files | what | seconds | files/s |",
        "|---|---:|---|---:|---:|",
    ]
    lines += [f"| {m} | {n} | {what} | {t:.1f} | {n / t:.0f} |" for m, n, what, t in rows]
    lines += [
        "",
        "Notes: untrained weights (the cost is the same), default presets, the image at 28x28 grey. "
        "The tf.data path's time is mostly the model (decode alone runs at the rate in the first row). "
        "Audio has no tf.data decode of files (`AudioClassifier.input_dataset` takes waveforms): "
        "`mmcnn predict` decodes audio files in Python and predicts them in chunks, averaging windows.",
    ]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
