"""The baseline models the benchmarks compare mmcnn with, each as its source wrote it.

- image: the Keras example `mnist_convnet` (`mnist_convnet()`, trained with the example's own
  settings by `run_mnist_convnet`);
- audio: the TensorFlow "simple audio recognition" tutorial's CNN on its STFT
  (`audio_tutorial_model`, `audio_tutorial_setup`, `run_audio_tutorial`);
- text: TF-IDF of word 1-2-grams + logistic regression (`run_tfidf`; multi-label, one-vs-rest:
  `run_tfidf_multilabel`) and the Keras "text classification from scratch" CNN
  (`keras_scratch_model`, `keras_scratch_dataset`, `run_keras_scratch`);
- tables (`mmcnn.multimodal.Table`): logistic regression on the concatenated per-column features
  (TF-IDF of texts, small pixel grids of pictures, standardized numbers, one-hot categories;
  `run_linear_table`, features by `TableFeatures`);
- the hand-written Keras twins of each modality's default classifier (`hand_written_model`,
  compiled by `compile_like_mmcnn`, fed by `plain_dataset`): the same architecture in plain Keras,
  to measure mmcnn's overhead.
"""

import os
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

SEED = 0
NUM_CLASSES = 10

# ------------------------------------------------------- image: the Keras example mnist_convnet


