"""Exploration for issue 32: a bag of hashed character n-grams beside Kim's word windows.

Not the library's model and not a benchmark of run_all: a small Keras model written here to
learn whether character information, which TF-IDF + LR over character n-grams has and the text
default lacks, closes the gap before the library grows a second id stream for it.

- Words: `TextClassifier()`'s own tokenizer (unicode_script, vocabulary learned from the
  training texts, `max_tokens="auto"`), Kim's windows (`TokenWindowAdapter`, widths 2-5, 100
  filters each), global max pool.
- Characters: each lower-cased word padded with a space on both sides, its 2- to 5-grams (as
  scikit-learn's `char_wb`), hashed with CRC-32 into `BUCKETS` rows of a 64-value table; a text's
  vector is their sum over the square root of their number, times `scale` (the table starts
  `scale` times smaller: `WideTokenWindowAdapter`'s `wide_scale`); at most `MAX_GRAMS` a text.
- Head: dropout 0.5, one dense layer (softmax, or sigmoid for multi-label); AdamW 1e-3, weight
  decay 1e-4, batch 32, 12 epochs, no schedule, no early stopping. The validation score is
  printed after every epoch; "last" is the 12th epoch's (the honest number), "best" the
  highest (optimistic: chosen on the split it is scored on).

    PYTHONPATH=$PWD nice -n 0 .venv/bin/python -m bench.explore_text_char_bag debian-sections apps
"""

import argparse
import os
import time
import zlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from bench.datasets import TEXT_SETS, text_sets  # noqa: E402
from bench.harness import load_average, machine_line  # noqa: E402
from mmcnn.models.metrics import multilabel_report  # noqa: E402
from mmcnn.text import TextClassifier  # noqa: E402
from mmcnn.text.text_adapter import TokenWindowAdapter  # noqa: E402

BUCKETS = 2**18  # `--buckets`
MAX_GRAMS = 600
EPOCHS = 12
DIM = 64  # `--dim`


def word_grams(word):
    """The character 2-5-grams of `word` padded with a space on both sides (scikit-learn's `char_wb`)."""
    word = f" {word} "
    return [word[j : j + n] for n in range(2, 6) for j in range(len(word) - n + 1)]


def char_grams(texts, tokens=None):
    """`(texts, MAX_GRAMS)` int32 rows of hashed character 2-5-grams within words (0 = padding).

    With `tokens` (lists of vocabulary tokens, one list per text: what the model's ids name), the
    grams of those tokens only, as a model that sees nothing but the ids could compute them."""
    out = np.zeros((len(texts), MAX_GRAMS), "int32")
    for i, text in enumerate(texts):
        words = str(text).lower().split() if tokens is None else tokens[i]
        grams = [g for word in words for g in word_grams(word)]
        ids = [1 + zlib.crc32(g.encode()) % (BUCKETS - 1) for g in grams][:MAX_GRAMS]
        out[i, : len(ids)] = ids
    return out


class GramBag(keras.layers.Layer):
    """Sum of the rows of `ids` (0 = padding) over the square root of their number, times `scale`."""

    def __init__(self, dim, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale
        start = 0.05 / scale
        self.table = keras.layers.Embedding(
            BUCKETS, dim, embeddings_initializer=keras.initializers.RandomUniform(-start, start)
        )

    def call(self, ids):
        real = ops.cast(ops.not_equal(ids, 0), "float32")
        total = ops.sum(self.table(ids) * real[..., None], axis=1)
        return total * self.scale / ops.sqrt(ops.maximum(ops.sum(real, axis=1, keepdims=True), 1.0))


def score(data, probabilities):
    if data.multi_label:
        thresholds = np.full(len(data.class_names), 0.5)
        return multilabel_report(data.target_matrix(), probabilities, thresholds, data.class_names)[
            "mean_average_precision"
        ]
    return float(np.mean(probabilities.argmax(-1) == data.labels))


def run(name, train, val, scale, source="text", min_frequency=2):
    """Trains the words + character bag model; returns `(last, best, seconds, curve)`."""
    clf = TextClassifier(seed=0, min_frequency=min_frequency)
    clf.adapt(train)
    tokenizer = clf.tokenizer
    vocabulary = tokenizer.get_vocabulary()

    def features(data):
        ids = tokenizer(np.asarray(list(data.inputs), dtype=object)).numpy()
        if source == "text":
            return [ids, char_grams(data.inputs)]
        tokens = [[vocabulary[i] for i in row if i >= 2] for row in ids]
        return [ids, char_grams(data.inputs, tokens)]

    x_train, x_val = features(train), features(val)
    y_train = train.target_matrix() if train.multi_label else train.labels
    keras.utils.set_random_seed(0)
    words = keras.Input((x_train[0].shape[1],), dtype="int32")
    chars = keras.Input((MAX_GRAMS,), dtype="int32")
    windows = TokenWindowAdapter(
        tokenizer.vocabulary_size, embedding_dim=128, filters=100, widths=[2, 3, 4, 5], dropout=0.25
    )(words)
    h = keras.layers.Concatenate()([keras.layers.GlobalMaxPooling1D()(windows), GramBag(DIM, scale)(chars)])
    h = keras.layers.Dropout(0.5)(h)
    activation = "sigmoid" if train.multi_label else "softmax"
    model = keras.Model([words, chars], keras.layers.Dense(len(train.class_names), activation=activation)(h))
    loss = "binary_crossentropy" if train.multi_label else "sparse_categorical_crossentropy"
    model.compile(keras.optimizers.AdamW(1e-3, weight_decay=1e-4), loss)
    curve, start = [], time.perf_counter()
    for _ in range(EPOCHS):
        model.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0, shuffle=True)
        curve.append(score(val, model.predict(x_val, verbose=0, batch_size=256)))
        print(f"  {name} epoch {len(curve)}: {curve[-1]:.4f}", flush=True)
    return curve[-1], max(curve), time.perf_counter() - start, curve


def main():
    global BUCKETS, DIM
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+", choices=TEXT_SETS)
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 4.0])
    parser.add_argument(
        "--source",
        choices=["text", "vocab"],
        default="text",
        help="grams of the text's words, or of the vocabulary tokens its ids name (what a model sees)",
    )
    parser.add_argument("--buckets", type=int, default=BUCKETS, help="rows of the character n-gram table")
    parser.add_argument("--dim", type=int, default=64, help="values per character n-gram row")
    parser.add_argument("--min-frequency", type=int, default=2, help="the vocabulary's least token count")
    args = parser.parse_args()
    BUCKETS, DIM = args.buckets, args.dim
    print(machine_line())
    print("load before:", load_average())
    print(f"source={args.source} min_frequency={args.min_frequency} buckets={BUCKETS} dim={DIM}")
    print("| set | scale | validation, last epoch | best epoch | train s | curve |")
    print("|---|---|---|---|---|---|")
    for set_name, (train, val, _test, _about) in text_sets(args.sets).items():
        for scale in args.scales:
            last, best, seconds, curve = run(
                f"{set_name} s{scale:g}", train, val, scale, args.source, args.min_frequency
            )
            shown = " ".join(f"{c:.3f}" for c in curve)
            row = f"| {set_name} | {scale:g} | {last:.4f} | {best:.4f} | {seconds:.0f} | {shown} |"
            print(row, flush=True)
    print("load after:", load_average())


if __name__ == "__main__":
    main()
