"""Generic models: the backbone built from stage specifications and the classifier task."""

from mmcnn.models.backbone import Backbone
from mmcnn.models.classifier import Classifier, ClassifierModel, load
from mmcnn.models.metrics import classification_report

__all__ = ["Backbone", "Classifier", "ClassifierModel", "classification_report", "load"]
