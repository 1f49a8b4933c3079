"""Grad-CAM (Selvaraju et al., 2017) on the feature maps that reach a classifier's head.

The head of every mmcnn classifier pools (or flattens) the last convolution
block's feature maps (the backbone's output, or the adapter's when there is no
backbone) and maps them to class logits. Grad-CAM weighs each feature map by
the mean gradient of the chosen class's score over its positions, sums the
weighted maps, keeps the positive part and scales it to [0, 1]: bright where
the evidence for the class lies. The map has the feature maps' spatial axes
(2-D for images, 1-D over time for audio and over tokens for text); each
modality's `explanation_views` hook brings it to the input's resolution.

Two choices keep the map from coming out empty for a confidently predicted
class (measured in bench/results/explain.md):

- The score is the class's *log-odds*, `z_c - logsumexp(z_j, j != c)` for a
  softmax head and the logit `z_c` for a sigmoid head, not the raw logit:
  a softmax class can win with a negative logit everywhere because the others
  are lower still, and then the raw logit's positive part is empty. (The
  log-odds has no saturating softmax or sigmoid in it, so its gradient does
  not vanish at 0.99.)
- A head that flattens the feature maps reads every position with its own
  weights, so the mean gradient says nothing about any one position; there the
  map is each position's own gradient times activation (HiResCAM, Draelos and
  Carin, 2020), which for a linear head is exactly that position's share of
  the score. For a global-average head the two are the same map.

A map can still be empty where no position adds evidence (the class's score
comes from the bias, or from lowering the other classes); `empty` marks those
maps so that a picture can say so instead of drawing a flat panel.

Only the head is differentiated (the feature maps are the watched
variable), in a `tf.function`: eager oneDNN backpropagation crashed here.
"""

import logging
import weakref

import keras
import numpy as np
import tensorflow as tf

from mmcnn._keras_compat import first_inbound_node, producing_layer

logger = logging.getLogger("mmcnn")

HEAD_LAYER = "head"

_CACHE = weakref.WeakKeyDictionary()  # model -> its compiled Grad-CAM step


def head_layer(model, name=HEAD_LAYER):
    """The model's head: the layer called `name` (`ValueError` naming the layers when absent)."""
    try:
        return model.get_layer(name)
    except ValueError:
        names = [layer.name for layer in model.layers]
        raise ValueError(
            f"Grad-CAM needs the classifier's head, a layer named {name!r}; model {model.name!r} has {names}"
        ) from None


def feature_layer(model, name=HEAD_LAYER):
    """The layer whose output the head reads: the backbone, or the adapter when there is none."""
    head = head_layer(model, name)
    node = first_inbound_node(head)
    tensor = node.input_tensors[0]
    return producing_layer(tensor)


def _closing_activation(layer):
    """`"softmax"`, `"sigmoid"` or None: what a head's last layer turns logits into."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    if isinstance(layer, keras.layers.Activation):
        name = getattr(layer.activation, "__name__", str(layer.activation))
        return name if name in ("softmax", "sigmoid") else None
    return None


def _logit_layers(head):
    """`(layers, activation)`: the head's layers up to its logits (its `inspect_path()` without the
    closing softmax or sigmoid) and that activation; `(None, None)` when it is neither."""
    path = list(head.inspect_path()) if hasattr(head, "inspect_path") else []
    activation = _closing_activation(path[-1]) if path else None
    if activation is None:
        return None, None
    return path[:-1], activation


def _flattens(layers):
    """Whether the head reads every feature-map position with its own weights (a Flatten)."""
    return bool(layers) and isinstance(layers[0], keras.layers.Flatten)


class _GradCamStep:
    """Feature maps, class logits, probabilities and the gradient, for one model (compiled once)."""

    def __init__(self, model):
        head = head_layer(model)
        features = head.input
        self.feature_model = keras.Model(model.inputs, features, name="grad_cam_features")
        # Everything after the feature maps (head, temperature): the probabilities the model gives.
        self.tail = keras.Model(features, model.outputs[0], name="grad_cam_tail")
        self.logit_layers, self.activation = _logit_layers(head)
        self.flattens = _flattens(self.logit_layers)
        if self.logit_layers is None:
            logger.info(
                "Grad-CAM: the head of %s does not end in a softmax or a sigmoid; the log-odds are "
                "taken from its probabilities instead of its logits",
                model.name,
            )
        spec = model.inputs[0]
        self.input_dtype = spec.dtype
        # One trace per model, whatever the batch size.
        self.step = tf.function(
            self._step,
            input_signature=[
                tf.TensorSpec([None, *spec.shape[1:]], spec.dtype),
                tf.TensorSpec([None], tf.int32),
            ],
        )

    def _log_odds(self, features, probabilities, chosen):
        """Each input's log-odds of its chosen class `(batch,)`, float32."""
        if self.logit_layers is None:
            p = tf.gather(tf.cast(probabilities, tf.float32), chosen, axis=1, batch_dims=1)
            p = tf.clip_by_value(p, 1e-30, 1.0 - 1e-7)
            return tf.math.log(p) - tf.math.log1p(-p)
        x = features
        for layer in self.logit_layers:
            x = layer(x, training=False)
        logits = tf.cast(x, tf.float32)
        own = tf.gather(logits, chosen, axis=1, batch_dims=1)
        if self.activation == "sigmoid" or logits.shape[-1] == 1:
            return own
        others = tf.where(
            tf.one_hot(chosen, tf.shape(logits)[-1], on_value=True, off_value=False),
            tf.constant(-np.inf, tf.float32),
            logits,
        )
        return own - tf.reduce_logsumexp(others, axis=-1)

    def _step(self, inputs, class_ids):
        features = self.feature_model(inputs, training=False)
        with tf.GradientTape() as tape:
            tape.watch(features)
            probabilities = self.tail(features, training=False)
            # -1 asks for the most probable class.
            chosen = tf.where(
                class_ids < 0, tf.argmax(probabilities, axis=-1, output_type=tf.int32), class_ids
            )
            score = self._log_odds(features, probabilities, chosen)
        gradients = tape.gradient(score, features)
        return features, gradients, tf.cast(probabilities, tf.float32), chosen


