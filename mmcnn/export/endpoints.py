"""Serving endpoints: what a classifier declares, and the outputs every endpoint returns.

A classifier declares its endpoints with `Classifier.serving_endpoints()`: a
list of `Endpoint(name, fn, input_signature, description)`, the first of which
is `serving_default`. `fn` takes raw input tensors (image bytes, waveforms,
texts, ...) and returns `serving_outputs(probabilities, class_names)`: per
example `probabilities` (float32 `(batch, num_classes)`), `class_id` (int64
`(batch,)`, the top class; ties go to the lowest id, as `numpy.argmax`) and
`class_name` (string `(batch,)`). The exporter (`mmcnn.export.exporter`)
writes them, whatever the modality.

A multi-label classifier's endpoints return `multilabel_outputs` instead
(`endpoint_outputs(clf)` picks): `scores` (float32 `(batch, num_classes)`,
the per-class sigmoid scores), `predicted` (int32 `(batch, num_classes)`,
1 where a score reaches its class's threshold) and `labels` (string
`(batch, num_classes)`: the class name where predicted, "" elsewhere). All
three are dense, so TF Serving's REST and gRPC APIs return them as they are;
the thresholds are constants of the graph (and listed in `mmcnn.json`).

`embedding_endpoint` adds an `embedding` signature: the model's own input in,
the pooled feature vector (`Classifier.embed`) out besides those three.
"""

import collections

import keras
import tensorflow as tf

Endpoint = collections.namedtuple("Endpoint", ["name", "fn", "input_signature", "description"])

OUTPUT_KEYS = ("probabilities", "class_id", "class_name")


def serving_outputs(probabilities, class_names):
    """The outputs of every endpoint, from a `(batch, num_classes)` probability tensor."""
    probabilities = tf.cast(probabilities, tf.float32)
    class_id = tf.argmax(probabilities, axis=-1, output_type=tf.int64)
    return {
        "probabilities": probabilities,
        "class_id": class_id,
        "class_name": tf.gather(tf.constant(list(class_names), dtype=tf.string), class_id),
    }


MULTILABEL_OUTPUT_KEYS = ("scores", "predicted", "labels")


def multilabel_outputs(scores, class_names, thresholds):
    """The outputs of a multi-label classifier's endpoints, from `(batch, num_classes)` scores.

    `scores` (float32), `predicted` (int32 multi-hot: score >= the class's
    threshold) and `labels` (string: the class name where predicted, "" elsewhere),
    each `(batch, num_classes)`."""
    scores = tf.cast(scores, tf.float32)
    hits = scores >= tf.constant([float(t) for t in thresholds], tf.float32)
    names = tf.broadcast_to(tf.constant(list(class_names), dtype=tf.string), tf.shape(scores))
    return {
        "scores": scores,
        "predicted": tf.cast(hits, tf.int32),
        "labels": tf.where(hits, names, tf.constant("", tf.string)),
    }


def endpoint_outputs(clf):
    """What `clf`'s endpoints return, as a function `(probabilities, class_names) -> dict`:
    `serving_outputs`, or `multilabel_outputs` with the classifier's thresholds when
    `clf.multi_label`."""
    if not getattr(clf, "multi_label", False):
        return serving_outputs
    thresholds = clf.threshold_values()
    return lambda scores, class_names: multilabel_outputs(scores, class_names, thresholds)


def tensor_spec(shape, dtype, name):
    """A named `tf.TensorSpec` (the name becomes the signature's input key)."""
    return tf.TensorSpec(shape, dtype, name=name)


def model_input_endpoint(clf, name="serving_default", description=None):
    """An endpoint that takes the Keras model's own input (the default for every classifier)."""
    model = clf.model
    if len(model.inputs) != 1:
        raise ValueError(
            f"{type(clf).__name__}'s model has {len(model.inputs)} inputs; a classifier with several "
            "inputs must declare its own serving_endpoints()"
        )
    spec = model.inputs[0]
    input_name = spec.name.split(":")[0] or "inputs"
    outputs = endpoint_outputs(clf)

    def serve(inputs):
        return outputs(model(inputs, training=False), clf.class_names)

    shape = [None, *spec.shape[1:]]
    return Endpoint(
        name,
        serve,
        [tensor_spec(shape, spec.dtype, input_name)],
        description or f"the model's own input: {spec.dtype} {tuple(shape)}",
    )


EMBEDDING_KEY = "embedding"


def embedding_model(model, with_probabilities=False):
    """A Keras model from a classifier model's input to its embedding (and probabilities).

    The embedding is what the classifier's head (the layer named `"head"`)
    receives, pooled as the head pools it (global average or max over the
    positions, or flattened): float32 `(batch, features)`. The new model
    shares the classifier's layers and weights.

    Args:
        model: a classifier's Keras model (`clf.model`).
        with_probabilities: also return the model's output (the class probabilities).
    """
    names = [layer.name for layer in model.layers]
    if "head" not in names:
        raise ValueError(f"model {model.name!r} has no layer named 'head' to take the embedding from")
    head = model.get_layer("head")
    # A copy of the head's pooling (no weights), so the head itself gains no second call.
    pool = type(head.pool).from_config(head.pool.get_config())
    embedding = keras.layers.Activation("linear", dtype="float32", name="embedding")(pool(head.input))
    outputs = [embedding, model.outputs[0]] if with_probabilities else embedding
    return keras.Model(model.inputs, outputs, name="embedding_model")


def embedding_endpoint(clf, name="embedding", description=None, input_name=None):
    """An endpoint on the model's own input that returns the embedding besides the usual outputs.

    Outputs: `embedding` (float32 `(batch, features)`, what `Classifier.embed`
    returns) and `serving_outputs` (probabilities, class id, class name).
    `input_name` renames the input (default: the model input's name)."""
    model = clf.model
    spec = model_input_endpoint(clf).input_signature[0]
    if input_name is not None:
        spec = tensor_spec(spec.shape, spec.dtype, input_name)
    both = embedding_model(model, with_probabilities=True)
    names = list(clf.class_names)
    outputs = endpoint_outputs(clf)

    def serve(inputs):
        embedding, probabilities = both(inputs, training=False)
        return {EMBEDDING_KEY: tf.cast(embedding, tf.float32), **outputs(probabilities, names)}

    return Endpoint(
        name,
        serve,
        [spec],
        description
        or f"the model's own input ({spec.dtype.name} {tuple(spec.shape)}); returns `embedding` "
        "(float32 (batch, features): the head's input pooled as the head pools it, as "
        "Classifier.embed) besides probabilities, class_id and class_name",
    )
