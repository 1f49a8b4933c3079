"""The text classifier's serving endpoints: raw strings, and token ids.

| endpoint | input |
|---|---|
| `serving_default` | `texts`: string `(batch,)`, tokenized in the graph |
| `features` | `token_ids`: int32 `(batch, max_tokens)` as the embedded tokenizer makes them |
| `embedding` | `texts`; also returns `embedding` (`Classifier.embed`) |
"""

import keras
import numpy as np
import tensorflow as tf

from mmcnn.export.endpoints import Endpoint, embedding_endpoint, endpoint_outputs, tensor_spec
from mmcnn.text.text_constants import WHITE_SPACE
from mmcnn.text.text_converter import TextTokenizer
from mmcnn.text.text_ids import NUM_RESERVED, OOV_ID, PAD_ID, REPRODUCED_MODES


def text_tokenizer(model):
    """The model's `TextTokenizer` when it is the layer right after the input, else None."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, TextTokenizer) and layer.input is model.inputs[0]:
            return layer
        return None
    return None


def text_endpoints(clf):
    """`serving_default` (raw texts) and, when the tokenizer is the first layer, `features` (ids)."""
    model, names = clf.model, list(clf.class_names)
    outputs = endpoint_outputs(clf)  # multi-label: scores, predicted, labels

    def serve_texts(texts):
        return outputs(model(texts, training=False), names)

    endpoints = [
        Endpoint(
            "serving_default",
            serve_texts,
            [tensor_spec([None], tf.string, "texts")],
            "raw UTF-8 texts, one per example; tokenized in the graph with the embedded vocabulary",
        )
    ]
    tokenizer = text_tokenizer(model)
    if tokenizer is not None:
        # The rest of the model after the tokenizer, sharing its weights.
        after_tokenizer = keras.Model(tokenizer.output, model.output, name="after_tokenizer")

        def serve_features(token_ids):
            return outputs(after_tokenizer(token_ids, training=False), names)

        endpoints.append(
            Endpoint(
                "features",
                serve_features,
                [tensor_spec([None, tokenizer.max_tokens], tf.int32, "token_ids")],
                f"token ids (batch, {tokenizer.max_tokens}) int32 as the embedded tokenizer makes "
                "them: 0 padding, 1 out-of-vocabulary",
            )
        )
    endpoints.append(embedding_endpoint(clf, input_name="texts"))
    return endpoints


def text_settings(clf):
    tokenizer = text_tokenizer(clf.model)
    if tokenizer is None:
        return {"tokenizer": None}
    return {
        "tokenizer": "mmcnn.text.TextTokenizer (in the graph)",
        "mode": tokenizer.mode,
        "max_tokens": tokenizer.max_tokens,
        "vocabulary_size": tokenizer.vocabulary_size,
        "lowercase": tokenizer.lowercase,
        "normalization": tokenizer.normalization,
        "pad_id": 0,
        "oov_id": 1,
    }


# On-device files (LiteRT, ONNX) ---------------------------------------------------
def _edge_tokenizer(clf):
    tokenizer = text_tokenizer(clf.model)
    if tokenizer is None:
        raise ValueError(
            f"{type(clf).__name__}'s model does not start with its TextTokenizer, so it has no "
            "token-id input for a LiteRT or ONNX file"
        )
    return tokenizer


def text_edge_endpoint(clf):
    """int32 token ids `(1, max_tokens)` -> probabilities: the model after its tokenizer.

    tensorflow-text's ops have no built-in LiteRT kernel: the app tokenizes
    (`mmcnn.text.PythonTokenizer`, built from the settings in the file)."""
    model = clf.model
    tokenizer = _edge_tokenizer(clf)
    after_tokenizer = keras.Model(tokenizer.output, model.output, name="after_tokenizer")

    def probabilities(token_ids):
        return after_tokenizer(token_ids, training=False)

    return Endpoint(
        "edge",
        probabilities,
        [tensor_spec([1, tokenizer.max_tokens], tf.int32, "token_ids")],
        f"int32 token ids (1, {tokenizer.max_tokens}) as the model's tokenizer makes them: 0 padding, "
        "1 out-of-vocabulary",
    )


def text_edge_inputs(clf, batch):
    """A batch of texts -> int32 token ids, by the model's own tokenizer layer."""
    return np.asarray(_edge_tokenizer(clf)(tf.convert_to_tensor(batch)), dtype=np.int32)


