"""The report's pictures are one ordered list of `Picture` records: the page walks it."""

import keras
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from mmcnn.report import (
    PICTURES,
    PREDICTION_PICTURES,
    REPORT_PICTURES,
    Picture,
    page,
    plot_receptive_field,
    write_report,
)


def draw_a_line(inputs):
    fig = Figure(figsize=(3, 2))
    fig.add_subplot().plot([0, 1], [0, 1])
    return fig


@pytest.mark.parametrize("caption", ["", "   ", None, 3])
def test_a_picture_without_a_caption_is_refused(caption):
    with pytest.raises(ValueError, match="`caption` of line.png must be a non-empty text"):
        Picture("line.png", caption, draw_a_line)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(file="line.jpg"), "`file` must be a PNG file name"),
        (dict(file="pictures/line.png"), "`file` must be a PNG file name"),
        (dict(make="draw"), "`make` of line.png must be a function"),
        (dict(labels="several"), "`labels` of line.png must be one of"),
    ],
)
def test_a_picture_record_is_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Picture(**{"file": "line.png", "caption": "A line.", "make": draw_a_line, **kwargs})


def test_the_list_names_each_file_once_and_its_views_follow_it():
    files = [p.file for p in REPORT_PICTURES]
    assert len(files) == len(set(files))
    assert list(PICTURES) == [
        "learning_curves.png",
        "confusion_matrix.png",
        "filters.png",
        "feature_maps.png",
        "receptive_field.png",
    ]
    assert list(PREDICTION_PICTURES) == ["reliability.png", "mistakes.png", "confused_pairs.png"]


def test_a_record_added_to_the_list_is_drawn_and_captioned_on_the_page(tmp_path, monkeypatch):
    extra = Picture("line.png", lambda inputs: f"A line for {inputs.split}.", draw_a_line)
    monkeypatch.setattr(page, "REPORT_PICTURES", (*REPORT_PICTURES[:1], extra, *REPORT_PICTURES[1:]))
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(inputs), name="dense_only")
    files = write_report(model, tmp_path, split="validation")
    assert [f.name for f in files] == ["line.png", "index.html"]
    with Image.open(tmp_path / "line.png") as image:
        assert image.text["Description"] == "A line for validation."
    html = (tmp_path / "index.html").read_text()
    assert "<b>line.png</b>: A line for validation.</figcaption>" in html
    # In the list's place: after the learning curves, before the confusion matrix.
    assert html.index("learning_curves.png") < html.index("line.png") < html.index("confusion_matrix.png")


def test_the_receptive_field_counts_in_the_units_of_the_classifiers_axes():
    # Four input axes, but a spectrogram's: the classifier's `input_axes` decides, not the rank.
    inputs = keras.Input((12, 10, 1))
    outputs = keras.layers.Conv2D(2, 3, name="conv")(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(outputs))
    example = np.zeros((12, 10, 1), "float32")

    class SpectrogramClassifier:
        input_axes = ("frames", "mel_bins", "channels")

    spectrogram = SpectrogramClassifier()
    spectrogram.model = model
    assert plot_receptive_field(spectrogram, example).axes[0].get_title().endswith("(positions)")
    assert plot_receptive_field(model, example).axes[0].get_title().endswith("(pixels)")
