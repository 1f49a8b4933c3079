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
from mmcnn.text.text_ids import utf8_texts
from mmcnn.text.text_length import AUTO, FALLBACK_MAX_TOKENS, choose_max_tokens, survey
from mmcnn.text.text_serving import (
    text_edge_endpoint,
    text_edge_inputs,
    text_edge_metadata,
    text_endpoints,
    text_settings,
    text_web_settings,
)
from mmcnn.text.text_subwords import gram_vocabulary
from mmcnn.text.text_wide import WideTokenWindowAdapter

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
        # As many tokens as 95% of the training texts have, 16 to 64 (`mmcnn.text.text_length`).
        max_tokens=AUTO,
        max_tokens_range=(16, 64),
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

# Preset keys of the wide path (`WideTokenWindowAdapter`).
WIDE_KEYS = (
    *("wide_dim", "wide_buckets", "wide_dropout", "wide_ngrams", "wide_scale"),
    *("char_dim", "char_scale"),
)
# Kim's windows plus a bag of word and hashed word-bigram vectors joined at the logits ("wide and
# deep"). Opt-in: on the validation splits of bench/bench_text_vs_linear.py it gained under a point
# over "kim" and did not beat TF-IDF + logistic regression everywhere (bench/results/text_vs_linear.md).
PRESETS["wide"] = dict(PRESETS["kim"], wide_dim=32, wide_buckets=2**15, wide_dropout=0.0)
# The default of multi-label text (`TextClassifier` without `preset`): the wide path with word
# 1-3-grams whose vectors learn 8x faster than the rest, reading up to 128 tokens. Many tags are
# rare, and a rare n-gram's vector barely moves at Kim's pace: on the validation splits of two
# multi-label sets it lifted the mAP from 0.509 to 0.551 (Debian tags, 16 tokens) and from 0.617 to
# 0.651 (AppStream categories, 128 tokens); the same speed loses on every single-label set, which
# keep "kim" (bench/results/text_vs_linear_wide_ngrams.md).
PRESETS["tags"] = dict(PRESETS["wide"], wide_ngrams=3, wide_scale=8.0, max_tokens_range=(16, 128))
# The default of single-label text: Kim's windows beside a bag of the vocabulary tokens' character
# 2-5-grams (`text_subwords`) learning 8x faster, what a word's spelling shares with other words
# (which TF-IDF + LR over character n-grams has and word ids lack). On the validation splits of
# three single-label sets it gained 0.4-4.5 points over "kim", two seeds each
# (bench/results/text_subwords.md).
PRESETS["subwords"] = dict(PRESETS["kim"], wide_dim=0, wide_dropout=0.0, char_dim=32, char_scale=8.0)
# The default of multi-label text: "tags" with the same character bag (debtags 0.551 -> 0.570,
# AppStream categories 0.651 -> 0.692 validation mAP).
PRESETS["subword_tags"] = dict(PRESETS["tags"], char_dim=32, char_scale=8.0)

