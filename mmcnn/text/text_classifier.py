"""TextClassifier: 1-D receptive fields over windows of consecutive tokens.

The model takes raw `tf.string` texts `(batch,)`: tokenization runs in graph
(`TextTokenizer`, vocabulary inside the model), so `predict`, `.keras` files
and exported SavedModels all take raw strings with no file beside them.
"""

import logging

import keras
import numpy as np
import tensorflow as tf

from mmcnn.models.classifier import Classifier
from mmcnn.text.text_adapter import TokenWindowAdapter
from mmcnn.text.text_converter import BYTES_PER_TOKEN, MODES, PAD_ID, TextTokenizer
from mmcnn.text.text_data import from_dataframe, from_directory, read_text_file
from mmcnn.text.text_serving import text_endpoints, text_settings

logger = logging.getLogger("mmcnn")

# The WordPiece learner is pure Python (about a minute for 4 MB of text): learn it
# from a seeded sample of this many texts when the corpus is larger.
WORDPIECE_SAMPLE = 20000

_TRAINING = dict(learning_rate=1e-3, epochs=12, batch_size=32, patience=3, weight_decay=1e-4)

PRESETS = {
    # Kim (2014): parallel windows of 2..5 tokens, max over positions, dropout, softmax.
    # Settings picked on a validation split of the fortunes corpus (bench/bench_text.py --tune):
    # unicode_script tokens (punctuation split from words) beat whitespace words, 0.505 vs 0.446.
    "kim": dict(
        rank=1,
        stages=[],
        head_pooling="max",
        head_dropout=0.5,
        mode="unicode_script",
        max_tokens=64,
        embedding_dim=128,
        filters=100,
        widths=[2, 3, 4, 5],
        blocks=None,
        dropout=0.25,
        **_TRAINING,
    ),
    # Stacked convolution blocks: wider receptive fields for longer texts.
    "deep": dict(
        rank=1,
        stages=[],
        head_pooling="max",
        head_dropout=0.5,
        mode="word",
        max_tokens=256,
        embedding_dim=128,
        filters=128,
        widths=[3],
        blocks=[
            {"filters": 128, "kernel_size": 3},
            {"filters": 128, "kernel_size": 3, "pool_size": 2},
            {"filters": 256, "kernel_size": 3},
            {"filters": 256, "kernel_size": 3},
        ],
        dropout=0.1,
        **_TRAINING,
    ),
    # A character-level CNN in the manner of Zhang, Zhao & LeCun (2015), narrower
    # (256 -> 128 feature maps, 1014 -> 512 characters) to train on CPUs.
    "char": dict(
        rank=1,
        stages=[],
        head_pooling="max",
        head_dropout=0.5,
        head_hidden_units=256,
        mode="char",
        max_tokens=512,
        embedding_dim=32,
        filters=128,
        widths=[7],
        blocks=[
            {"filters": 128, "kernel_size": 7, "pool_size": 3},
            {"filters": 128, "kernel_size": 7, "pool_size": 3},
            {"filters": 128, "kernel_size": 3},
            {"filters": 128, "kernel_size": 3},
            {"filters": 128, "kernel_size": 3, "pool_size": 3},
        ],
        dropout=0.0,
        **{**_TRAINING, "epochs": 20},
    ),
}

AUGMENTATIONS = ("none",)


