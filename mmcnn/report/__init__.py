"""The run report: pictures of a trained classifier and one HTML page that shows them.

`write_report(classifier, report_dir, history=None, metrics=None, example=None)`
writes, into `report_dir`, one picture per module of this package:

- `learning_curves.png`: loss and accuracy per epoch, training and validation.
- `confusion_matrix.png`: true against predicted class, counts in the cells,
  colours normalised per true class (row). Multi-label metrics get
  `per_class_scores.png` instead (precision, recall and F1 bars per class).
- `filters.png`: the weights of the first convolution, one panel per filter.
- `feature_maps.png`: what the first convolution blocks output for one example.
- `receptive_field.png`: how far one unit of each convolution sees into the
  example (rectangles over an image, intervals under a spectrogram or under
  the tokens of a text).
- with `data` and `probabilities` (predictions on a labelled split):
  `reliability.png` (confidence against accuracy before and after the
  temperature, with the expected calibration error), `mistakes.png` (the most
  confidently wrong examples with their Grad-CAM maps, capped at
  `gallery_size`) and `confused_pairs.png` (the most confused class pairs,
  with examples); `activation_maps.py` draws a map over a picture, a log-mel
  or a text.
- `index.html` (`page.py`): the metrics table and the pictures with one-line
  captions, self-contained (relative image paths, inline style, no script).

Each picture is one `Picture` record (file, caption, drawing function, what
it is made from) in the ordered list `REPORT_PICTURES` (`pictures.py`); the
page walks that list, so a new picture is one module plus one record.

Every picture is made on its own: one that cannot be made (no example, no
history, no convolution in the model) is skipped with a logged warning and
the page says that it is missing and why.

The walk over the model (`model_walk.py`) is the one `mmcnn.inspect` does
(`mmcnn.inspect.walk`): the functional model's layers in order, descending into
blocks through their `inspect_path()` and into nested `keras.Sequential`
models. `example.py` makes one example into a batch the model takes;
`drawing.py` holds what the pictures share.

Figures are plain `matplotlib.figure.Figure` objects drawn on the Agg canvas:
no pyplot, no display needed, and the global matplotlib backend of the
caller (a notebook, say) is left alone.
"""

from mmcnn.report.activation_maps import draw_explanation, plot_explanation
from mmcnn.report.confusion_matrix import plot_confusion_matrix
from mmcnn.report.drawing import MAX_TOKENS_DRAWN
from mmcnn.report.errors import ReportError
from mmcnn.report.feature_maps import FEATURE_MAP_BLOCKS, MAX_MAPS_PER_BLOCK, plot_feature_maps
from mmcnn.report.filters import filter_panels, plot_filters
from mmcnn.report.learning_curves import plot_learning_curves
from mmcnn.report.mistakes import (
    GALLERY_SIZE,
    most_confident_mistakes,
    most_confused_pairs,
    plot_confused_pairs,
    plot_mistakes,
)
from mmcnn.report.model_walk import first_conv, iter_layers
from mmcnn.report.page import write_report
from mmcnn.report.per_class_scores import plot_per_class_scores
from mmcnn.report.pictures import PICTURES, PREDICTION_PICTURES, REPORT_PICTURES, Picture, PictureInputs
from mmcnn.report.receptive_field import conv_fields, plot_receptive_field
from mmcnn.report.reliability import plot_reliability

__all__ = [
    "FEATURE_MAP_BLOCKS",
    "GALLERY_SIZE",
    "MAX_MAPS_PER_BLOCK",
    "MAX_TOKENS_DRAWN",
    "PICTURES",
    "PREDICTION_PICTURES",
    "REPORT_PICTURES",
    "Picture",
    "PictureInputs",
    "ReportError",
    "conv_fields",
    "draw_explanation",
    "filter_panels",
    "first_conv",
    "iter_layers",
    "most_confident_mistakes",
    "most_confused_pairs",
    "plot_confused_pairs",
    "plot_confusion_matrix",
    "plot_explanation",
    "plot_feature_maps",
    "plot_filters",
    "plot_learning_curves",
    "plot_mistakes",
    "plot_per_class_scores",
    "plot_receptive_field",
    "plot_reliability",
    "write_report",
]