def mnist_convnet():
    """The Keras example `mnist_convnet`'s model, layer for layer (28x28x1 in, 10 softmax out)."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            keras.layers.MaxPooling2D(pool_size=(2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def run_mnist_convnet(x_train, y_train, x_test, y_test):
    """The Keras example `mnist_convnet`, with its own settings, on Fashion-MNIST."""
    keras.utils.set_random_seed(0)
    x_train = x_train.astype("float32")[..., None] / 255.0
    x_test = x_test.astype("float32")[..., None] / 255.0
    y_train_1h = keras.utils.to_categorical(y_train, 10)
    model = mnist_convnet()
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    epochs, batch_size = 15, 128
    start = time.perf_counter()
    history = model.fit(
        x_train, y_train_1h, batch_size=batch_size, epochs=epochs, validation_split=0.1, verbose=2
    )
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    probs = model.predict(x_test, batch_size=256, verbose=0)
    eval_s = time.perf_counter() - start
    train_n = int(len(x_train) * 0.9)
    return {
        "name": "Keras example mnist_convnet",
        "settings": "epochs=15, batch_size=128, Adam (lr 1e-3), validation_split=0.1, no augmentation",
        "params": model.count_params(),
        "train_samples": train_n,
        "epochs": epochs,
        "train_s": train_s,
        "train_sps": epochs * train_n / train_s,
        "val_accuracy": history.history["val_accuracy"][-1],
        "test_accuracy": float(np.mean(np.argmax(probs, -1) == y_test)),
        "test_macro_f1": None,
        "predict_sps": len(y_test) / eval_s,
    }


# ---------------------------------------------- audio: the TF "simple audio" tutorial CNN
def audio_tutorial_model(train_spectrograms, num_classes):
    """The TensorFlow "simple audio recognition" tutorial's model, layer for layer."""
    norm = keras.layers.Normalization()
    norm.adapt(tf.data.Dataset.from_tensor_slices(train_spectrograms).batch(64))
    model = keras.Sequential(
        [
            keras.Input(shape=train_spectrograms.shape[1:]),
            keras.layers.Resizing(32, 32),
            norm,
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Dropout(0.25),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(num_classes),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def tutorial_spectrogram(waves):
    """The tutorial's `get_spectrogram`: |STFT| (255-sample frames, hop 128), channel axis."""
    spectrogram = tf.abs(tf.signal.stft(waves, frame_length=255, frame_step=128))
    return spectrogram[..., tf.newaxis]


def stacked(data, num_samples):
    from mmcnn.audio import fit_length

    return np.stack([fit_length(w, num_samples) for w in data.inputs])


# The baseline's early stopping (the tutorial's: patience 2, last weights kept).
AUDIO_TUTORIAL_STOPPING = dict(verbose=1, patience=2)


def audio_tutorial_setup(data, batch_size=64, seed=SEED):
    """`(model, train dataset, validation dataset, test spectrograms)` of the tutorial baseline:
    its STFT computed once for every split of `data` (one-second clips)."""
    keras.utils.set_random_seed(seed)
    n = 16000
    specs = {k: tutorial_spectrogram(stacked(d, n)).numpy() for k, d in data.items()}
    model = audio_tutorial_model(specs["train"], len(data["train"].class_names))
    train = (
        tf.data.Dataset.from_tensor_slices((specs["train"], data["train"].labels))
        .shuffle(len(specs["train"]), seed=seed)
        .batch(batch_size)
        .prefetch(2)
    )
    val = tf.data.Dataset.from_tensor_slices((specs["val"], data["val"].labels)).batch(batch_size)
    return model, train, val, specs["test"]


def run_audio_tutorial(data, epochs, batch_size=64, stopping=AUDIO_TUTORIAL_STOPPING, seed=SEED, verbose=2):
    model, train, val, test_specs = audio_tutorial_setup(data, batch_size, seed=seed)
    start = time.perf_counter()
    history = model.fit(
        train,
        validation_data=val,
        epochs=epochs,
        verbose=verbose,
        callbacks=[keras.callbacks.EarlyStopping(**stopping)],
    )
    train_time = time.perf_counter() - start
    start = time.perf_counter()
    logits = model.predict(test_specs, batch_size=batch_size, verbose=0)
    predict_time = time.perf_counter() - start
    accuracy = float(np.mean(np.argmax(logits, -1) == data["test"].labels))
    return {
        "accuracy": accuracy,
        "val_accuracy": float(model.evaluate(val, verbose=0)[1]),
        "train_time": train_time,
        "epochs_run": len(history.history["loss"]),
        "params": model.count_params(),
        "train_clips_per_s": len(history.history["loss"]) * len(data["train"]) / train_time,
        "predict_clips_per_s": len(data["test"]) / predict_time,
    }


# ---------------------------------------------------- text: TF-IDF + logistic regression
# Picked on the validation split with --tune-tfidf (C = 1, 10, 100 gave 0.4286, 0.4636, 0.4662).
TFIDF_C = 100.0


def scores(y_true, y_pred, class_names):
    from mmcnn.models.metrics import classification_report

    report = classification_report(np.asarray(y_true), np.asarray(y_pred), class_names)
    return report["accuracy"], report["macro_f1"]


def run_tfidf(train, val, test, tune=False):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    def make(c):
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        return vectorizer, LogisticRegression(C=c, max_iter=3000)

    best = (TFIDF_C, float("nan"))
    for c in (1.0, 10.0, 100.0) if tune else ():
        vectorizer, model = make(c)
        model.fit(vectorizer.fit_transform(train.inputs), train.labels)
        acc = float(np.mean(model.predict(vectorizer.transform(val.inputs)) == val.labels))
        if not acc <= best[1]:
            best = (c, acc)
    c = best[0]
    start = time.perf_counter()
    vectorizer, model = make(c)
    model.fit(vectorizer.fit_transform(train.inputs), train.labels)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = model.predict(vectorizer.transform(test.inputs))
    infer_s = time.perf_counter() - start
    acc, f1 = scores(test.labels, pred, test.class_names)
    return dict(
        name=f"TF-IDF word 1-2-grams + logistic regression (C={c:g})",
        accuracy=acc,
        macro_f1=f1,
        train_s=train_s,
        train_rate=len(train) / train_s,
        infer_rate=len(test) / infer_s,
        epochs="-",
        params="-",
    )


# Baseline settings tried on the validation split (mAP): scikit-learn's default token pattern
# drops one-character words and punctuation ("C library", "C++"), the other keeps them.
TOKEN_PATTERNS = {
    "words of 2+ characters": r"(?u)\b\w\w+\b",
    "words and punctuation": r"(?u)\w+|[^\w\s]+",
}


C_GRID = (1.0, 10.0, 100.0)


def run_tfidf_multilabel(train, val, test, quick=False):
    """The multi-label baseline (TF-IDF + one-vs-rest logistic regression): settings picked on
    validation mAP, thresholds on validation, test report."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    from mmcnn.models.metrics import best_thresholds
    from mmcnn.models.metrics import multilabel_report as score

    names = train.class_names
    y_train, y_val = train.target_matrix().astype(int), val.target_matrix()

    def fit(pattern, c):
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=pattern)
        model = OneVsRestClassifier(LogisticRegression(C=c, solver="liblinear"))
        model.fit(vectorizer.fit_transform(train.inputs), y_train)
        return vectorizer, model

    def scores_of(fitted, data):
        vectorizer, model = fitted
        return model.predict_proba(vectorizer.transform(data.inputs))

    grid = [("words and punctuation", 10.0)] if quick else [(p, c) for p in TOKEN_PATTERNS for c in C_GRID]
    tried = []
    start = time.perf_counter()
    for pattern, c in grid:
        report = score(y_val, scores_of(fit(TOKEN_PATTERNS[pattern], c), val), 0.5, names)
        tried.append((pattern, c, report["mean_average_precision"]))
        print(f"  TF-IDF {pattern}, C={c:g}: validation mAP {tried[-1][2]:.4f}", flush=True)
    grid_s = time.perf_counter() - start
    pattern, c, _ = max(tried, key=lambda item: item[2])
    start = time.perf_counter()
    fitted = fit(TOKEN_PATTERNS[pattern], c)
    thresholds = best_thresholds(y_val, scores_of(fitted, val))
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    test_scores = scores_of(fitted, test)
    predict_s = time.perf_counter() - start
    return dict(
        name=f"TF-IDF word 1-2-grams ({pattern}) + one-vs-rest logistic regression (C={c:g})",
        short="TF-IDF + LR",
        report=score(test.target_matrix(), test_scores, thresholds, names),
        val_report=score(y_val, scores_of(fitted, val), thresholds, names),
        train_s=train_s,
        predict_rate=len(test) / predict_s,
        epochs="-",
        params=f"{len(fitted[0].vocabulary_)} features",
        tried=tried,
        grid_s=grid_s,
    )


# ------------------------------------------------ text: the Keras "text classification from scratch" CNN
def keras_scratch_model(train, multi_label=False):
    """The Keras "text classification from scratch" CNN, its vectorizer adapted to `train`
    (`multi_label`: sigmoid outputs and binary cross-entropy instead of softmax)."""
    keras.utils.set_random_seed(SEED)
    num_classes = len(train.class_names)
    vectorize = keras.layers.TextVectorization(
        max_tokens=20000, output_mode="int", output_sequence_length=500
    )
    vectorize.adapt(tf.constant(train.inputs))
    text = keras.Input(shape=(1,), dtype="string")
    x = vectorize(text)
    x = keras.layers.Embedding(20000, 128)(x)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = keras.layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.5)(x)
    out = keras.layers.Dense(num_classes, activation="sigmoid" if multi_label else "softmax")(x)
    model = keras.Model(text, out)
    loss = "binary_crossentropy" if multi_label else "sparse_categorical_crossentropy"
    model.compile(loss=loss, optimizer="adam", metrics=[] if multi_label else ["accuracy"])
    return model


def keras_scratch_dataset(data, training=False):
    """Its input: string tensors `(batch, 1)`, batches of 32, shuffled with the seed for training."""
    d = tf.data.Dataset.from_tensor_slices((tf.constant(data.inputs)[:, None], data.labels))
    if training:
        d = d.shuffle(len(data), seed=SEED)
    return d.batch(32).prefetch(tf.data.AUTOTUNE)


# Its early stopping (the example trains 3 epochs; here up to `epochs`, best weights kept).
KERAS_SCRATCH_STOPPING = dict(monitor="val_loss", patience=2, restore_best_weights=True)


def run_keras_scratch(train, val, test, epochs=10):
    model = keras_scratch_model(train)
    ds = keras_scratch_dataset
    start = time.perf_counter()
    history = model.fit(
        ds(train, True),
        validation_data=ds(val, False),
        epochs=epochs,
        verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(**KERAS_SCRATCH_STOPPING)],
    )
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    probs = model.predict(ds(test, False), verbose=0)
    infer_s = time.perf_counter() - start
    acc, f1 = scores(test.labels, probs.argmax(-1), test.class_names)
    return dict(
        name="Keras 'text classification from scratch' CNN",
        accuracy=acc,
        macro_f1=f1,
        train_s=train_s,
        train_rate=len(train) * len(history.history["loss"]) / train_s,
        infer_rate=len(test) / infer_s,
        epochs=len(history.history["loss"]),
        params=model.count_params(),
    )


# ------------------------------------------------------------------ the hand-written Keras twins
def _conv_bn_relu(x, filters, kernel, rank, pool):
    conv = keras.layers.Conv2D if rank == 2 else keras.layers.Conv1D
    x = conv(filters, kernel, padding="same", use_bias=False, kernel_initializer="he_normal")(x)
    x = keras.layers.BatchNormalization(momentum=0.9)(x)
    x = keras.layers.ReLU()(x)
    if pool:
        x = (keras.layers.MaxPooling2D(2) if rank == 2 else keras.layers.MaxPooling1D(2))(x)
    return x


def _stack(x, preset, rank):
    for stage in preset["stages"]:
        for b in range(stage.get("blocks", 1)):
            last = b == stage.get("blocks", 1) - 1
            x = _conv_bn_relu(
                x,
                stage["filters"],
                stage.get("kernel_size", 3),
                rank,
                pool=last and stage.get("pooling") == "max",
            )
    return x


def _head(x, preset, rank):
    pool = keras.layers.GlobalAveragePooling2D if rank == 2 else keras.layers.GlobalAveragePooling1D
    if preset.get("head_pooling") == "max":
        pool = keras.layers.GlobalMaxPooling1D
    x = pool()(x)
    if preset.get("head_dropout"):
        x = keras.layers.Dropout(preset["head_dropout"])(x)
    x = keras.layers.Dense(NUM_CLASSES)(x)
    return keras.layers.Softmax(dtype="float32")(x)


def hand_written_model(modality, clf, texts=None):
    """The classifier's architecture rebuilt layer by layer with plain Keras layers.

    Image: Keras's own RandomFlip + RandomTranslation (the "light" policy), Rescaling, then
    Conv-BN-ReLU(-MaxPool) blocks and the head. Audio and text have no plain-Keras twin of
    their front end (waveform augmentation, librosa-exact log-mel, tensorflow-text
    tokenizer), so the same front-end layer classes are instantiated with the same
    arguments and everything after them is plain Keras.
    """
    keras.utils.set_random_seed(SEED)
    preset = clf.preset_config
    if modality == "image":
        inputs = keras.Input((28, 28, 1))
        x = keras.layers.RandomFlip("horizontal", seed=SEED)(inputs)
        x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="reflect", seed=SEED + 1)(x)
        x = keras.layers.Rescaling(1.0 / 255.0)(x)
        x = _conv_bn_relu(x, preset["stem"], 3, 2, pool=False)
        x = _stack(x, preset, 2)
        return keras.Model(inputs, _head(x, preset, 2), name="hand_image")
    if modality == "audio":
        from mmcnn.audio.audio_classifier import augmentation_layers

        wave_aug, spec_aug = augmentation_layers(clf.augmentation, SEED)
        inputs = keras.Input((clf.num_samples,))
        x = inputs
        for layer in [*wave_aug, clf._make_converter(), *spec_aug]:
            x = layer(x)
        x = _conv_bn_relu(x, preset["stem"], preset["stem_kernel"], 1, pool=False)
        x = _stack(x, preset, 1)
        return keras.Model(inputs, _head(x, preset, 1), name="hand_audio")
    # Text: Kim (2014) windows, masked padding, as TokenWindowAdapter computes it.
    from keras import ops

    tokenizer = clf._new_tokenizer()
    tokenizer.adapt(np.asarray([t.encode() for t in texts], dtype=object))
    inputs = keras.Input((), dtype="string")
    ids = tokenizer(inputs)
    x = keras.layers.Embedding(tokenizer.vocabulary_size, preset["embedding_dim"])(ids)
    mask = ops.expand_dims(ops.cast(ops.not_equal(ids, 0), "float32"), -1)
    x = keras.layers.Dropout(preset["dropout"])(x * mask)
    branches = [
        keras.layers.Conv1D(preset["filters"], k, activation="relu")(ops.pad(x, [[0, 0], [0, k - 1], [0, 0]]))
        for k in preset["widths"]
    ]
    x = keras.layers.Concatenate()(branches) * mask
    return keras.Model(inputs, _head(x, preset, 1), name="hand_text")


def compile_like_mmcnn(model, clf, steps, epochs, **compile_kwargs):
    """The optimizer, schedule, loss and metrics of `Classifier.compile`."""
    lr = clf.setting("learning_rate")
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0,
        decay_steps=max(1, steps * epochs - steps // 2),
        warmup_target=lr,
        warmup_steps=max(1, steps // 2),
        alpha=0.01,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(
            learning_rate=schedule, weight_decay=clf.preset_config.get("weight_decay", 1e-4)
        ),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        **compile_kwargs,
    )


def plain_dataset(x, y, batch_size):
    """The straightforward pipeline: from_tensor_slices -> shuffle -> batch -> prefetch."""
    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(y), seed=SEED)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


# ------------------------------------------- tables: logistic regression on per-column features
# Pictures become a grid of this many pixels a side (RGB, standardized, then divided by the square
# root of its width, so that its rows have about unit norm like a TF-IDF or one-hot row: else its
# 768 columns outweigh the text's in the L2 penalty); numbers are log1p'd (sizes and counts are
# heavy-tailed) then standardized; a missing cell is a zero block (the training mean for a
# number, no category, an empty text, a picture of training-mean pixels).
TABLE_PIXELS = 16
TABLE_C_GRID = (1.0, 10.0, 100.0)


def _pixels(path, side):
    from PIL import Image

    if path is None:
        return np.zeros(side * side * 3, "float32")
    with Image.open(path) as image:
        rgb = image.convert("RGB").resize((side, side), Image.BILINEAR)
    return np.asarray(rgb, "float32").reshape(-1) / 255.0


class TableFeatures:
    """Per-column features of a `Table`, fitted on the training table.

    Args:
        columns: the names of the columns to use (kinds come from the table).
        pixels: side of the pixel grid a picture is resized to.
    """

    def __init__(self, columns, pixels=TABLE_PIXELS):
        self.columns, self.pixels = list(columns), pixels
        self.encoders = {}

    def fit(self, table):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import OneHotEncoder, StandardScaler

        for name in self.columns:
            kind, values = table.columns[name], table.values[name]
            if kind == "text":
                encoder = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
                encoder.fit([v or "" for v in values])
            elif kind == "number":
                known = np.log1p(np.maximum([v for v in values if v is not None], 0.0))
                encoder = StandardScaler().fit(known.reshape(-1, 1))
            elif kind == "category":
                encoder = OneHotEncoder(handle_unknown="ignore")
                encoder.fit(np.array([v if v is not None else "" for v in values], object).reshape(-1, 1))
            else:  # a picture column (paths)
                stacked = np.stack([_pixels(v, self.pixels) for v in values if v is not None])
                encoder = StandardScaler().fit(stacked)
            self.encoders[name] = encoder
        return self

    def transform(self, table):
        """A sparse matrix: one row per table row, the columns' blocks side by side."""
        from scipy import sparse

        blocks = []
        for name in self.columns:
            kind, values, encoder = table.columns[name], table.values[name], self.encoders[name]
            if kind == "text":
                block = encoder.transform([v or "" for v in values])
            elif kind == "number":
                mean = float(np.expm1(encoder.mean_[0]))
                filled = np.log1p(np.maximum([mean if v is None else v for v in values], 0.0))
                block = sparse.csr_matrix(encoder.transform(filled.reshape(-1, 1)))
            elif kind == "category":
                cells = np.array([v if v is not None else "" for v in values], object).reshape(-1, 1)
                block = encoder.transform(cells)
            else:
                pixels = encoder.transform(np.stack([_pixels(v, self.pixels) for v in values]))
                pixels[[v is None for v in values]] = 0.0
                pixels /= np.sqrt(pixels.shape[1])
                block = sparse.csr_matrix(pixels)
            blocks.append(block)
        return sparse.hstack(blocks).tocsr()


def _class_ids(table, class_names):
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[label] for label in table.labels])


