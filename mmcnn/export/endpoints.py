"""Serving endpoints: what a classifier declares, and the outputs every endpoint returns.

A classifier declares its endpoints with `Classifier.serving_endpoints()`: a
list of `Endpoint(name, fn, input_signature, description)`, the first of which
is `serving_default`. `fn` takes raw input tensors (image bytes, waveforms,
texts, ...) and returns `serving_outputs(probabilities, class_names)`: per
example `probabilities` (float32 `(batch, num_classes)`), `class_id` (int64
`(batch,)`, the top class; ties go to the lowest id, as `numpy.argmax`) and
`class_name` (string `(batch,)`). The exporter (`mmcnn.export.exporter`)
writes them, whatever the modality.
"""

import collections

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

    def serve(inputs):
        return serving_outputs(model(inputs, training=False), clf.class_names)

    shape = [None, *spec.shape[1:]]
    return Endpoint(
        name,
        serve,
        [tensor_spec(shape, spec.dtype, input_name)],
        description or f"the model's own input: {spec.dtype} {tuple(shape)}",
    )
