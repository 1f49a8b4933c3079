"""Why did it say that, and how sure is it: Grad-CAM maps and calibration.

- `grad_cam(model, inputs, class_ids)`: Grad-CAM over the feature maps the
  classifier's head reads (`gradcam.py`); `Classifier.explain` brings the maps
  to the input's resolution through each modality's `explanation_views` hook
  (`explainer.py`).
- `expected_calibration_error`, `reliability_bins`, `negative_log_likelihood`,
  `fit_temperature`, `scale_probabilities` (`calibration.py`): the numbers
  behind `Classifier.calibrate` and the report's reliability diagram.

See `docs/explain.md`.
"""

from mmcnn.explain.calibration import (
    ECE_BINS,
    MIN_CALIBRATION_EXAMPLES,
    TEMPERATURE_BOUNDS,
    calibration_summary,
    expected_calibration_error,
    fit_temperature,
    model_temperature,
    negative_log_likelihood,
    reliability_bins,
    scale_probabilities,
    temperature_fit_note,
    temperature_layer,
)
from mmcnn.explain.explainer import TOP_CLASSES, class_ids_for, explain_classifier
from mmcnn.explain.gradcam import empty_maps, feature_layer, grad_cam, head_layer, normalize_maps, resize_map

__all__ = [
    "ECE_BINS",
    "MIN_CALIBRATION_EXAMPLES",
    "TEMPERATURE_BOUNDS",
    "TOP_CLASSES",
    "calibration_summary",
    "class_ids_for",
    "empty_maps",
    "expected_calibration_error",
    "explain_classifier",
    "feature_layer",
    "fit_temperature",
    "grad_cam",
    "head_layer",
    "model_temperature",
    "negative_log_likelihood",
    "normalize_maps",
    "reliability_bins",
    "resize_map",
    "scale_probabilities",
    "temperature_fit_note",
    "temperature_layer",
]