def _step_for(model):
    step = _CACHE.get(model)
    if step is None:
        step = _CACHE[model] = _GradCamStep(model)
    return step


def grad_cam(model, inputs, class_ids=None, batch_size=32):
    """Grad-CAM maps of a batch of model inputs.

    Args:
        model: a classifier's Keras model (`clf.model`) with a layer named
            `"head"` that reads the last feature maps and ends in a softmax
            or a sigmoid.
        inputs: a batch of model inputs (what `clf.preprocess` returns).
        class_ids: `None` (each input's most probable class), one class id
            for all, or one per input (-1: the most probable).
        batch_size: inputs per call.

    Returns:
        dict of NumPy arrays: `maps` `(n, *spatial)` in [0, 1] over the feature
        maps' positions; `activations` and `gradients` `(n, *spatial,
        channels)` (the feature maps and the gradient of the chosen class's
        log-odds); `weights` `(n, channels)` (the gradient's mean over
        positions); `contributions` `(n, *spatial, channels)` (what each
        position and channel adds to the score: activations times `weights`,
        or times `gradients` for a head that flattens); `empty` `(n,)` bool
        (no position adds evidence: the map is all zero); `class_ids` `(n,)`
        explained; `probabilities` `(n, num_classes)`.

    Example:
    >>> import numpy as np, mmcnn
    >>> clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
    >>> out = grad_cam(clf.model, np.zeros((3, 16, 16, 1), "float32"))
    >>> out["maps"].shape, out["probabilities"].shape
    ((3, 4, 4), (3, 2))
    """
    step = _step_for(model)
    n = int(inputs.shape[0]) if hasattr(inputs, "shape") else len(inputs)
    if class_ids is None:
        class_ids = -1
    class_ids = np.broadcast_to(np.asarray(class_ids, dtype="int32"), (n,)).copy()
    num_classes = int(model.outputs[0].shape[-1])
    if np.any(class_ids >= num_classes):
        raise ValueError(
            f"`class_ids` must be below num_classes={num_classes} (or -1). Received: {class_ids.tolist()}"
        )
    parts = {"activations": [], "gradients": [], "probabilities": [], "class_ids": []}
    for start in range(0, n, batch_size):
        batch = inputs[start : start + batch_size]
        features, gradients, probabilities, chosen = step.step(
            tf.convert_to_tensor(batch, dtype=step.input_dtype),
            tf.constant(class_ids[start : start + batch_size]),
        )
        parts["activations"].append(np.asarray(features, dtype="float32"))
        parts["gradients"].append(np.asarray(gradients, dtype="float32"))
        parts["probabilities"].append(np.asarray(probabilities, dtype="float32"))
        parts["class_ids"].append(np.asarray(chosen))
    if not n:
        raise ValueError("grad_cam needs at least one input. Received an empty batch")
    out = {key: np.concatenate(value) for key, value in parts.items()}
    activations, gradients = out["activations"], out["gradients"]
    spatial = tuple(range(1, activations.ndim - 1))
    out["weights"] = gradients.mean(axis=spatial)
    if step.flattens:
        out["contributions"] = activations * gradients
    else:
        out["contributions"] = activations * np.expand_dims(out["weights"], spatial)
    out["maps"] = normalize_maps(np.maximum(out["contributions"].sum(axis=-1), 0.0))
    out["empty"] = empty_maps(out["maps"])
    return out


def empty_maps(maps):
    """`(n,)` bool: which maps (first axis: the batch) hold no positive value, so carry no information.

    Example:
    >>> empty_maps([np.zeros(3), np.array([0.0, 0.5, 1.0])]).tolist()
    [True, False]
    """
    return np.array([not np.any(np.asarray(m) > 0) for m in maps], dtype=bool)


def normalize_maps(maps):
    """Scales each map (first axis: the batch) to [0, 1] by its largest value; all-zero maps stay 0."""
    maps = np.asarray(maps, dtype="float32")
    axes = tuple(range(1, maps.ndim))
    peak = maps.max(axis=axes, keepdims=True) if maps.size else maps
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def resize_map(cam, shape):
    """One map `(*spatial)` resized to `shape` (same number of axes, 1 or 2), bilinear with
    half-pixel centres, so that each feature position covers its share of the input.

    Example:
    >>> resize_map(np.array([0.0, 1.0]), (4,)).tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    cam = np.asarray(cam, dtype="float32")
    shape = tuple(int(s) for s in shape)
    if cam.ndim != len(shape) or cam.ndim not in (1, 2):
        raise ValueError(
            "`shape` must have the map's number of axes (1 or 2). "
            f"Received: map shape {cam.shape}, shape={shape}"
        )
    if cam.ndim == 1:
        return resize_map(cam[:, None], (shape[0], 1))[:, 0]
    resized = tf.image.resize(cam[None, :, :, None], shape, method="bilinear", antialias=False)
    return np.clip(np.asarray(resized)[0, :, :, 0], 0.0, 1.0)
