"""MovePredictor: which point will be played next, from the planes of a Go position.

A board is a small image whose pixels are intersections. The network keeps full
resolution throughout (stride 1, `same` padding, no pooling) because its output
is one logit per point, plus a pass logit from pooled features; points where
the player to move may not play get probability 0.
"""

import inspect

import keras
import numpy as np
import tensorflow as tf

from mmcnn.board.board_game import GoPosition, check_board_size, move_names
from mmcnn.board.board_planes import (
    DEFAULT_PLANES,
    check_planes,
    encode_position,
    legal_plane_index,
    plane_names,
    random_symmetry,
)
from mmcnn.layers import validation as v
from mmcnn.models.backbone import Backbone
from mmcnn.models.classifier import Classifier
from mmcnn.models.classifier_model import ClassifierModel

AUGMENTATIONS = ("none", "symmetry")
_TRAINING = dict(learning_rate=2e-3, epochs=20, batch_size=128, patience=4, weight_decay=1e-4)

PRESETS = {
    # Tests and quick looks.
    "tiny": dict(
        stages=[{"filters": 16, "kernel_size": 5}, {"filters": 16}],
        pass_units=16,
        **{**_TRAINING, "epochs": 5, "batch_size": 64},
    ),
    # The default: a 5x5 layer then 3x3 layers, all at 64 feature maps (Clark & Storkey, 2015, in small).
    "small": dict(
        stages=[{"filters": 64, "kernel_size": 5}, {"filters": 64, "blocks": 4}], pass_units=32, **_TRAINING
    ),
    # Residual 3x3 blocks after the 5x5 entry layer: deeper at the same width.
    "residual": dict(
        stages=[{"filters": 64, "kernel_size": 5}, {"filters": 64, "blocks": 4, "block": "residual"}],
        pass_units=32,
        **_TRAINING,
    ),
}


