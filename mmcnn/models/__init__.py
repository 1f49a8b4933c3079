"""Generic models: the backbone built from stage specifications and the classifier task."""

from mmcnn.models.backbone import Backbone

__all__ = ["Backbone"]
