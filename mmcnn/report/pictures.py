"""The report's pictures: one `Picture` record each, in `REPORT_PICTURES`, in page order.

A record holds all the page needs to know of a picture: its file name, its
caption (a text, or a function of what `write_report` was given), the function
that draws it, and what it is made from (which kind of labels, whether from the
predictions on a labelled split). `write_report` (`page.py`) walks the list and
knows no picture by name. To add a picture: write its drawing function in a
module of its own (returning a `matplotlib.figure.Figure`, raising `ReportError`
with the reason when it cannot be made) and add one `Picture` to the list.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

from mmcnn.report.columns import plot_column_ablation
from mmcnn.report.confusion_matrix import plot_confusion_matrix
from mmcnn.report.feature_maps import plot_feature_maps
from mmcnn.report.filters import plot_filters
from mmcnn.report.learning_curves import learning_curves_caption, plot_learning_curves
from mmcnn.report.mistakes import GALLERY_SIZE, plot_confused_pairs, plot_mistakes
from mmcnn.report.per_class_scores import plot_per_class_scores
from mmcnn.report.receptive_field import plot_receptive_field
from mmcnn.report.reliability import plot_reliability

LABEL_KINDS = ("any", "single", "multi")
# The models a picture is made for, by their input: any, one input, or a table's columns.
MODEL_INPUTS = ("any", "one", "columns")


@dataclasses.dataclass(frozen=True)
class PictureInputs:
    """What `write_report` was given, as the pictures' `make` and `caption` functions read it.

    `model` is the classifier's Keras model (the classifier itself when it is
    one); `data` and `probabilities` are the labelled split and the
    predictions on it (both None when not given).
    """

    classifier: Any
    model: Any
    history: Any = None
    metrics: Any = None
    example: Any = None
    data: Any = None
    probabilities: Any = None
    split: str = "test"
    gallery_size: int = GALLERY_SIZE

    @property
    def multi_label(self):
        return bool((self.metrics or {}).get("multi_label"))


@dataclasses.dataclass(frozen=True)
class Picture:
    """One picture of the report.

    Args:
        file: the PNG's file name in the report folder (`"filters.png"`).
        caption: the one-line caption under it on the page: a text, or a
            function of the `PictureInputs` that returns one.
        make: a function of the `PictureInputs` that returns the figure.
        labels: the models it is made for: `"any"`, `"single"` (one label per
            example) or `"multi"` (multi-label metrics).
        from_predictions: made from the predictions on a labelled split
            (`data` and `probabilities` of `write_report`): shown in the
            calibration and mistakes part of the page, and only when given.
        model_inputs: `"any"`, `"one"` (a model with one input: the pictures
            drawn over an input) or `"columns"` (a table model).

    Example:
    >>> Picture("blank.png", "Nothing.", make=lambda inputs: None).labels
    'any'
    """

    file: str
    caption: str | Callable[[PictureInputs], str]
    make: Callable[[PictureInputs], Any]
    labels: str = "any"
    from_predictions: bool = False
    model_inputs: str = "any"

    def __post_init__(self):
        if not isinstance(self.file, str) or not self.file.endswith(".png") or "/" in self.file:
            raise ValueError(f"`file` must be a PNG file name (no folder). Received: file={self.file!r}")
        if not (callable(self.caption) or (isinstance(self.caption, str) and self.caption.strip())):
            raise ValueError(
                f"`caption` of {self.file} must be a non-empty text or a function that returns one. "
                f"Received: caption={self.caption!r}"
            )
        if not callable(self.make):
            raise ValueError(f"`make` of {self.file} must be a function. Received: make={self.make!r}")
        if self.model_inputs not in MODEL_INPUTS:
            raise ValueError(
                f"`model_inputs` of {self.file} must be one of {MODEL_INPUTS}. "
                f"Received: model_inputs={self.model_inputs!r}"
            )
        if self.labels not in LABEL_KINDS:
            raise ValueError(
                f"`labels` of {self.file} must be one of {LABEL_KINDS}. Received: labels={self.labels!r}"
            )

    def caption_for(self, inputs):
        """The caption text for `inputs`."""
        return self.caption(inputs) if callable(self.caption) else self.caption

    def fits(self, multi_label, columns=False):
        """Whether the picture is made for a model with (or without) multi-label metrics, and
        with one input (or a table's `columns`)."""
        labels = self.labels == "any" or self.labels == ("multi" if multi_label else "single")
        inputs = self.model_inputs == "any" or self.model_inputs == ("columns" if columns else "one")
        return labels and inputs


def _reliability(inputs):
    from mmcnn.explain import model_temperature

    return plot_reliability(
        inputs.probabilities,
        inputs.data.labels,
        temperature=model_temperature(inputs.model),
        split=inputs.split,
    )


def _column_ablation(inputs):
    from mmcnn.multimodal.attribution import column_ablation

    return column_ablation(inputs.classifier, inputs.data)


REPORT_PICTURES = (
    Picture(
        "learning_curves.png",
        lambda inputs: learning_curves_caption(inputs.history),
        lambda inputs: plot_learning_curves(inputs.history),
    ),
    Picture(
        "confusion_matrix.png",
        "Rows are the true classes, columns the predicted ones; each cell holds "
        "the number of examples, its colour the fraction of its true class.",
        lambda inputs: plot_confusion_matrix(inputs.metrics),
        labels="single",
    ),
    # With several labels per example, per-class bars in the confusion matrix's place.
    Picture(
        "per_class_scores.png",
        "Precision, recall and F1 of each class at its threshold (chosen on the validation split): "
        "with several labels per example there is no confusion matrix.",
        lambda inputs: plot_per_class_scores(inputs.metrics),
        labels="multi",
    ),
    Picture(
        "filters.png",
        "The weights of the first convolution, one panel per filter: the pattern each "
        "filter responds to most strongly (red positive, blue negative; "
        "filters over three colour channels are drawn in colour).",
        lambda inputs: plot_filters(inputs.model),
    ),
    Picture(
        "feature_maps.png",
        "What the first convolution blocks output for one example: one panel (or row) "
        "per filter, bright where the filter's pattern is found.",
        lambda inputs: plot_feature_maps(inputs.classifier, inputs.example),
        model_inputs="one",
    ),
    Picture(
        "receptive_field.png",
        "How much of the input one unit of each convolution sees: the receptive "
        "field grows with depth, faster after pooling or strides.",
        lambda inputs: plot_receptive_field(inputs.classifier, inputs.example),
        model_inputs="one",
    ),
    Picture(
        "reliability.png",
        "How sure the model is against how often it is right: bars at the diagonal "
        "are well calibrated, bars below it over-confident. Before and after the temperature fitted "
        "on the validation split; ECE is the examples-weighted mean gap.",
        _reliability,
        labels="single",
        from_predictions=True,
    ),
    Picture(
        "mistakes.png",
        "The most confidently wrong examples: true class, the class the model said "
        "and its probability; the colours (Grad-CAM) show where the evidence for what it said lies.",
        lambda inputs: plot_mistakes(
            inputs.classifier, inputs.data, inputs.probabilities, limit=inputs.gallery_size
        ),
        labels="single",
        from_predictions=True,
        model_inputs="one",
    ),
    Picture(
        "confused_pairs.png",
        "The class pairs the model mixes up most (true class taken for another), "
        "each with its most confident examples and their activation maps.",
        lambda inputs: plot_confused_pairs(inputs.classifier, inputs.data, inputs.probabilities),
        labels="single",
        from_predictions=True,
        model_inputs="one",
    ),
    Picture(
        "columns.png",
        "What each column brings: accuracy with the column alone (the others masked as missing) "
        "and with it left out, against every column (dashed).",
        lambda inputs: plot_column_ablation(_column_ablation(inputs), split=inputs.split),
        from_predictions=True,
        model_inputs="columns",
    ),
)

# The pictures of a single-label report, by file name (views of `REPORT_PICTURES`).
PICTURES = {p.file: p for p in REPORT_PICTURES if p.fits(multi_label=False) and not p.from_predictions}
PREDICTION_PICTURES = {p.file: p for p in REPORT_PICTURES if p.fits(multi_label=False) and p.from_predictions}