class TextClassifier(Classifier):
    """Text classifier: tokenizer -> token-window adapter -> global max pool -> head.

    The model takes raw texts (`tf.string`, shape `(batch,)`) and returns class
    probabilities. Tokenization and the vocabulary live inside the model
    (`TextTokenizer`); the vocabulary is learned from the training texts by the
    first `fit` (or by `adapt`). Padding is masked: the output for a text does
    not depend on how much padding follows it.

    One behaviour for each awkward input, never a crash: invalid UTF-8 bytes
    are replaced by U+FFFD; an empty text is an all-padding input (its
    probabilities come from the head's bias alone); a text longer than
    `max_tokens` tokens is truncated (a 10 MB line costs no more than a long
    text: it is cut to `max_tokens * 64` bytes first).

    Args:
        num_classes: number of classes (or give `class_names`, or let `fit` take them from the data).
        mode: tokenizer mode: `"word"`, `"unicode_script"`, `"wordpiece"`,
            `"char"` or `"byte"` (default: the preset's).
        max_tokens: tokens per text; longer texts are truncated (default: the preset's).
        vocabulary_size: the most token ids, the 2 reserved ids (padding, unknown) included.
        min_frequency: least count of a token kept in the vocabulary.
        class_names: ordered class names; they travel with the saved model.
        preset: `"kim"` (default: parallel 2..5-token windows), `"deep"`
            (stacked blocks) or `"char"` (character-level CNN).
        augmentation: `"none"` (text has no augmentation yet).
        learning_rate, epochs, batch_size: training settings (default: the preset's).
        seed: seed of initialisation and shuffling.
        embedding_dim, filters, widths, dropout: adapter settings (default:
            the preset's); see `TokenWindowAdapter`.
        lowercase: fold case before tokenizing.

    Example:
    >>> clf = TextClassifier(class_names=["bad", "good"], max_tokens=16, min_frequency=1,
    ...                      embedding_dim=8, filters=4)
    >>> clf.adapt(["good film", "bad film"])
    >>> clf.predict(["a good film", ""])["probabilities"].shape
    (2, 2)
    """

    modality = "text"
    from_directory = staticmethod(from_directory)
    from_dataframe = staticmethod(from_dataframe)
    input_extensions = (".txt",)
    presets = PRESETS
    default_preset = "kim"

    def __init__(
        self,
        num_classes=None,
        mode=None,
        max_tokens=None,
        vocabulary_size=20000,
        min_frequency=2,
        class_names=None,
        preset=None,
        augmentation="none",
        learning_rate=None,
        epochs=None,
        batch_size=None,
        seed=0,
        embedding_dim=None,
        filters=None,
        widths=None,
        dropout=None,
        lowercase=True,
    ):
        if augmentation not in AUGMENTATIONS:
            raise ValueError(
                f"`augmentation` must be one of {AUGMENTATIONS}. Received: augmentation={augmentation!r}"
            )
        if mode is not None and mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        super().__init__(
            num_classes=num_classes,
            class_names=class_names,
            preset=preset,
            augmentation=augmentation,
            learning_rate=learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
        )
        self.mode = mode
        self.max_tokens = max_tokens
        self.vocabulary_size = vocabulary_size
        self.min_frequency = min_frequency
        self.embedding_dim = embedding_dim
        self.filters = filters
        self.widths = None if widths is None else [int(w) for w in widths]
        self.dropout = dropout
        self.lowercase = lowercase
        self._tokenizer = None
        # Built now so that bad tokenizer / adapter arguments fail here, naming themselves.
        self._new_tokenizer()
        TokenWindowAdapter(self.vocabulary_size, **self._adapter_settings())

    # ----------------------------------------------------------- front door
    def _adapter_settings(self):
        return dict(
            embedding_dim=self.setting("embedding_dim"),
            filters=self.setting("filters"),
            widths=self.setting("widths"),
            blocks=self.preset_config.get("blocks"),
            dropout=self.setting("dropout"),
        )

    def _new_tokenizer(self):
        return TextTokenizer(
            mode=self.setting("mode"),
            max_tokens=self.setting("max_tokens"),
            vocabulary_size=self.vocabulary_size,
            min_frequency=self.min_frequency,
            lowercase=self.lowercase,
            name="tokenizer",
        )

    @property
    def tokenizer(self):
        """The `TextTokenizer` (inside the model once it is built)."""
        if self._model is not None:
            return self._model.get_layer("tokenizer")
        return self._tokenizer

    def adapt(self, texts, seed=None):
        """Learns the vocabulary from `texts` (a list of strings or `LabeledData`).

        `fit` calls it on its training data when the model is not built yet.
        Wordpiece mode learns from a seeded sample of 20000 texts when there are more.
        """
        if self._model is not None:
            raise ValueError(
                "adapt() must come before the model is built: the vocabulary is part of "
                "the model. Make a new TextClassifier to learn another vocabulary."
            )
        texts = list(getattr(texts, "inputs", texts))
        tokenizer = self._new_tokenizer()
        if tokenizer.mode == "wordpiece" and len(texts) > WORDPIECE_SAMPLE:
            rng = np.random.default_rng(self.seed if seed is None else seed)
            texts = [texts[i] for i in np.sort(rng.choice(len(texts), WORDPIECE_SAMPLE, replace=False))]
        tokenizer.adapt(np.asarray(_as_texts(texts), dtype=object))
        self._tokenizer = tokenizer

    def _prepare_for_training(self, data):
        if self._tokenizer is None:
            self.adapt(data)

    def _model_input(self):
        return keras.Input(shape=(), dtype="string", name="text")

    def _front_layers(self):
        tokenizer = self._tokenizer
        if tokenizer is None:
            if self.setting("mode") != "byte":
                raise ValueError(
                    "TextClassifier needs a vocabulary before its model can be built: call "
                    "fit(data), which learns it, or adapt(texts) first"
                )
            tokenizer = self._tokenizer = self._new_tokenizer()
        adapter = TokenWindowAdapter(tokenizer.vocabulary_size, **self._adapter_settings(), name="adapter")
        return [tokenizer, adapter]

    # ----------------------------------------------------------------- data
    def _element_nbytes(self):
        return self.setting("max_tokens") * BYTES_PER_TOKEN

    def _input_dataset(self, data, training=False):
        if data.kind != "texts":
            raise ValueError(
                f"TextClassifier reads texts; received {data.kind!r} data "
                "(use mmcnn.text.from_directory / from_dataframe / from_arrays)"
            )
        texts = tf.constant(_as_texts(data.inputs), dtype=tf.string, shape=[len(data.inputs)])
        budget = self.setting("max_tokens") * BYTES_PER_TOKEN
        # The tokenizer cuts to this budget first anyway; cutting here keeps the cache small.
        return tf.data.Dataset.from_tensor_slices(texts).map(
            lambda t: tf.strings.substr(t, 0, budget, unit="BYTE")
        )

    def preprocess(self, inputs):
        """Raw texts -> a `tf.string` batch `(n,)`; one string is a batch of one."""
        if isinstance(inputs, (str, bytes)):
            inputs = [inputs]
        if tf.is_tensor(inputs):
            inputs = inputs.numpy()
        texts = _as_texts(list(np.asarray(inputs, dtype=object).reshape(-1)))
        return tf.constant(texts, dtype=tf.string, shape=[len(texts)])

    def input_from_file(self, path):
        """A text file's text, repaired as training repairs it (`read_text_file`)."""
        return read_text_file(path)

    # Export hooks --------------------------------------------------------------
    def serving_endpoints(self):
        """`serving_default` (raw texts) and `features` (token ids)."""
        return text_endpoints(self)

    def serving_metadata(self):
        import tensorflow_text

        return {
            "preprocessing": text_settings(self),
            "serving_requires": [
                f"tensorflow-text=={tensorflow_text.__version__} (`import tensorflow_text` before loading)"
            ],
            "tensorflow_text_version": tensorflow_text.__version__,
            # Modules a client imports before loading the export (they register its ops).
            "serving_imports": ["tensorflow_text"],
        }

    # -------------------------------------------------------------- explain
    def explain(self, text, top_k=5):
        """Which token windows drove the prediction for one text.

        Each filter of the adapter keeps only its largest response over the
        text (the global max pool), at one position; that position and the
        filter's width name a window of tokens. A window's contribution is the
        sum, over the filters that won there, of the pooled value times the
        filter's weight to the predicted class's logit (with a hidden head
        layer the contribution is a first-order gradient x input estimate).

        Args:
            text: one raw text.
            top_k: how many windows to return.

        Returns:
            dict with `label` (the predicted class), `probability`, and
            `windows`: up to `top_k` dicts `{"tokens": str, "start": int,
            "stop": int, "contribution": float}`, largest contribution first
            (`start`/`stop` index the tokens).
        """
        model = self.model
        tokenizer = model.get_layer("tokenizer")
        adapter = model.get_layer("adapter")
        head = model.get_layer("head")
        x = self.preprocess([text])
        ids = tokenizer(x)
        features = adapter(ids, training=False)
        probs = head(features, training=False).numpy()[0]
        label = int(np.argmax(probs))
        feats = features.numpy()[0]
        pooled = feats.max(axis=0)
        positions = feats.argmax(axis=0)
        if head.hidden is None:
            weights = head.dense.kernel.numpy()[:, label]
        else:
            pooled_t = tf.constant(pooled[None])
            with tf.GradientTape() as tape:
                tape.watch(pooled_t)
                logit = head.dense(head.hidden(pooled_t))[0, label]
            weights = tape.gradient(logit, pooled_t).numpy()[0]
        ids = ids.numpy()[0]
        length = int(np.sum(ids != PAD_ID))
        windows = {}
        for channel, (offset, width, stride) in enumerate(adapter.token_windows()):
            if pooled[channel] <= 0 or length == 0:
                continue  # a filter silent on the whole text contributed nothing
            start = max(0, int(positions[channel]) * stride + offset)
            stop = min(length, int(positions[channel]) * stride + offset + width)
            key = (start, stop)
            windows[key] = windows.get(key, 0.0) + float(pooled[channel] * weights[channel])
        ranked = sorted(windows.items(), key=lambda kv: -kv[1])[:top_k]
        return {
            "label": self.class_names[label],
            "probability": float(probs[label]),
            "windows": [
                {
                    "tokens": " ".join(tokenizer.tokens_to_text(ids[start:stop])),
                    "start": start,
                    "stop": stop,
                    "contribution": value,
                }
                for (start, stop), value in ranked
            ],
        }


def _as_texts(items):
    """UTF-8 `bytes` of each text (`str` or `bytes`), naming the first item that is neither."""
    texts = []
    for i, item in enumerate(items):
        if isinstance(item, np.str_):
            item = str(item)
        if not isinstance(item, (str, bytes, np.bytes_)):
            raise ValueError(
                f"texts[{i}] must be a string (or UTF-8 bytes). Received {type(item).__name__}: {item!r:.60}"
            )
        texts.append(_utf8(item) if isinstance(item, str) else bytes(item))
    return texts


def _utf8(text):
    # Python strings can hold lone surrogates (e.g. bytes decoded with
    # errors="surrogateescape"), which TensorFlow refuses. Give back the original
    # bytes, or an invalid UTF-8 sequence: the tokenizer replaces either by U+FFFD.
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        try:
            return text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "surrogatepass")