# What `TextClassifier` without a `preset` takes for multi-label data (`follow_labels`).
MULTI_LABEL_PRESET = "subword_tags"

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
        max_tokens: tokens per text; longer texts are truncated. Default: the
            preset's; that of the word-window presets (all but `"deep"` and
            `"char"`) is `"auto"`: as many as 95% of the training texts have
            (16 to 64; `"tags"` and `"subword_tags"` 16 to 128;
            `mmcnn.text.text_length`), decided by the first `fit` (or `adapt`)
            and recorded in `input_used`.
        vocabulary_size: the most token ids, the 2 reserved ids (padding, unknown) included.
        min_frequency: least count of a token kept in the vocabulary.
        class_names: ordered class names; they travel with the saved model.
        preset: `"subwords"` (default: parallel 2..5-token windows beside a
            bag of the tokens' character 2-5-grams, `text_subwords`),
            `"subword_tags"` (the default of multi-label classifiers: the same
            beside a bag of word 1-3-grams, both bags learning 8x faster),
            `"kim"` (the windows alone, the default of earlier versions),
            `"wide"` (Kim's windows plus a bag of word and word-bigram vectors
            joined at the logits, `WideTokenWindowAdapter`), `"tags"` (the
            wide path over word 1-3-grams, learning 8x faster), `"deep"`
            (stacked blocks) or `"char"` (character-level CNN). With
            `init_from` and no `preset`: the source's.
        augmentation: `"none"` (text has no augmentation yet).
        learning_rate, epochs, batch_size: training settings (default: the preset's).
        seed: seed of initialisation and shuffling.
        precision: `"auto"` (default: `mixed_bfloat16` where the machine computes
            bfloat16 natively, else `float32`; `mmcnn.models.precision`), `"float32"`,
            `"mixed_bfloat16"` or `"mixed_float16"`.
        embedding_dim, filters, widths, dropout: adapter settings (default:
            the preset's); see `TokenWindowAdapter`.
        multi_label: several labels per example (docs/multilabel.md): a sigmoid
            head, binary cross-entropy and per-class thresholds chosen on the
            validation split. Default False; the first `fit` sets it when the
            data is multi-label (a manifest with `;`-separated labels).
        lowercase: fold case before tokenizing.
        init_from: a run directory or `.keras` file of a text classifier to
            start from (a warm start, `mmcnn.models.transfer`): its
            vocabulary, embedding and convolution weights are copied, and its
            head when the classes are the same. `mode`, `max_tokens`,
            `lowercase`, the adapter settings and the preset must match.
        freeze_epochs: epochs with the copied layers frozen before all are
            trained (default: up to 3, at most half the epochs, when the head
            is new; 0 when it was kept).
        fine_tune_learning_rate: learning rate once everything trains
            (default: `learning_rate` when the head is new, a tenth of it
            when it was kept).
        relearn_vocabulary: with `init_from`, learn a new vocabulary from the
            training texts instead of keeping the source's; a token both
            vocabularies hold keeps its learned embedding row (and its word-bag
            row), a character gram both share keeps its vector, new tokens and
            grams start from random rows.

    Example:
    >>> clf = TextClassifier(class_names=["bad", "good"], max_tokens=16, min_frequency=1,
    ...                      embedding_dim=8, filters=4)
    >>> clf.adapt(["good film", "bad film"])
    >>> clf.predict(["a good film", ""])["probabilities"].shape
    (2, 2)
    """

    modality = "text"
    input_axes = ("tokens",)
    # What a warm start's source must share: how texts become ids, and the adapter's shapes.
    transfer_settings = ("mode", "max_tokens", "lowercase", "embedding_dim", "filters", "widths")
    from_directory = staticmethod(from_directory)
    from_dataframe = staticmethod(from_dataframe)
    input_extensions = (".txt",)
    presets = PRESETS
    default_preset = "subwords"
    preprocessor_layer = "tokenizer"

    @classmethod
    def tune_space(cls, settings):
        """The default space of `mmcnn tune text` (`mmcnn.tune.space`; `settings`: the fixed arguments).

        Parallel windows with or without the character bag, or stacked blocks
        (the preset), the tokenizer mode, tokens per text, the vocabulary size,
        the adapter's dropout, the learning rate around the presets' 1e-3, and
        the batch size. The character preset and WordPiece (a slow pure-Python
        learner) are left to a `--space` file."""
        return {
            "preset": {"values": ["subwords", "kim", "deep"]},
            "mode": {"values": ["word", "unicode_script"]},
            "max_tokens": {"values": [64, 128, 256]},
            "vocabulary_size": {"values": [5000, 10000, 20000]},
            "dropout": {"min": 0.0, "max": 0.5, "step": 0.25},
            "learning_rate": {"min": 3e-4, "max": 3e-3, "log": True},
            "batch_size": {"values": [32, 64]},
        }

    def __init__(
        self,
        num_classes=None,
        mode=None,
        max_tokens=None,
        vocabulary_size=20000,
        min_frequency=2,
        augmentation="none",
        embedding_dim=None,
        filters=None,
        widths=None,
        dropout=None,
        lowercase=True,
        relearn_vocabulary=False,
        **kwargs,
    ):
        if augmentation not in AUGMENTATIONS:
            raise ValueError(
                f"`augmentation` must be one of {AUGMENTATIONS}. Received: augmentation={augmentation!r}"
            )
        if mode is not None and mode not in MODES:
            raise ValueError(f"`mode` must be one of {MODES}. Received: mode={mode!r}")
        super().__init__(num_classes=num_classes, augmentation=augmentation, **kwargs)
        # No `preset` given: "subwords", or "subword_tags" once the classifier is multi-label
        # (`follow_labels`).
        self.preset_follows_labels = kwargs.get("preset") is None
        self.follow_labels()
        if not isinstance(relearn_vocabulary, bool):
            raise ValueError(
                "`relearn_vocabulary` must be True or False. "
                f"Received: relearn_vocabulary={relearn_vocabulary!r}"
            )
        self.relearn_vocabulary = relearn_vocabulary
        self._source_vocabulary = None
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
        # What `max_tokens="auto"` decided from the training texts, and why (None: nothing decided).
        self.input_used = None
        # Built now so that bad tokenizer / adapter arguments fail here, naming themselves.
        self._new_tokenizer()
        self._adapter_class()(self.vocabulary_size, **self._adapter_settings())

    # ----------------------------------------------------------- front door
    def _adapter_settings(self):
        preset = self.preset_config
        wide = {k: preset[k] for k in WIDE_KEYS if k in preset}
        return dict(
            embedding_dim=self.setting("embedding_dim"),
            filters=self.setting("filters"),
            widths=self.setting("widths"),
            blocks=preset.get("blocks"),
            dropout=self.setting("dropout"),
            **wide,
        )

    def _adapter_class(self):
        """`WideTokenWindowAdapter` for a preset with a wide path (`wide_dim`), else `TokenWindowAdapter`."""
        return WideTokenWindowAdapter if "wide_dim" in self.preset_config else TokenWindowAdapter

    def setting(self, name):
        """`Classifier.setting`; `max_tokens` still `"auto"` is a built model's own length."""
        value = super().setting(name)
        if name == "max_tokens" and value == AUTO and self._model is not None:
            return self.tokenizer.max_tokens
        return value

    def read_length(self):
        """The tokens each text is read to: `max_tokens` as given or decided, a built model's
        own, else (`"auto"` before any training text) `FALLBACK_MAX_TOKENS`."""
        value = self.setting("max_tokens")
        return FALLBACK_MAX_TOKENS if value == AUTO else value

    def _decide_max_tokens(self, texts):
        """Settles `max_tokens="auto"` from the training texts (`mmcnn.text.text_length`)."""
        if self.setting("max_tokens") != AUTO:
            return
        low, high = self.preset_config.get("max_tokens_range", (FALLBACK_MAX_TOKENS,) * 2)
        counter = TextTokenizer(mode=self.setting("mode"), max_tokens=high, lowercase=self.lowercase)
        counts = counter.token_counts(survey(texts, self.seed))
        self.max_tokens, reason = choose_max_tokens(counts, low, high)
        self.input_used = {"max_tokens": self.max_tokens, "max_tokens_reason": reason}
        logger.info("max_tokens=%d (%s)", self.max_tokens, reason)

    def follow_labels(self):
        """Takes the `"subword_tags"` preset when no preset was given, the classifier is
        multi-label and its model is not built yet: at construction with `multi_label=True`, or
        when the first `fit` finds multi-label data."""
        preset = MULTI_LABEL_PRESET
        if self.preset_follows_labels and self.multi_label and self._model is None and self.preset != preset:
            self.preset = preset
            logger.info('preset="%s" (multi-label: fast bags of word and character n-grams)', preset)

    def _transfer_source(self):
        source = super()._transfer_source()
        if source is not None and self.preset_follows_labels:
            # No preset given: the source's (a warm start keeps its network).
            self.preset = source.preset
        if source is not None and self.setting("max_tokens") == AUTO and not self.relearn_vocabulary:
            # The source's vocabulary and tokenizer are kept: so is the length it reads.
            self.max_tokens = source.setting("max_tokens")
            reason = f"init_from {self.init_from!r} reads this many"
            self.input_used = {"max_tokens": self.max_tokens, "max_tokens_reason": reason}
        return source

    def _new_tokenizer(self):
        return TextTokenizer(
            mode=self.setting("mode"),
            max_tokens=self.read_length(),
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
        self._decide_max_tokens(texts)
        tokenizer = self._new_tokenizer()
        if tokenizer.mode == "wordpiece" and len(texts) > WORDPIECE_SAMPLE:
            rng = np.random.default_rng(self.seed if seed is None else seed)
            texts = [texts[i] for i in np.sort(rng.choice(len(texts), WORDPIECE_SAMPLE, replace=False))]
        tokenizer.adapt(np.asarray(utf8_texts(texts), dtype=object))
        self._tokenizer = tokenizer

    def prepare_for_training(self, data):
        self.follow_labels()
        # A warm start keeps its source's vocabulary (taken in `prepare_transfer`) unless told not to.
        if self._tokenizer is None and (self.init_from is None or self.relearn_vocabulary):
            self.adapt(data)

    # Warm start hooks ----------------------------------------------------------
    def prepare_transfer(self, source):
        if self.relearn_vocabulary:
            self._source_vocabulary = source.tokenizer.get_vocabulary()
        else:
            self._tokenizer = TextTokenizer.from_config(source.tokenizer.get_config())

    def adapt_transfer_weight(self, layer_name, variable_path, value, target_value):
        if variable_path.endswith("token_grams"):
            return target_value  # this classifier's vocabulary's grams (`text_subwords`)
        if self._source_vocabulary is None:
            return None
        source, target = self._source_vocabulary, self._tokenizer.get_vocabulary()
        if variable_path.endswith("char_grams/embeddings"):
            # Rows are numbered grams: row 0 is padding, then `gram_vocabulary`'s order.
            source, target = ["", *gram_vocabulary(source)], ["", *gram_vocabulary(target)]
        elif variable_path.endswith("ngrams/embeddings"):
            # The word bag: a row per token id, then the hashed runs of ids, which mean other
            # words under the new ids and keep their new initialisation.
            rows = np.array(target_value, copy=True)
            tokens = remap_embedding_rows(value[: len(source)], rows[: len(target)], source, target)
            if tokens is None:
                return None
            rows[: len(target)] = tokens
            return rows
        elif not variable_path.endswith("embedding/embeddings"):
            return None
        return remap_embedding_rows(value, target_value, source, target)

    def model_input(self):
        return keras.Input(shape=(), dtype="string", name="text")

    def front_layers(self):
        tokenizer = self._tokenizer
        if tokenizer is None:
            if self.setting("mode") != "byte":
                raise ValueError(
                    "TextClassifier needs a vocabulary before its model can be built: call "
                    "fit(data), which learns it, or adapt(texts) first"
                )
            tokenizer = self._tokenizer = self._new_tokenizer()
        settings = self._adapter_settings()
        if settings.get("char_dim"):
            settings["vocabulary"] = tokenizer.get_vocabulary()
        adapter = self._adapter_class()(tokenizer.vocabulary_size, **settings, name="adapter")
        # A new layer with the learned vocabulary at each build: a layer called in two models (the
        # trial builds of `precision="auto"`, a table's measurement) has two outputs, and the
        # cached-feature model (`features_model`) would not know which one it is.
        return [TextTokenizer.from_config(tokenizer.get_config()), adapter]

    # ----------------------------------------------------------------- data
    def example_nbytes(self):
        return self.read_length() * BYTES_PER_TOKEN

    def input_dataset(self, data, training=False):
        if data.kind != "texts":
            raise ValueError(
                f"TextClassifier reads texts; received {data.kind!r} data "
                "(use mmcnn.text.from_directory / from_dataframe / from_arrays)"
            )
        texts = tf.constant(utf8_texts(data.inputs), dtype=tf.string, shape=[len(data.inputs)])
        budget = self.read_length() * BYTES_PER_TOKEN
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
        texts = utf8_texts(list(np.asarray(inputs, dtype=object).reshape(-1)))
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

    def edge_endpoint(self):
        """int32 token ids `(1, max_tokens)` into the model after its tokenizer (LiteRT, ONNX)."""
        return text_edge_endpoint(self)

    def edge_inputs(self, batch):
        return text_edge_inputs(self, batch)

    def edge_metadata(self):
        return text_edge_metadata(self)

    def web_settings(self):
        """The tokenizer, for the web page to tokenize in JavaScript (word, char and byte modes)."""
        return text_web_settings(self)

    # -------------------------------------------------------------- explain
    def explain(self, inputs, class_name=None, batch_size=32, top_k=5):
        """Which tokens and token windows drove the prediction: Grad-CAM over the tokens.

        `Classifier.explain` with, per text, `maps` a score in [0, 1] per token
        (padding left out), `tokens` the token strings, and `token_windows`:
        up to `top_k` windows of consecutive tokens, largest contribution
        first. Each filter of the adapter answers most strongly at one
        position (what the head's global max pool keeps); that position and
        the filter's width name a window of tokens, and a window's
        contribution is the sum, over the filters that won there, of the
        pooled value times the gradient of the class's logit with respect to
        it (the filter's weight to the logit when the head has no hidden
        layer). The token scores are the Grad-CAM map over all positions,
        each position's weighted response shared among the tokens of its window.

        Args:
            inputs: one raw text, or a list of texts.
            class_name: the class to explain (default: the most probable).
            batch_size: texts per call.
            top_k: how many windows to return per text.

        Returns:
            The dict of `Classifier.explain`; for one text (a string) it also
            holds `label` (the predicted class), `probability` (its
            probability) and `windows`: that text's `token_windows`, dicts
            `{"tokens": str, "start": int, "stop": int, "contribution": float}`
            (`start`/`stop` index the tokens).
        """
        result = super().explain(inputs, class_name=class_name, batch_size=batch_size)
        result["token_windows"] = [found[:top_k] for found in result["token_windows"]]
        if isinstance(inputs, (str, bytes)):
            probabilities = result["probabilities"][0]
            label = int(np.argmax(probabilities))
            result.update(
                label=self.class_names[label],
                probability=float(probabilities[label]),
                windows=result["token_windows"][0],
            )
        return result

    def explanation_views(self, batch, cam):
        """A score per token, the token strings, and the top token windows (see `explain`)."""
        from mmcnn.explain import normalize_maps

        tokenizer = self.model.get_layer("tokenizer")
        adapter = self.model.get_layer("adapter")
        all_ids = np.asarray(tokenizer(batch))
        geometry = adapter.token_windows()  # (offset, width, stride) per channel
        groups = {}
        for channel, window in enumerate(geometry):
            groups.setdefault(window, []).append(channel)
        maps, tokens, windows = [], [], []
        for ids, activations, gradients, contributions in zip(
            all_ids, cam["activations"], cam["gradients"], cam["contributions"]
        ):
            length = int(np.sum(ids != PAD_ID))
            scores = np.zeros(length, dtype="float64")
            found = {}
            for (offset, width, stride), channels in groups.items():
                per_position = contributions[:, channels].sum(axis=1)
                # Where a filter's max pool kept its value, the gradient reaches it: the windows.
                won = (gradients[:, channels] != 0) & (activations[:, channels] > 0)
                won_value = np.where(won, gradients[:, channels] * activations[:, channels], 0.0).sum(axis=1)
                for position in range(activations.shape[0]):
                    start = max(0, position * stride + offset)
                    stop = min(length, position * stride + offset + width)
                    if start >= stop:
                        continue
                    scores[start:stop] += per_position[position] / width
                    if won[position].any():
                        found[(start, stop)] = found.get((start, stop), 0.0) + float(won_value[position])
            maps.append(normalize_maps(np.maximum(scores, 0.0)[None])[0])
            tokens.append(tokenizer.tokens_to_text(ids[:length]) if length else [])
            ranked = sorted(found.items(), key=lambda kv: -kv[1])
            windows.append(
                [
                    {
                        "tokens": " ".join(tokenizer.tokens_to_text(ids[start:stop])),
                        "start": start,
                        "stop": stop,
                        "contribution": value,
                    }
                    for (start, stop), value in ranked
                ]
            )
        return {"maps": maps, "backgrounds": tokens, "tokens": tokens, "token_windows": windows}


def remap_embedding_rows(value, target_value, source_tokens, target_tokens):
    """Embedding rows for a relearned vocabulary: a token both vocabularies hold keeps its
    learned row (`value`), the others keep their new initialisation (`target_value`).

    Example:
    >>> import numpy as np
    >>> remap_embedding_rows(np.array([[0.0], [1.0], [2.0]]), np.full((3, 1), 9.0),
    ...                      ["[PAD]", "[UNK]", "film"], ["[PAD]", "[UNK]", "good"])[:, 0].tolist()
    [0.0, 1.0, 9.0]
    """
    rows = np.array(target_value, copy=True)
    index = {token: i for i, token in enumerate(source_tokens)}
    if value.shape[1:] != rows.shape[1:]:
        return None
    for j, token in enumerate(target_tokens):
        if token in index and j < len(rows):
            rows[j] = value[index[token]]
    return rows