def text_edge_metadata(clf):
    """The exact tokenizer settings and vocabulary: `PythonTokenizer.from_config(metadata["tokenizer"])`."""
    tokenizer = _edge_tokenizer(clf)
    config = tokenizer.get_config()
    settings = {key: config[key] for key in ("mode", "max_tokens", "lowercase", "normalization")}
    settings["vocabulary"] = None if config["mode"] == "byte" else list(config["vocabulary"])
    reproduced = config["mode"] in REPRODUCED_MODES
    return {
        "input": "token_ids",
        "dtype": "int32",
        "shape": [1, tokenizer.max_tokens],
        "tokenizer": settings,
        "vocabulary_size": tokenizer.vocabulary_size,
        "pad_id": PAD_ID,
        "oov_id": OOV_ID,
        "first_token_id": NUM_RESERVED,
        "python_tokenizer": (
            "mmcnn.text.PythonTokenizer.from_config(tokenizer) gives the same ids"
            if reproduced
            else f"mode {config['mode']!r} is not reproduced by mmcnn.text.PythonTokenizer "
            f"(reproduced: {list(REPRODUCED_MODES)}); the app must tokenize it itself"
        ),
        **_regex_tokenizer(config),
    }


def _regex_tokenizer(config):
    """Word mode as a regex tokenizer (TFLite Metadata's `RegexTokenizerOptions`, which MediaPipe's
    TextClassifier runs): split on the same Unicode whitespace. What it cannot do is said here."""
    if config["mode"] != "word":
        return {}
    delimiter = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITE_SPACE) + "]+"
    undone = []
    if config["lowercase"]:
        undone.append("case folding (NFKC_Casefold)")
    if config["normalization"]:
        undone.append(f"{config['normalization']} normalisation")
    limits = "the same ids for any text"
    if undone:
        limits = (
            f"it does not do {' or '.join(undone)}: the same ids only for text that those leave "
            "unchanged (e.g. lowercase ASCII); an app lowercases and normalises first"
        )
    return {"regex_tokenizer": {"delimiter": delimiter, "limits": limits}}


# The tokenizer modes the web page (`mmcnn export --format web`) reproduces in JavaScript.
WEB_TEXT_MODES = ("word", "unicode_script", "char", "byte")
REFUSED_WEB_TEXT_MODE = (
    "the web page tokenizes in JavaScript and reproduces the modes {modes} only; this model tokenizes "
    "in mode {mode!r}, which is not reproducible outside TensorFlow ({why}). Train the text model with "
    "`--set mode='unicode_script'` (the default; or 'word', 'char', 'byte') to export it for the web"
)


def casefold_table():
    """`{character: its full case folding}` where `str.casefold` changes it (up to U+2FFFF).

    JavaScript has no case folding, and `toLowerCase` differs from it (German
    sharp s, Cherokee, final sigma, ...): the page folds with this table."""
    table = {}
    for code in range(0x30000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        folded = char.casefold()
        if folded != char:
            table[char] = folded
    return table


def text_web_settings(clf):
    """What the web page needs to tokenize in JavaScript as `PythonTokenizer` does.

    In mode `"unicode_script"` that includes the script table
    (`text_scripts.SCRIPT_RUNS`, about 20 KB of JSON) as `text.script_runs`."""
    from mmcnn.text import text_constants, text_ids, text_scripts

    tokenizer = text_edge_metadata(clf)["tokenizer"]
    if tokenizer["mode"] not in WEB_TEXT_MODES:
        why = text_ids._REFUSED.get(tokenizer["mode"], "not reimplemented")
        raise ValueError(
            REFUSED_WEB_TEXT_MODE.format(modes=list(WEB_TEXT_MODES), mode=tokenizer["mode"], why=why)
        )
    return {
        "text": {
            **tokenizer,
            "pad_id": text_constants.PAD_ID,
            "oov_id": text_constants.OOV_ID,
            "first_token_id": text_constants.NUM_RESERVED,
            "bytes_per_token": text_constants.BYTES_PER_TOKEN,
            "white_space": text_constants.WHITE_SPACE,
            "casefold": casefold_table() if tokenizer["lowercase"] else {},
            "script_runs": [list(run) for run in text_scripts.SCRIPT_RUNS]
            if tokenizer["mode"] == "unicode_script"
            else [],
        },
        "ignorable": text_ids._DEFAULT_IGNORABLE.pattern,
    }
