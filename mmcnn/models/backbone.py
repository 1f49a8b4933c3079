"""A convolution stack built from a list of stage specifications."""

import keras

from mmcnn.layers import validation as v
from mmcnn.layers.conv_block import NORMALIZATIONS, POOLINGS, ConvBlock, SequentialBlock
from mmcnn.layers.padding import PAD_MODES
from mmcnn.layers.residual_block import ResidualBlock

BLOCK_TYPES = ("conv", "residual", "separable", "separable_residual")
_STAGE_KEYS = {"filters", "blocks", "kernel_size", "strides", "dilation_rate", "pooling", "block", "dropout"}


def _check_stage(index, stage, default_block):
    if not isinstance(stage, dict) or "filters" not in stage:
        raise ValueError(f"`stages[{index}]` must be a dict with at least 'filters'. Received: {stage!r}")
    unknown = set(stage) - _STAGE_KEYS
    if unknown:
        raise ValueError(
            f"`stages[{index}]` has unknown keys {sorted(unknown)}; "
            f"valid keys are {sorted(_STAGE_KEYS)}. Received: {stage!r}"
        )
    stage = {
        "blocks": 1,
        "kernel_size": 3,
        "strides": 1,
        "dilation_rate": 1,
        "pooling": None,
        "block": default_block,
        "dropout": 0.0,
        **stage,
    }
    v.check_positive_int(f"stages[{index}]['blocks']", stage["blocks"])
    v.check_choice(f"stages[{index}]['block']", stage["block"], BLOCK_TYPES)
    v.check_choice(f"stages[{index}]['pooling']", stage["pooling"], POOLINGS)
    return stage


@keras.saving.register_keras_serializable(package="mmcnn")
class Backbone(SequentialBlock):
    """Stages of convolution blocks; each stage may end in pooling.

    A stage is a dict: `filters` (required), `blocks` (repeats, default 1),
    `kernel_size` (3), `strides` (of the stage's first block, 1; use 2 for a
    strided convolution instead of pooling), `dilation_rate` (1), `pooling`
    (`None`, `"max"`, `"avg"` after the stage's last block), `block`
    (`"conv"`, `"residual"`, `"separable"`, `"separable_residual"`) and
    `dropout` (0).

    Args:
        stages: list of stage dicts.
        rank: 1 (sequences: audio frames, text tokens) or 2 (images).
        block: default block type of the stages.
        pad_mode: `"zeros"`, `"reflect"`, `"symmetric"` or `"edge"`.
        normalization: `"batch"`, `"layer"` or `None`.
        activation: activation of every block.
        **kwargs: base layer arguments (`name`, `dtype`, ...); the dtype policy
            (`"float16"`, `"mixed_bfloat16"`, ...) is passed on to every sublayer.

    Input shape:
        `(batch, *spatial, channels)` with `rank` spatial axes.

    Output shape:
        `(batch, *reduced_spatial, stages[-1]["filters"])`.

    Example:
    >>> import numpy as np
    >>> net = Backbone([{"filters": 8, "pooling": "max"}, {"filters": 16, "strides": 2}], rank=2)
    >>> net(np.zeros((1, 32, 32, 3), "float32")).shape
    TensorShape([1, 8, 8, 16])
    """

    def __init__(
        self,
        stages,
        rank=2,
        block="conv",
        pad_mode="zeros",
        normalization="batch",
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not stages:
            raise ValueError(f"`stages` must list at least one stage. Received: stages={stages!r}")
        self.rank = v.check_choice("rank", rank, (1, 2))
        self.block = v.check_choice("block", block, BLOCK_TYPES)
        self.pad_mode = v.check_choice("pad_mode", pad_mode, PAD_MODES)
        self.normalization = v.check_choice("normalization", normalization, NORMALIZATIONS)
        self.activation = activation
        self.stages = [dict(stage) for stage in stages]
        self._sequence = []
        for s, stage in enumerate(self.stages):
            stage = _check_stage(s, stage, block)
            for b in range(stage["blocks"]):
                last = b == stage["blocks"] - 1
                self._sequence.append(
                    self._make_block(
                        stage,
                        strides=stage["strides"] if b == 0 else 1,
                        pooling=stage["pooling"] if last else None,
                        dropout=stage["dropout"] if last else 0.0,
                        name=f"stage{s + 1}_block{b + 1}",
                    )
                )

    def _make_block(self, stage, strides, pooling, dropout, name):
        kind = stage["block"]
        common = dict(
            filters=stage["filters"],
            kernel_size=stage["kernel_size"],
            rank=self.rank,
            strides=strides,
            pad_mode=self.pad_mode,
            normalization=self.normalization,
            activation=self.activation,
            pooling=pooling,
            dropout=dropout,
            separable=kind.startswith("separable"),
            name=name,
            dtype=self.dtype_policy,
        )
        if kind.endswith("residual"):
            return ResidualBlock(**common)
        return ConvBlock(dilation_rate=stage["dilation_rate"], **common)

    @property
    def output_filters(self):
        return self.stages[-1]["filters"]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "stages": self.stages,
                "rank": self.rank,
                "block": self.block,
                "pad_mode": self.pad_mode,
                "normalization": self.normalization,
                "activation": self.activation,
            }
        )
        return config
