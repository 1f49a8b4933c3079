"""Generic models: the backbone built from stage specifications and the classifier task."""

from mmcnn.models.backbone import Backbone
from mmcnn.models.classifier import Classifier, load
from mmcnn.models.classifier_model import ClassifierModel
from mmcnn.models.metrics import classification_report

__all__ = ["Backbone", "Classifier", "ClassifierModel", "classification_report", "load"]