@keras.saving.register_keras_serializable(package="mmcnn")
class MoveHead(keras.layers.Layer):
    """One logit per board point (a 1x1 convolution) and a pass logit (pooled features -> dense).

    Under a half-precision dtype policy (`"float16"`, `"mixed_bfloat16"`, ...)
    the convolution and the dense layers run in the compute dtype; the logits
    are cast to float32, so the masked softmax after it works in float32.

    Args:
        pass_units: width of the hidden dense layer of the pass logit.
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            is passed on to every sublayer.

    Input shape:
        `(batch, size, size, channels)` feature maps at board resolution.

    Output shape:
        `(batch, size * size + 1)` float32 logits (whatever the policy): points
        in row-major order, then pass.

    Example:
    >>> import numpy as np
    >>> MoveHead(8)(np.zeros((2, 9, 9, 4), "float32")).shape
    TensorShape([2, 82])
    """

    def __init__(self, pass_units=32, **kwargs):
        super().__init__(**kwargs)
        self.pass_units = v.check_positive_int("pass_units", pass_units)
        policy = self.dtype_policy
        self.point_conv = keras.layers.Conv2D(1, 1, name="point_logits", dtype=policy)
        self.flatten = keras.layers.Flatten(name="flatten", dtype=policy)
        self.pool = keras.layers.GlobalAveragePooling2D(name="pool", dtype=policy)
        self.pass_hidden = keras.layers.Dense(pass_units, activation="relu", name="pass_hidden", dtype=policy)
        self.pass_logit = keras.layers.Dense(1, name="pass_logit", dtype=policy)

    def build(self, input_shape):
        if input_shape[1] is None or input_shape[2] is None:
            raise ValueError(f"MoveHead needs a fixed board size. Received: input_shape={input_shape}")
        self.point_conv.build(input_shape)
        self.pass_hidden.build((input_shape[0], input_shape[-1]))
        self.pass_logit.build((input_shape[0], self.pass_units))

    def call(self, inputs):
        points = self.flatten(self.point_conv(inputs))
        passes = self.pass_logit(self.pass_hidden(self.pool(inputs)))
        return keras.ops.cast(keras.ops.concatenate([points, passes], axis=-1), "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] * input_shape[2] + 1)

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update({"pass_units": self.pass_units})
        return config


@keras.saving.register_keras_serializable(package="mmcnn")
class LegalMoveSoftmax(keras.layers.Layer):
    """Softmax over legal moves only: illegal points get a logit of -inf, so probability 0.

    The legality comes from one plane of the position (1 = legal); the pass is
    always legal, so at least one logit stays finite. The move actually played
    is always legal, so masking in training too only stops the network
    spending probability on impossible moves.

    It computes in float32 whatever its dtype policy: float inputs are taken
    as float32 (the float32 logits of `MoveHead` are not rounded to the
    compute dtype of a mixed policy on the way in), and the probabilities
    are float32.

    Args:
        legal_plane: index of the legality plane in the position planes.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Input shape:
        `[logits, planes]`: `(batch, size * size + 1)` and `(batch, size, size, num_planes)`.

    Output shape:
        `(batch, size * size + 1)` float32 probabilities, 0 at illegal points.

    Example:
    >>> import numpy as np
    >>> planes = np.zeros((1, 2, 2, 1), "float32"); planes[0, 0, 1, 0] = 1  # only point 1 legal
    >>> LegalMoveSoftmax(0)([np.zeros((1, 5), "float32"), planes]).numpy().round(2).tolist()
    [[0.0, 0.5, 0.0, 0.0, 0.5]]
    """

    def __init__(self, legal_plane, **kwargs):
        super().__init__(**kwargs)
        self.legal_plane = v.check_positive_int("legal_plane", legal_plane, allow_zero=True)

    @property
    def input_dtype(self):
        # Keras casts float inputs to this before `call`: keep the logits float32.
        return "float32"

    def call(self, inputs):
        logits, planes = inputs
        if self.legal_plane >= planes.shape[-1]:
            raise ValueError(
                f"`legal_plane` ({self.legal_plane}) must index one of the "
                f"{planes.shape[-1]} planes. Received: legal_plane={self.legal_plane}"
            )
        logits = keras.ops.cast(logits, "float32")
        points = planes.shape[1] * planes.shape[2]
        legal = keras.ops.reshape(planes[..., self.legal_plane] > 0.5, (-1, points))
        legal = keras.ops.concatenate([legal, keras.ops.ones_like(legal[:, :1])], axis=-1)
        # Equal to a softmax with illegal logits at -inf, written with finite numbers only, so
        # that an int8 LiteRT file can hold every tensor: illegal logits take the lowest legal
        # value (the pass is always legal), then illegal probabilities are zeroed and the rest
        # renormalised.
        legal = keras.ops.cast(legal, "float32")
        lowest = keras.ops.min(
            keras.ops.where(legal > 0, logits, keras.ops.max(logits)), axis=-1, keepdims=True
        )
        probs = keras.ops.softmax(keras.ops.where(legal > 0, logits, lowest), axis=-1) * legal
        return probs / keras.ops.sum(probs, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(self.compute_output_shape([x.shape for x in inputs]), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update({"legal_plane": self.legal_plane})
        return config


class MovePredictor(Classifier):
    """Predicts the next move of a Go game from the position's feature planes.

    The model takes float32 planes `(batch, size, size, num_planes)` (see
    `mmcnn.board.encode_position`) and returns a probability for every point
    and the pass (`size**2 + 1` classes, named `"A1"`, ..., `"pass"`). It is
    the shared rank-2 `Backbone` with stride 1 and no pooling, then a
    `MoveHead` and a `LegalMoveSoftmax`.

    Args:
        board_size: side of the board (19, 13, 9).
        planes: plane groups of the input; must include `"legal"` (the mask).
        preset: `"tiny"`, `"small"` (default) or `"residual"`.
        augmentation: `"symmetry"` (default: one of the 8 board symmetries at
            random per training example, moves transformed with it) or `"none"`.
        learning_rate, epochs, batch_size: training settings (default: the preset's).
        seed: seed of initialisation, shuffling and augmentation.
        precision: `"auto"` (default: `mixed_bfloat16` where the machine computes
            bfloat16 natively, else `float32`; `mmcnn.models.precision`), `"float32"`,
            `"mixed_bfloat16"` or `"mixed_float16"`.

    Example:
    >>> import mmcnn.board
    >>> predictor = mmcnn.board.MovePredictor(board_size=9, preset="tiny")
    >>> predictor.model.output_shape
    (None, 82)
    >>> predictor.predict([mmcnn.board.GoPosition(9)])["probabilities"].shape
    (1, 82)
    """

    modality = "board"
    input_axes = ("height", "width", "planes")
    presets = PRESETS
    default_preset = "small"

    def __init__(
        self,
        board_size=19,
        planes=DEFAULT_PLANES,
        preset=None,
        augmentation="symmetry",
        learning_rate=None,
        epochs=None,
        batch_size=None,
        seed=0,
        precision="auto",
    ):
        board_size = check_board_size(board_size)
        planes = check_planes(planes)
        if "legal" not in planes:
            raise ValueError(
                "`planes` must include 'legal': illegal points are masked out of the "
                f"softmax with it. Received: planes={planes!r}"
            )
        if augmentation not in AUGMENTATIONS:
            raise ValueError(
                f"`augmentation` must be one of {list(AUGMENTATIONS)}. "
                f"Received: augmentation={augmentation!r}"
            )
        super().__init__(
            class_names=move_names(board_size),
            preset=preset,
            augmentation=augmentation,
            learning_rate=learning_rate,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            precision=precision,
        )
        self.board_size = board_size
        self.planes = planes

    # The class names follow from board_size: they are not constructor arguments here.
    def get_config(self):
        names = inspect.signature(MovePredictor.__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    @classmethod
    def from_config(cls, config):
        names = inspect.signature(cls.__init__).parameters
        return cls(**{k: value for k, value in config.items() if k in names and k != "self"})

    @property
    def num_planes(self):
        return len(plane_names(self.planes))

    @property
    def rank(self):
        return 2

    def build(self):
        """Builds the Keras model: planes -> backbone -> per-point logits -> legal softmax."""
        keras.utils.set_random_seed(self.seed)
        preset = self.preset_config
        planes = keras.Input((self.board_size, self.board_size, self.num_planes), name="planes")
        x = Backbone(preset["stages"], rank=2, block=preset.get("block", "conv"), name="backbone")(planes)
        logits = MoveHead(preset.get("pass_units", 32), name="move_head")(x)
        probs = LegalMoveSoftmax(legal_plane_index(self.planes), name="legal_softmax")([logits, planes])
        self._model = ClassifierModel(planes, probs, name="move_predictor", metadata=self._metadata())
        return self._model

    def training_metrics(self):
        return ["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")]

    # Data hooks ---------------------------------------------------------------
    def example_nbytes(self):
        return self.board_size * self.board_size * self.num_planes * 4

    def input_dataset(self, data, training=False):
        if data.kind != "arrays":
            raise ValueError(
                f"MovePredictor reads position planes (mmcnn.board.from_sgf); received {data.kind!r} data"
            )
        return tf.data.Dataset.from_tensor_slices(self._check_planes_array(np.asarray(data.inputs)))

    def training_map(self, seed):
        if self.augmentation == "symmetry":
            return random_symmetry(self.board_size, seed=seed)
        return None

    def _check_planes_array(self, x):
        expected = (self.board_size, self.board_size, self.num_planes)
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != expected:
            raise ValueError(
                f"position planes must be (n, {', '.join(map(str, expected))}) for "
                f"board_size={self.board_size} and planes={self.planes}. "
                f"Received shape {x.shape}"
            )
        return x.astype("float32", copy=False)

    def preprocess(self, inputs):
        """`GoPosition`s or plane arrays -> a float32 planes batch."""
        if isinstance(inputs, GoPosition):
            inputs = [inputs]
        if isinstance(inputs, (np.ndarray, tf.Tensor)):
            return self._check_planes_array(np.asarray(inputs))
        arrays = []
        for i, item in enumerate(inputs):
            if isinstance(item, GoPosition):
                if item.board_size != self.board_size:
                    raise ValueError(
                        f"inputs[{i}] is a {item.board_size}x{item.board_size} position; "
                        f"the predictor plays on {self.board_size}x{self.board_size}"
                    )
                arrays.append(encode_position(item, self.planes))
            else:
                arrays.append(self._check_planes_array(np.asarray(item))[0])
        return (
            self._check_planes_array(np.stack(arrays))
            if arrays
            else np.zeros((0, self.board_size, self.board_size, self.num_planes), "float32")
        )

    # --------------------------------------------------------------- evaluate
    def evaluate(self, data, batch_size=None, model_file=None, scores=None, return_probabilities=False):
        """Top-1 and top-5 accuracy of the predicted next move on `data` (`scores` and
        `return_probabilities` as `Classifier.evaluate`; no `model_file`)."""
        if model_file is not None:
            raise ValueError("a move predictor's exported files are not scored by `evaluate`")
        self._check_classes(data, "evaluation data")
        probs = (
            self.model.predict(self.make_dataset(data, batch_size=batch_size), verbose=0)
            if scores is None
            else scores
        )
        report = move_accuracy(data.labels, probs) | {"skipped": len(data.skipped)}
        return (report, probs) if return_probabilities else report

    # Export hooks -------------------------------------------------------------
    # The default `serving_default` endpoint takes the position planes, the model's own input.
    def serving_metadata(self):
        return {
            "preprocessing": {
                "board_size": self.board_size,
                "planes": plane_names(self.planes),
                "encoding": "mmcnn.board.encode_position(position, planes)",
                "classes": "board points in row-major order (A1 ...), then pass",
            }
        }


def move_accuracy(moves, probabilities, ks=(1, 5)):
    """Top-k accuracies of move probabilities `(n, moves)` against the played moves `(n,)`."""
    moves = np.asarray(moves)
    order = np.argsort(-np.asarray(probabilities), axis=-1, kind="stable")
    result = {
        f"top{k}_accuracy": float(np.mean(np.any(order[:, :k] == moves[:, None], axis=-1)))
        if len(moves)
        else 0.0
        for k in ks
    }
    result["num_examples"] = int(len(moves))
    return result
