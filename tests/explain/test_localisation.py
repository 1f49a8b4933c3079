"""Grad-CAM finds the evidence where it was put: one tiny classifier per modality.

Each task has its class evidence in one known region: a bright square in the
top-left quadrant of an image, a tone burst at a known time of a clip, a
keyword at a known position of a text. Held-out examples of that class must
get maps that peak in the region and put most of their mass there.
"""

import numpy as np
import pytest

import mmcnn.audio as ma
import mmcnn.image as mi
import mmcnn.text as mt

pytestmark = pytest.mark.slow

IMAGE = 16
RATE, CLIP = 16000, 0.5
BURST = (0.28, 0.36)  # seconds: where the tone burst sits


def square_images(n, seed):
    """Noise; every other image has a bright 4x4 square somewhere in the top-left quadrant."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 60, (n, IMAGE, IMAGE)).astype("float32")
    labels = []
    for i in range(n):
        if i % 2:
            r, c = rng.integers(0, IMAGE // 2 - 3, 2)
            images[i, r : r + 4, c : c + 4] = 230 + rng.uniform(0, 25, (4, 4))
            labels.append("square")
        else:
            labels.append("plain")
    return images, labels


def burst_clips(n, seed):
    """White noise; every other clip has a 1.5 kHz tone burst at `BURST`."""
    rng = np.random.default_rng(seed)
    samples = int(RATE * CLIP)
    clips = rng.normal(0, 0.05, (n, samples)).astype("float32")
    t = np.arange(samples) / RATE
    inside = (t >= BURST[0]) & (t < BURST[1])
    labels = []
    for i in range(n):
        if i % 2:
            clips[i] += (0.5 * np.sin(2 * np.pi * 1500 * t + rng.uniform(0, 6)) * inside).astype("float32")
            labels.append("burst")
        else:
            labels.append("noise")
    return clips, labels


FILLER = "the a one it was so then film plot scene story day time we they".split()


def keyword_texts(n, seed):
    """Eight filler words; every other text has the keyword "excellent" at a random position."""
    rng = np.random.default_rng(seed)
    texts, labels, positions = [], [], []
    for i in range(n):
        words = list(rng.choice(FILLER, 8))
        position = int(rng.integers(0, 8))
        if i % 2:
            words[position] = "excellent"
            labels.append("keyword")
        else:
            labels.append("filler")
        texts.append(" ".join(words))
        positions.append(position)
    return texts, labels, positions


def test_image_map_peaks_on_the_square():
    images, labels = square_images(96, seed=0)
    clf = mi.ImageClassifier(
        image_size=(IMAGE, IMAGE),
        channels=1,
        preset="tiny",
        augmentation="none",
        epochs=10,
        batch_size=16,
        learning_rate=3e-3,
        seed=0,
    )
    clf.fit(mi.from_arrays(images, labels), validation_split=0.25, verbose=0)
    test_images, test_labels = square_images(40, seed=1)
    squares = test_images[np.asarray(test_labels) == "square"]
    out = clf.explain(squares, class_name="square")
    maps = np.stack(out["maps"])
    assert maps.shape == (len(squares), IMAGE, IMAGE)
    assert maps.min() >= 0 and maps.max() <= 1
    peaks = np.array([np.unravel_index(np.argmax(m), m.shape) for m in maps])
    in_quadrant = (peaks < IMAGE // 2).all(axis=1)
    assert in_quadrant.mean() >= 0.9, peaks
    half = IMAGE // 2
    inside = maps[:, :half, :half].sum(axis=(1, 2))
    assert np.median(inside / maps.sum(axis=(1, 2))) > 0.5  # a quarter of the picture holds most of it
    assert out["class_names"] == ["square"] * len(squares)
    assert np.mean(np.argmax(out["probabilities"], -1) == clf.class_names.index("square")) >= 0.9


def test_audio_curve_peaks_on_the_burst():
    clips, labels = burst_clips(96, seed=0)
    clf = ma.AudioClassifier(
        sample_rate=RATE,
        clip_seconds=CLIP,
        preset="tiny",
        augmentation="none",
        epochs=8,
        batch_size=16,
        learning_rate=3e-3,
        seed=0,
    )
    clf.fit(ma.from_arrays(clips, labels, sample_rate=RATE), validation_split=0.25, verbose=0)
    test_clips, test_labels = burst_clips(40, seed=1)
    bursts = test_clips[np.asarray(test_labels) == "burst"]
    out = clf.explain(bursts, class_name="burst")
    frames, bins = out["backgrounds"][0].shape
    assert out["maps"][0].shape == (frames, bins)
    times = np.arange(frames) * out["frame_seconds"]
    # One cell of the time map (4 frames in the tiny preset): a cell that ends the burst sees it.
    cell = frames / len(out["feature_maps"][0]) * out["frame_seconds"]
    inside = (times >= BURST[0] - cell) & (times <= BURST[1] + cell)
    curves = np.stack(out["curves"])
    peaks = times[np.argmax(curves, axis=1)]
    assert np.mean(inside[np.argmax(curves, axis=1)]) >= 0.9, peaks  # measured: 1.0
    # A third of the frames holds clearly more than a third of the curve (measured: median 0.46).
    share = curves[:, inside].sum(axis=1) / curves.sum(axis=1)
    assert np.median(share) > inside.mean() + 0.08, (share, inside.mean())


def test_text_scores_peak_on_the_keyword():
    texts, labels, _ = keyword_texts(160, seed=0)
    clf = mt.TextClassifier(
        max_tokens=16,
        embedding_dim=8,
        filters=4,
        min_frequency=1,
        batch_size=16,
        learning_rate=1e-2,
        epochs=6,
        seed=0,
    )
    clf.fit(mt.from_arrays(texts, labels), validation_split=0.25, verbose=0)
    test_texts, test_labels, positions = keyword_texts(40, seed=1)
    chosen = [i for i, label in enumerate(test_labels) if label == "keyword"]
    out = clf.explain([test_texts[i] for i in chosen], class_name="keyword")
    assert [len(m) for m in out["maps"]] == [8] * len(chosen)
    peaks = np.array([int(np.argmax(m)) for m in out["maps"]])
    assert np.mean(peaks == np.array([positions[i] for i in chosen])) >= 0.9
    # The existing one-text view: the top window holds the keyword.
    one = clf.explain(test_texts[chosen[0]], top_k=2)
    assert one["label"] == "keyword" and "excellent" in one["windows"][0]["tokens"].split()
