"""Rank-generic building blocks: padding, convolution and residual blocks, the head, temperature, fusion."""

from mmcnn.layers.conv_block import ConvBlock
from mmcnn.layers.fusion import FUSION_MODES, Fusion
from mmcnn.layers.head import ClassifierHead
from mmcnn.layers.padding import PAD_MODES, Pad
from mmcnn.layers.residual_block import ResidualBlock
from mmcnn.layers.spatial_transformer import SpatialTransformer
from mmcnn.layers.temperature import Temperature

__all__ = [
    "ClassifierHead",
    "ConvBlock",
    "FUSION_MODES",
    "Fusion",
    "PAD_MODES",
    "Pad",
    "ResidualBlock",
    "SpatialTransformer",
    "Temperature",
]
