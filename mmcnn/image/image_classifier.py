"""ImageClassifier: 2-D receptive fields over pixels."""

import logging
import os

import keras
import numpy as np
import tensorflow as tf

from mmcnn.image.image_adapter import ImageAdapter
from mmcnn.image.image_augmentation import MIXING_KINDS, POLICIES, ImageAugmentation, apply_batch_mixing
from mmcnn.image.image_auto import (
    AUTO,
    DEFAULT_BUDGET,
    FALLBACK_CHANNELS,
    FALLBACK_SIZE,
    choose_input,
    stem_kernel_size,
    stem_stride,
)
from mmcnn.image.image_backbone import adapt_stem_channels, check_backbone, check_input_range, user_backbone
from mmcnn.image.image_converter import (
    ImageConverter,
    ImageError,
    bytes_loader,
    check_image_header,
    decode_image,
    load_image_file,
    resize_image,
)
from mmcnn.image.image_data import IMAGE_EXTENSIONS, from_dataframe, from_directory
from mmcnn.image.image_serving import (
    image_edge_endpoint,
    image_edge_inputs,
    image_edge_metadata,
    image_endpoints,
    image_serving_input,
    image_settings,
    image_web_endpoint,
)
from mmcnn.layers.spatial_transformer import SpatialTransformer
from mmcnn.models.classifier import Classifier

logger = logging.getLogger("mmcnn")

# `augmentation="auto"` (the default): flip + translation ("light") while there are fewer than
# this many training images per class, horizontal flips only ("flip") from there on. On 55,000
# Fashion-MNIST images (5,500 a class) `compact` without augmentation scored 0.929 in 10 epochs
# against 0.919 in 20 with "light" (bench/results/time_to_accuracy_no_augmentation.md): the shift
# costs accuracy on centred images; with label smoothing, "flip" scored 0.934 where none scored
# 0.931 (bench/results/time_to_accuracy_label_smoothing.md). On 10-400 a class "light" and none
# were equal within the spread of two draws, and "light" guards small sets of real, uncentred
# photos against overfitting (bench/RESULTS.md, "Small data: images").
AUTO_AUGMENTATION_UNTIL = 1000
DEFAULT_AUGMENTATION = "auto"

_TRAINING = dict(learning_rate=2e-3, epochs=15, batch_size=128, patience=5, weight_decay=1e-4)
# The input each preset is built for (`mmcnn.image.image_auto`): stages sized for 32x32 pictures;
# larger ones go through a stem that strides up to 4 (2 for `tiny`), so that the stages see a map
# of about 32x32 and the multiply-adds per example stay within 1.25x the budget's below; pictures
# above 128x128 (64x64) are resized down to it when `image_size="auto"` chooses.
_BUDGET = DEFAULT_BUDGET