def run_linear_table(train, val, test, columns, extra_tests=None):
    """Logistic regression on `TableFeatures(columns)`: `C` picked on `val`, scored on `test`.

    Args:
        train, val, test: `mmcnn.multimodal.Table`s with the same columns.
        columns: the names of the columns to use.
        extra_tests: optional `{name: Table}` also scored (e.g. a test table with blanked cells).

    Returns:
        dict: name, accuracy, macro_f1, val_accuracy, C, train_s (features and fit of the chosen
        `C`), features (width of the feature matrix), and `<name>_accuracy` per extra test.
    """
    from sklearn.linear_model import LogisticRegression

    class_names = train.class_names
    y_train, y_val, y_test = (_class_ids(t, class_names) for t in (train, val, test))
    start = time.perf_counter()
    features = TableFeatures(columns).fit(train)
    x_train, x_val, x_test = (features.transform(t) for t in (train, val, test))
    featurize_s = time.perf_counter() - start
    best = None
    for c in TABLE_C_GRID:
        start = time.perf_counter()
        model = LogisticRegression(C=c, max_iter=3000).fit(x_train, y_train)
        fit_s = time.perf_counter() - start
        val_accuracy = float(np.mean(model.predict(x_val) == y_val))
        if best is None or val_accuracy > best[1]:
            best = (c, val_accuracy, model, fit_s)
    c, val_accuracy, model, fit_s = best
    accuracy, macro_f1 = scores(y_test, model.predict(x_test), class_names)
    result = dict(
        name=f"logistic regression on {' + '.join(columns)} (C={c:g})",
        accuracy=accuracy,
        macro_f1=macro_f1,
        val_accuracy=val_accuracy,
        C=c,
        train_s=featurize_s + fit_s,
        features=x_train.shape[1],
    )
    for name, table in (extra_tests or {}).items():
        y = _class_ids(table, class_names)
        result[f"{name}_accuracy"] = float(np.mean(model.predict(features.transform(table)) == y))
    return result
