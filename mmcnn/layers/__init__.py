"""Rank-generic building blocks: padding modes, convolution and residual blocks, the head, temperature."""

from mmcnn.layers.conv_block import ConvBlock
from mmcnn.layers.head import ClassifierHead
from mmcnn.layers.padding import PAD_MODES, Pad
from mmcnn.layers.residual_block import ResidualBlock
from mmcnn.layers.spatial_transformer import SpatialTransformer
from mmcnn.layers.temperature import Temperature

__all__ = [
    "ClassifierHead",
    "ConvBlock",
    "PAD_MODES",
    "Pad",
    "ResidualBlock",
    "SpatialTransformer",
    "Temperature",
]