# Each preset's budget: multiply-adds per 32x32 RGB image (`mmcnn inspect --preset NAME
# --modality image`) and what it is for; times are Fashion-MNIST's 55,000 28x28 images on a
# 2-core Xeon in mixed bfloat16 (bench/results/time_to_accuracy*.md).
PRESETS = {
    # 4 M: tests and quick looks.
    "tiny": dict(
        rank=2,
        stem=16,
        stages=[{"filters": 16, "pooling": "max"}, {"filters": 32, "pooling": "max"}],
        head_dropout=0.0,
        input_budget={**_BUDGET, "max_stem_stride": 2},
        **{**_TRAINING, "epochs": 10},
    ),
    # 10 M, the default, chosen by time to accuracy on a 2-core CPU: the stem pools, so the
    # stages work at half the resolution (half of `small`'s multiply-adds), and a final map of
    # up to 8,192 values (images up to 32x32) is flattened into the head, which learns in
    # fewer epochs than global pooling (+2.2 points of validation accuracy at 20 epochs). Label
    # smoothing keeps the validation loss from climbing with overconfidence while accuracy still
    # rises. Fashion-MNIST: 0.934 in 12 minutes (25 epochs, "auto" = flips only there), against
    # 0.926-0.929 for 20 epochs without smoothing or flips.
    "compact": dict(
        rank=2,
        stem=32,
        stem_pooling="max",
        stages=[{"filters": 64, "pooling": "max"}, {"filters": 128}],
        head_pooling="auto",
        head_dropout=0.3,
        label_smoothing=0.1,
        input_budget=_BUDGET,
        **{**_TRAINING, "epochs": 25},
    ),
    # 20 M: VGG-style stages at full resolution, global average pooling (the default before
    # `compact`). Fashion-MNIST: 0.913 in 12 minutes.
    "small": dict(
        rank=2,
        stem=32,
        stages=[{"filters": 32, "pooling": "max"}, {"filters": 64, "pooling": "max"}, {"filters": 128}],
        head_dropout=0.3,
        input_budget=_BUDGET,
        **{**_TRAINING, "epochs": 20},
    ),
    # 12 M, the fewest weights: depthwise-separable stages, for a phone or a board where the
    # file's size counts. On a CPU they run far below peak: slower to train than `small`.
    "mobile": dict(
        rank=2,
        stem=32,
        block="separable",
        stages=[
            {"filters": 64, "pooling": "max"},
            {"filters": 128, "blocks": 2, "pooling": "max"},
            {"filters": 256},
        ],
        head_dropout=0.3,
        input_budget=_BUDGET,
        **_TRAINING,
    ),
    # 106 M: a deeper residual net with strided convolutions instead of pooling, for a GPU or
    # a budget of hours.
    "resnet": dict(
        rank=2,
        stem=32,
        block="residual",
        stages=[
            {"filters": 32, "blocks": 2},
            {"filters": 64, "blocks": 2, "strides": 2},
            {"filters": 128, "blocks": 2, "strides": 2},
        ],
        head_dropout=0.3,
        input_budget=_BUDGET,
        **{**_TRAINING, "epochs": 30},
    ),
}


