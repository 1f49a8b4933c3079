"""The text classifier's serving endpoints: raw strings, and token ids.

| endpoint | input |
|---|---|
| `serving_default` | `texts`: string `(batch,)`, tokenized in the graph |
| `features` | `token_ids`: int32 `(batch, max_tokens)` as the embedded tokenizer makes them |
"""

import keras
import tensorflow as tf

from mmcnn.export.endpoints import Endpoint, serving_outputs, tensor_spec
from mmcnn.text.text_converter import TextTokenizer


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

    def serve_texts(texts):
        return serving_outputs(model(texts, training=False), names)

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
            return serving_outputs(after_tokenizer(token_ids, training=False), names)

        endpoints.append(
            Endpoint(
                "features",
                serve_features,
                [tensor_spec([None, tokenizer.max_tokens], tf.int32, "token_ids")],
                f"token ids (batch, {tokenizer.max_tokens}) int32 as the embedded tokenizer makes "
                "them: 0 padding, 1 out-of-vocabulary",
            )
        )
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