class ImageClassifier(Classifier):
    """Image classifier: augmentation (training only) -> 2-D adapter -> backbone -> head.

    The model takes float pixels `(batch, height, width, channels)` in 0..255;
    `predict` also takes file paths, encoded bytes and arrays of any size, and
    resizes them the same way training did.

    Args:
        num_classes: number of classes (or give `class_names`, or let `fit` take them from the data).
        image_size: `(height, width)` the model sees; inputs of other sizes are resized.
            `"auto"` (default): decided from the training data when the model is first
            built (`mmcnn.image.image_auto.choose_size`): the size most pictures have (or
            their median), capped by the preset's `input_budget` and rounded to what its
            strides divide; 32x32 when the model is built before any data. Pictures larger
            than the preset's base (32x32) go through a stem that strides more, so the
            multiply-adds per example stay within the budget (`stem_stride`). The concrete
            size is what `get_config`, the `.keras` file and exports hold once built.
        channels: 1 (grey) or 3 (RGB); files and arrays are converted to it. `"auto"`
            (default): 1 when every sampled training picture is grey, else 3 (3 before
            any data). What was decided, and why, is `input_used` (also in the model's
            metadata and a run's metrics.json).
        resize_mode: `"crop"` (aspect-preserving centre crop), `"pad"` (aspect-preserving,
            zero padding) or `"stretch"`.
        class_names: ordered class names; they travel with the saved model.
        preset: `"tiny"`, `"compact"` (default), `"small"`, `"mobile"` or `"resnet"`.
        augmentation: `"auto"` (default), `"none"`, `"flip"`, `"light"`, `"standard"`
            or `"strong"` (see `ImageAugmentation`); random in training only, the
            identity in `predict`, `evaluate` and exports. `"auto"` is `"light"`
            below `AUTO_AUGMENTATION_UNTIL` (1,000) training images per class and
            `"flip"` from there on, decided when the model is built (by the first
            `fit` or `prepare`; `"light"` when it is built before any data).
        learning_rate, epochs, batch_size: training settings (default: the preset's).
        seed: seed of initialisation, shuffling and augmentation.
        precision: `"auto"` (default: `mixed_bfloat16` where the machine computes
            bfloat16 natively, else `float32`; `mmcnn.models.precision`), `"float32"`,
            `"mixed_bfloat16"` or `"mixed_float16"`.
        multi_label: several labels per example (docs/multilabel.md): a sigmoid
            head, binary cross-entropy and per-class thresholds chosen on the
            validation split. Default False; the first `fit` sets it when the
            data is multi-label (a manifest with `;`-separated labels).
        mixing: `None` (default), `"mixup"` or `"cutmix"`: mix pairs of
            training images and their labels batch by batch in `tf.data`
            (`apply_batch_mixing`); the labels become one-hot and the loss
            categorical cross-entropy.
        spatial_transformer: put a `SpatialTransformer` (a learnt affine warp,
            initialised to the identity) between the augmentation and the adapter.
        init_from: a run directory or `.keras` file of an image classifier to
            start from (a warm start, `mmcnn.models.transfer`): its adapter and
            backbone weights are copied, and its head when the classes are
            the same. `image_size` and the preset must match; a grey source
            serves an RGB classifier and back (the stem is adapted).
        freeze_epochs: epochs with the copied (or given) layers frozen before
            all are trained (default: up to 3, at most half the epochs, when
            the head is new; 0 when it was kept).
        fine_tune_learning_rate: learning rate once everything trains
            (default: `learning_rate` when the head is new, a tenth of it
            when it was kept).
        backbone: a Keras model (or a `.keras` file) that maps scaled pixels
            `(batch, height, width, channels)` to a feature map or a vector,
            used instead of the mmcnn stem and backbone (e.g.
            `keras.applications.MobileNetV3Small(weights=None, include_top=False)`
            with your own weights loaded; docs/transfer.md). Frozen first, as
            in a warm start.
        backbone_input_range: `(low, high)` the pixels 0..255 are scaled to
            for `backbone` (default `(0, 1)`; `(0, 255)` for models that scale
            inside, such as MobileNetV3 with its preprocessing).

    Example:
    >>> import numpy as np, mmcnn
    >>> clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
    >>> clf.model.output_shape
    (None, 2)
    >>> clf.predict(np.zeros((3, 20, 24), "uint8"))["probabilities"].shape
    (3, 2)
    """

    modality = "image"
    input_axes = ("height", "width", "channels")
    # Grey and RGB sources both fit: the stem is adapted (`adapt_stem_channels`).
    transfer_settings = ("image_size",)
    from_directory = staticmethod(from_directory)
    from_dataframe = staticmethod(from_dataframe)
    input_extensions = IMAGE_EXTENSIONS
    presets = PRESETS
    default_preset = "compact"

    @classmethod
    def tune_space(cls, settings):
        """The default space of `mmcnn tune image` (`mmcnn.tune.space`; `settings`: the fixed arguments).

        Width and depth through the preset (tiny < compact < small < mobile < resnet),
        the learning rate around the presets' 2e-3, the batch size, and the
        augmentation policy. Dropout is part of each preset (not an argument)."""
        return {
            "preset": {"values": ["tiny", "compact", "small", "mobile", "resnet"]},
            "learning_rate": {"min": 5e-4, "max": 5e-3, "log": True},
            "batch_size": {"values": [32, 64, 128]},
            "augmentation": {"values": list(POLICIES)},
        }

    def __init__(
        self,
        num_classes=None,
        image_size=AUTO,
        channels=AUTO,
        resize_mode="crop",
        augmentation=DEFAULT_AUGMENTATION,
        mixing=None,
        spatial_transformer=False,
        backbone=None,
        backbone_input_range=(0.0, 1.0),
        **kwargs,
    ):
        if augmentation not in ("auto", *POLICIES):
            raise ValueError(
                f"`augmentation` must be 'auto' or one of {POLICIES}. Received: augmentation={augmentation!r}"
            )
        if mixing is not None and mixing not in MIXING_KINDS:
            raise ValueError(f"`mixing` must be None or one of {MIXING_KINDS}. Received: mixing={mixing!r}")
        if not isinstance(spatial_transformer, bool):
            raise ValueError(
                "`spatial_transformer` must be True or False. "
                f"Received: spatial_transformer={spatial_transformer!r}"
            )
        super().__init__(num_classes=num_classes, augmentation=augmentation, **kwargs)
        # The converter validates these and fails naming the argument ("auto" is checked as the
        # fallback; the converter is made once both are concrete).
        ImageConverter(
            FALLBACK_SIZE if image_size == AUTO else image_size,
            FALLBACK_CHANNELS if channels == AUTO else channels,
            resize_mode,
        )
        self.resize_mode = resize_mode
        # What "auto" decided and why (None until the model is built, or when nothing was "auto").
        self.input_used = None
        self._set_input(image_size if image_size == AUTO else tuple(image_size), channels)
        self.mixing = mixing
        self.spatial_transformer = spatial_transformer
        # A given Keras model is kept as its config (what `get_config` and the `.keras` file hold);
        # the object itself, with its weights, is what `build` uses.
        self._backbone_model = backbone if isinstance(backbone, keras.Model) else None
        self.backbone = check_backbone(backbone)
        self.backbone_input_range = check_input_range(backbone_input_range)

    @property
    def preset_config(self):
        config = super().preset_config
        if self.backbone is not None and config.get("head_pooling") == "auto":
            # A given backbone's features are averaged, as the networks they come from were trained.
            config["head_pooling"] = "avg"
        return config

    # "auto" image size and channels ---------------------------------------------
    def _set_input(self, image_size, channels):
        self.image_size = image_size
        self.channels = channels
        concrete = AUTO not in (image_size, channels)
        self._converter = ImageConverter(image_size, channels, self.resize_mode) if concrete else None

    def _input_is_auto(self):
        return AUTO in (self.image_size, self.channels)

    def prepare_for_training(self, data):
        """Decides `image_size="auto"` and `channels="auto"` from the training pictures."""
        super().prepare_for_training(data)
        if not self._input_is_auto():
            return
        image_size, channels, record = choose_input(data, self.preset_config, self.image_size, self.channels)
        given = self._given_input()
        if given is not None:
            # A warm start fixes the size; the channels still follow the data (the stem is adapted).
            image_size, channels, why = given[0], channels if given[1] is None else given[1], given[2]
            record.update(image_size=list(image_size), channels=channels, image_size_reason=why)
            record["stem_stride"] = stem_stride(image_size, self.preset_config.get("input_budget"))
        self._decided(image_size, channels, record)

    def _given_input(self):
        """`(image_size, channels, reason)` where something other than the data fixes the size:
        a warm start's source (its size; channels follow the data) or a given backbone with a
        fixed input; None otherwise."""
        if self.image_size != AUTO:
            return None
        if self.init_from is not None:
            from mmcnn.models.transfer import source_model_path
            from mmcnn.training import keras_file_metadata

            config = keras_file_metadata(source_model_path(self.init_from)).get("config") or {}
            if config.get("image_size") not in (None, AUTO):
                channels = self.channels if self.channels != AUTO else None
                return tuple(config["image_size"]), channels, f"init_from {self.init_from!r} has this size"
        if self.backbone is not None:
            from mmcnn.image.image_backbone import _load

            shape = tuple(_load(self._backbone_model or self.backbone).input_shape)
            if len(shape) == 4 and None not in shape[1:3]:
                channels = shape[3] if self.channels == AUTO else self.channels
                return tuple(shape[1:3]), channels, "the given backbone takes this size"
        return None

    def _decided(self, image_size, channels, record):
        record.update(image_size=list(image_size), channels=channels)
        self._set_input(tuple(image_size), channels)
        self.input_used = record
        logger.info(
            "image_size=%dx%d, channels=%d (%s; %s)",
            *image_size,
            channels,
            record["image_size_reason"],
            record["channels_reason"],
        )

    def _fix_input(self):
        """Settles "auto" without data (a model built, or a pipeline made, before any `fit`): the
        warm start's or backbone's size, else the documented fallback, 32x32 RGB."""
        if not self._input_is_auto():
            return
        given = self._given_input()
        image_size, why = (given[0], given[2]) if given else (FALLBACK_SIZE, "no training data: the fallback")
        if self.image_size != AUTO:
            image_size, why = self.image_size, "given"
        channels = self.channels
        if channels == AUTO:
            channels = given[1] if given and given[1] is not None else FALLBACK_CHANNELS
        self._decided(
            image_size,
            channels,
            {
                "sampled": 0,
                "image_size_reason": why,
                "channels_reason": "given" if self.channels != AUTO else "no training data: the fallback",
                "stem_stride": stem_stride(image_size, self.preset_config.get("input_budget")),
            },
        )

    def stem_stride(self):
        """The stem's stride at this `image_size` (`mmcnn.image.image_auto.stem_stride`): 1 up to
        the preset's base size, more for larger pictures."""
        self._fix_input()
        return stem_stride(self.image_size, self.preset_config.get("input_budget"))

    def build(self):
        self._fix_input()
        return super().build()

    def model_input(self):
        self._fix_input()
        return keras.Input((*self.image_size, self.channels), name="pixels")

    def auto_augmentation(self, examples_per_class):
        """`"light"` on small data (or unknown size), `"flip"` from `AUTO_AUGMENTATION_UNTIL`
        training images per class on (see its comment for the measurements).

        Example:
        >>> clf = ImageClassifier(num_classes=10)
        >>> clf.auto_augmentation(50), clf.auto_augmentation(5500), clf.auto_augmentation(None)
        ('light', 'flip', 'light')
        """
        if examples_per_class is not None and examples_per_class >= AUTO_AUGMENTATION_UNTIL:
            return "flip"
        return "light"

    def front_layers(self):
        preset = self.preset_config
        layers = [ImageAugmentation(self.augmentation_policy(), seed=self.seed, name="augmentation")]
        if self.spatial_transformer:
            # On raw pixels, before the stem: the warp decides what the receptive fields see.
            layers.append(SpatialTransformer(name="spatial_transformer"))
        if self.backbone is not None:
            # A given backbone takes the scaled pixels itself: no mmcnn stem.
            low, high = self.backbone_input_range
            layers.append(keras.layers.Rescaling((high - low) / 255.0, offset=low, name="backbone_scaling"))
            return layers
        stride = self.stem_stride()
        layers.append(
            ImageAdapter(
                preset["stem"],
                kernel_size=stem_kernel_size(stride),
                strides=stride,
                pooling=preset.get("stem_pooling"),
                name="adapter",
            )
        )
        return layers

    # Given backbones and warm starts ------------------------------------------
    def backbone_layer(self):
        if self.backbone is None:
            return super().backbone_layer()
        return user_backbone(self._backbone_model or self.backbone, self.image_size, self.channels)

    def pretrained_layers(self):
        return ("backbone",) if self.backbone is not None else ()

    def adapt_transfer_weight(self, layer_name, variable_path, value, target_value):
        return adapt_stem_channels(layer_name, variable_path, value, target_value.shape)

    def example_nbytes(self):
        self._fix_input()
        return int(np.prod(self.image_size)) * self.channels * 4

    def input_dataset(self, data, training=False):
        self._fix_input()
        size, channels, mode = self.image_size, self.channels, self.resize_mode
        if data.kind == "files":

            def load(path):
                return resize_image(decode_image(tf.io.read_file(path), channels), size, mode)

            return tf.data.Dataset.from_tensor_slices(list(data.inputs)).map(
                load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
            )
        if data.kind != "arrays":
            raise ValueError(f"ImageClassifier reads image files or arrays; received {data.kind!r} data")
        if isinstance(data.inputs, np.ndarray):
            pixels = data.inputs.astype("float32", copy=False)
            if pixels.shape[1:] != (*size, channels):
                pixels = self._converter(pixels).numpy()
        else:
            # Arrays of different sizes: resize one at a time, as files are.
            pixels = (
                np.stack([self._converter(np.asarray(image, "float32")).numpy() for image in data.inputs])
                if len(data.inputs)
                else np.zeros((0, *size, channels), "float32")
            )
        return tf.data.Dataset.from_tensor_slices(pixels)

    def check_input_file(self, path):
        """Header-level check of an image file before `file_dataset` decodes it (`check_image_header`)."""
        check_image_header(path)

    def preprocess(self, inputs):
        """Raw inputs -> a float32 pixel batch `(n, height, width, channels)`.

        `inputs` is one file path or encoded image (`bytes`), a list of
        paths / bytes / single images `(h, w[, c])`, or a batch array
        `(n, h, w)` or `(n, h, w, c)`. Every image is decoded and resized
        with the same in-graph functions that training used.
        """
        self._fix_input()
        if isinstance(inputs, (str, bytes, os.PathLike)):
            inputs = [inputs]
        if isinstance(inputs, tf.Tensor):
            inputs = inputs.numpy()
        if isinstance(inputs, np.ndarray) and inputs.dtype.kind in "uif":
            x = inputs[..., None] if inputs.ndim == 3 else inputs
            if x.ndim != 4:
                raise ValueError(
                    "image arrays must be batches of shape (n, height, width[, channels]). "
                    f"Received shape {inputs.shape}"
                )
            return self._converter(x.astype("float32")).numpy()
        images = []
        for i, item in enumerate(inputs):
            if isinstance(item, bytes):
                images.append(self._decode_bytes(item, i))
            elif isinstance(item, np.ndarray) and item.dtype.kind in "uif":
                image = item[..., None] if item.ndim == 2 else item
                if image.ndim != 3:
                    raise ValueError(
                        f"inputs[{i}]: an image array must be (height, width[, channels]). "
                        f"Received shape {item.shape}"
                    )
                images.append(self._converter(image.astype("float32")).numpy())
            elif isinstance(item, (str, os.PathLike)):
                images.append(load_image_file(item, self.image_size, self.channels, self.resize_mode))
            else:
                raise ValueError(
                    f"inputs[{i}]: expected a file path, encoded image bytes or an image "
                    f"array. Received {type(item).__name__}"
                )
        if not images:
            return np.zeros((0, *self.image_size, self.channels), "float32")
        return np.stack(images).astype("float32")

    def _decode_bytes(self, data, index):
        try:
            return bytes_loader(self.image_size, self.channels, self.resize_mode)(tf.constant(data)).numpy()
        except tf.errors.InvalidArgumentError as error:
            raise ImageError(
                f"inputs[{index}] (bytes)", f"cannot decode image: {str(error).strip().splitlines()[0]}"
            ) from None

    # Export hooks --------------------------------------------------------------
    def serving_endpoints(self):
        """`serving_default` (encoded bytes), `pixels` (any size), `features` (model size)."""
        return image_endpoints(self)

    def serving_metadata(self):
        return {"preprocessing": image_settings(self)}

    def serving_input(self):
        """Encoded bytes, as `serving_default` takes them (a table's image column)."""
        return image_serving_input(self)

    def edge_endpoint(self):
        """uint8 pixels `(1, height, width, channels)` at the model's size (LiteRT, ONNX)."""
        return image_edge_endpoint(self)

    def edge_inputs(self, batch):
        return image_edge_inputs(batch)

    def edge_metadata(self):
        return image_edge_metadata(self)

    def web_endpoint(self):
        """Float32 RGB pixels, resized but not rounded (the page feeds what `predict` feeds)."""
        return image_web_endpoint(self)

    def web_settings(self):
        return {"preprocessing": {"dtype": "float32"}}

    # Explain hook --------------------------------------------------------------
    def explanation_views(self, batch, cam):
        """Grad-CAM maps resized to the picture, `(height, width)`, drawn over its pixels."""
        from mmcnn.explain import resize_map

        return {
            "maps": [resize_map(m, self.image_size) for m in cam["maps"]],
            "backgrounds": list(np.asarray(batch, dtype="float32")),
        }

    # MixUp / CutMix: soft labels in training, one-hot labels everywhere else so
    # that the validation loss uses the same categorical cross-entropy.
    def make_dataset(self, data, training=False, batch_size=None, **kwargs):
        ds = super().make_dataset(data, training=training, batch_size=batch_size, **kwargs)
        if self.mixing is None:
            return ds
        if training:
            return apply_batch_mixing(ds, self.mixing, self.num_classes, seed=self.seed)
        num_classes = self.num_classes
        return ds.map(
            lambda x, y: (x, tf.one_hot(tf.cast(y, tf.int32), num_classes)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    def training_loss(self):
        # Mixed batches carry soft labels.
        if self.mixing:
            return keras.losses.CategoricalCrossentropy(
                label_smoothing=self.preset_config.get("label_smoothing", 0.0)
            )
        return super().training_loss()
