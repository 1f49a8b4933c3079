"""The run report: real models, real PNG files in tmp_path, opened with PIL."""

import html.parser
import logging
import re

import keras
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import mmcnn
from mmcnn.layers import ClassifierHead, ConvBlock
from mmcnn.models import Backbone, ClassifierModel
from mmcnn.models.metrics import classification_report
from mmcnn.report import (
    PICTURES,
    conv_fields,
    filter_panels,
    first_conv,
    plot_filters,
    plot_learning_curves,
    plot_receptive_field,
    write_report,
)

HISTORY = {
    "loss": [1.10, 0.82, 0.61, 0.52],
    "accuracy": [0.38, 0.61, 0.72, 0.80],
    "val_loss": [1.02, 0.86, 0.70, 0.74],
    "val_accuracy": [0.45, 0.55, 0.66, 0.61],
}


def disc_image(size=16):
    yy, xx = np.mgrid[:size, :size]
    return ((((yy - size / 2) ** 2 + (xx - size / 2) ** 2) < (size / 3) ** 2) * 255.0).astype("float32")[
        ..., None
    ]


def check_png(path, min_side=150):
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert min_side <= width <= 4000 and min_side <= height <= 4000, (path.name, image.size)
        pixels = np.asarray(image.convert("L"), dtype=float)
        text = dict(image.text)
    assert pixels.std() > 5, f"{path.name} looks blank"
    return text


@pytest.fixture(scope="module")
def image_classifier():
    return mmcnn.image.ImageClassifier(
        num_classes=3, image_size=(16, 16), channels=1, preset="tiny", class_names=["disc", "square", "bar"]
    )


def test_image_report_writes_every_picture(image_classifier, tmp_path):
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 3, 60)
    y_pred = np.where(rng.random(60) < 0.7, y_true, rng.integers(0, 3, 60))
    metrics = classification_report(y_true, y_pred, image_classifier.class_names)

    files = write_report(
        image_classifier, tmp_path / "report", history=HISTORY, metrics=metrics, example=disc_image()
    )

    assert [f.name for f in files] == [*PICTURES, "index.html"]
    texts = {f.name: check_png(f) for f in files if f.suffix == ".png"}
    page = (tmp_path / "report" / "index.html").read_text()
    for name in PICTURES:
        assert f'src="{name}"' in page
    assert "missing" not in page.split("</style>")[1]
    assert "http" not in page  # self-contained: no external CSS, JS or images
    # The metrics table: accuracy, macro-F1 and every class with its scores.
    assert f"{metrics['accuracy']:.4f}" in page and f"{metrics['macro_f1']:.4f}" in page
    for name, scores in metrics["per_class"].items():
        assert re.search(rf"<th>{name}</th><td>{scores['precision']:.4f}</td>", page)
    # One filter panel per filter of the first convolution (the 16-filter image stem).
    path, conv = first_conv(image_classifier.model)
    assert path == "adapter/stem/conv" and conv.filters == 16
    assert texts["filters.png"]["mmcnn:panels"] == "16"
    assert texts["feature_maps.png"]["mmcnn:panels"] == "[16, 16, 32]"


def test_filter_panels_count_and_drawn_axes(image_classifier):
    _, conv = first_conv(image_classifier.model)
    panels, rgb = filter_panels(conv)
    assert panels.shape == (16, 3, 3) and not rgb
    np.testing.assert_allclose(panels[5], keras.ops.convert_to_numpy(conv.kernel)[:, :, 0, 5])
    fig = plot_filters(image_classifier.model)
    drawn = [ax for ax in fig.axes if ax.images]
    assert len(drawn) == conv.filters == fig.mmcnn_panels


def test_rgb_filters_keep_colour():
    clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=3, preset="tiny")
    panels, rgb = filter_panels(first_conv(clf.model)[1])
    assert rgb and panels.shape == (16, 3, 3, 3)


def test_receptive_field_rectangles_match_inspect(image_classifier):
    # stem 3x3 -> 3; 3x3 -> 5; 2x2 pool -> 6 (jump 2); 3x3 -> 6 + 2 * 2 = 10.
    assert [size for _, size in conv_fields(image_classifier.model)] == [(3, 3), (5, 5), (10, 10)]
    fig = plot_receptive_field(image_classifier, disc_image())
    boxes = sorted((p.get_width(), p.get_height()) for p in fig.axes[0].patches)
    assert boxes == [(3, 3), (5, 5), (10, 10)]


def test_missing_pictures_are_named_and_logged(image_classifier, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="mmcnn"):
        files = write_report(image_classifier, tmp_path)
    assert [f.name for f in files] == ["filters.png", "index.html"]
    page = (tmp_path / "index.html").read_text()
    for name in ("learning_curves.png", "confusion_matrix.png", "feature_maps.png", "receptive_field.png"):
        assert f"<b>{name}</b> is missing" in page
        assert any(name in record.getMessage() for record in caplog.records)
    assert "no example input was given" in page
    assert "No metrics were given" in page


def test_model_without_convolution_still_gets_a_page(tmp_path):
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs, name="dense_only")
    files = write_report(model, tmp_path, history=HISTORY, example=np.zeros((8, 8, 1), "float32"))
    assert [f.name for f in files] == ["learning_curves.png", "index.html"]
    page = (tmp_path / "index.html").read_text()
    assert page.count("the model has no convolution layer") == 3


def test_learning_curves_from_history_csv(tmp_path):
    # The CSVLogger layout: an `epoch` column counted from 0, then the metrics.
    pd.DataFrame({"epoch": range(4), **HISTORY}).to_csv(tmp_path / "history.csv", index=False)
    fig = plot_learning_curves(pd.read_csv(tmp_path / "history.csv"))
    loss_axes, accuracy_axes = fig.axes
    assert [line.get_label() for line in loss_axes.get_lines()[:2]] == ["training", "validation"]
    np.testing.assert_array_equal(loss_axes.get_lines()[0].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(accuracy_axes.get_lines()[1].get_ydata(), HISTORY["val_accuracy"])
    fig.savefig(tmp_path / "curves.png")
    check_png(tmp_path / "curves.png")


def test_audio_report_draws_time_windows(tmp_path):
    clf = mmcnn.audio.AudioClassifier(num_classes=2, clip_seconds=0.25, n_mels=32, preset="tiny")
    t = np.arange(clf.num_samples) / clf.sample_rate
    wave = (np.sin(2 * np.pi * 440 * t) * (t > 0.05) * (t < 0.15)).astype("float32")
    files = write_report(clf, tmp_path, example=wave)
    assert [f.name for f in files] == ["filters.png", "feature_maps.png", "receptive_field.png", "index.html"]
    texts = {f.name: check_png(f, min_side=100) for f in files if f.suffix == ".png"}
    # 1-D filters: (k, mel bins, filters) drawn as 16 heat maps of (32 mel bins x 5 frames).
    panels, _ = filter_panels(first_conv(clf.model)[1])
    assert panels.shape == (16, 32, 5)
    assert texts["filters.png"]["mmcnn:panels"] == "16"
    assert [size for _, size in conv_fields(clf.model)] == [(5,), (7,), (12,)]


def test_text_report_draws_token_windows(tmp_path):
    from mmcnn.text.text_converter import TextTokenizer

    tokenizer = TextTokenizer(mode="word", max_tokens=16, min_frequency=1, name="tokenizer")
    tokenizer.adapt(["the cat sat on the mat", "a dog ran in the park"])
    inputs = keras.Input((), dtype="string", name="text")
    x = keras.layers.Embedding(tokenizer.vocabulary_size, 8, name="embedding")(tokenizer(inputs))
    x = ConvBlock(6, 3, rank=1, name="stem")(x)
    x = Backbone([{"filters": 6, "pooling": "max"}, {"filters": 8}], rank=1, name="backbone")(x)
    model = ClassifierModel(inputs, ClassifierHead(2, rank=1, name="head")(x), name="text_model")
    example = "the dog sat on the mat in the park"

    files = write_report(model, tmp_path, example=example)
    assert [f.name for f in files] == ["filters.png", "feature_maps.png", "receptive_field.png", "index.html"]
    for f in files[:-1]:
        check_png(f, min_side=100)
    assert filter_panels(first_conv(model)[1])[0].shape == (6, 8, 3)  # (filters, dims, window)
    fig = plot_receptive_field(model, example)
    drawn = [t.get_text() for t in fig.axes[0].texts]
    assert drawn[:9] == example.split()
    bars = sorted(p.get_width() for p in fig.axes[1].patches)
    assert bars == [3, 5, 10]  # 3; 3 + 2; pool: 6 (jump 2); 6 + 2 * 2 = 10


def test_text_classifier_report_finds_the_hidden_windows(tmp_path):
    # Kim's adapter runs its parallel windows inside one layer, out of mmcnn.inspect's walk:
    # the report finds its Conv1D layers and takes the window widths from `token_windows()`.
    # The default's character bag (64 values, the same at every token) is not drawn.
    clf = mmcnn.text.TextClassifier(
        class_names=["bad", "good"], max_tokens=16, min_frequency=1, embedding_dim=8, filters=4, widths=[2, 3]
    )
    clf.adapt(["a good film", "a bad film", "the dog sat on the mat"])
    files = write_report(clf, tmp_path, example="a good dog on the mat")
    assert [f.name for f in files] == ["filters.png", "feature_maps.png", "receptive_field.png", "index.html"]
    texts = {f.name: check_png(f, min_side=100) for f in files if f.suffix == ".png"}
    assert texts["filters.png"]["mmcnn:panels"] == "4"  # window_2: 4 filters of (8 dims x 2)
    assert texts["feature_maps.png"]["mmcnn:panels"] == "[8]"  # 2 widths x 4 filters
    assert [size for _, size in conv_fields(clf.model)] == [(2,), (3,)]


# ------------------------------------------------- calibration and mistakes


class _Page(html.parser.HTMLParser):
    """The `src` of every <img>, the text of every heading, and the class="missing" paragraphs."""

    def __init__(self):
        super().__init__()
        self.images, self.headings, self.missing = [], [], 0
        self._in_heading = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs["src"])
        self._in_heading = tag in ("h1", "h2", "h3")
        if attrs.get("class") == "missing":
            self.missing += 1

    def handle_data(self, data):
        if self._in_heading:
            self.headings.append(data.strip())
            self._in_heading = False


def _split_with_mistakes(clf, data):
    """The classifier's probabilities on `data`, with the labels of some examples swapped so that
    the galleries have confident mistakes to show."""
    probabilities = clf.model.predict(clf.make_dataset(data), verbose=0)
    predicted = probabilities.argmax(axis=1)
    data.labels = np.where(np.arange(len(data)) % 3 == 0, 1 - predicted, predicted).astype("int32")
    return probabilities


def _prediction_report(clf, data, tmp_path, **kwargs):
    probabilities = _split_with_mistakes(clf, data)
    calibration = {"temperature": 1.7, "ece_before": 0.2, "ece_after": 0.05, "nll_before": 0.9}
    calibration.update(nll_after=0.5, test_ece_before=0.21, test_ece_after=0.07)
    files = write_report(
        clf, tmp_path, data=data, probabilities=probabilities, calibration=calibration, **kwargs
    )
    page_text = (tmp_path / "index.html").read_text(encoding="utf-8")
    page = _Page()
    page.feed(page_text)
    # Every picture the page shows lies beside it, and every one opens as a PNG.
    for src in page.images:
        assert (tmp_path / src).is_file(), src
        check_png(tmp_path / src, min_side=100)
    assert {"reliability.png", "mistakes.png", "confused_pairs.png"} <= set(page.images)
    assert "Calibration" in page.headings and "How sure it is, and its worst mistakes" in page.headings
    assert "1.7000" in page_text and "0.0500" in page_text  # T and the validation ECE after
    assert "http" not in page_text
    return files, page


def test_report_with_predictions_image(image_classifier, tmp_path):
    rng = np.random.default_rng(0)
    data = mmcnn.image.from_arrays(
        rng.uniform(0, 255, (30, 16, 16)), rng.integers(0, 3, 30), ["disc", "square", "bar"]
    )
    files, page = _prediction_report(image_classifier, data, tmp_path, gallery_size=5)
    assert [f.name for f in files][-4:] == [
        "reliability.png",
        "mistakes.png",
        "confused_pairs.png",
        "index.html",
    ]
    # The gallery is capped: 5 examples (4 columns -> 2 rows), each with its own panel.
    with Image.open(tmp_path / "mistakes.png") as image:
        assert image.size[1] < image.size[0]


def test_report_with_predictions_audio_and_text(tmp_path):
    rng = np.random.default_rng(0)
    audio = mmcnn.audio.AudioClassifier(class_names=["a", "b"], clip_seconds=0.25, n_mels=32, preset="tiny")
    clips = mmcnn.audio.from_arrays(rng.normal(0, 0.1, (12, 4000)).astype("float32"), ["a", "b"] * 6)
    _prediction_report(audio, clips, tmp_path / "audio")
    text = mmcnn.text.TextClassifier(
        class_names=["bad", "good"], max_tokens=16, min_frequency=1, embedding_dim=8, filters=4
    )
    words = ["a good film", "a bad film", "the dog sat on the mat", "good dog", "bad mat", ""]
    text.adapt(words)
    _prediction_report(text, mmcnn.text.from_arrays(words * 2, ["good", "bad"] * 6), tmp_path / "text")


def test_report_names_the_missing_mistake_pictures(image_classifier, tmp_path):
    data = mmcnn.image.from_arrays(np.zeros((4, 16, 16)), [0, 1, 2, 0], ["disc", "square", "bar"])
    probabilities = np.eye(3)[data.labels]  # no mistake at all
    write_report(image_classifier, tmp_path, data=data, probabilities=probabilities)
    page = _Page()
    page_text = (tmp_path / "index.html").read_text(encoding="utf-8")
    page.feed(page_text)
    assert "reliability.png" in page.images and "mistakes.png" not in page.images
    assert "the model made no mistake on this split" in page_text
    for src in page.images:
        assert (tmp_path / src).is_file()


MULTILABEL_HISTORY = {
    "loss": [0.52, 0.31, 0.24],
    "micro_f1": [0.31, 0.58, 0.66],
    "pr_auc": [0.40, 0.62, 0.71],
    "val_loss": [0.41, 0.29, 0.27],
    "val_micro_f1": [0.44, 0.60, 0.63],
    "val_pr_auc": [0.51, 0.66, 0.69],
}


def test_metrics_table_names_its_split(image_classifier, tmp_path):
    metrics = classification_report([0, 1, 2, 0], [0, 1, 1, 0], image_classifier.class_names)
    write_report(image_classifier, tmp_path / "a", metrics=metrics, split="validation")
    assert "Scores on the validation split." in (tmp_path / "a" / "index.html").read_text()
    write_report(image_classifier, tmp_path / "b", metrics=metrics, metrics_split="test")
    assert "Scores on the test split." in (tmp_path / "b" / "index.html").read_text()


def test_multilabel_learning_curves_caption_names_the_panels_drawn(image_classifier, tmp_path):
    write_report(image_classifier, tmp_path, history=MULTILABEL_HISTORY)
    fig = plot_learning_curves(MULTILABEL_HISTORY)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["loss", "micro-F1 (at 0.5)", "PR-AUC (mean over classes)"]
    page = html.unescape((tmp_path / "index.html").read_text())
    caption = re.search(r"<b>learning_curves.png</b>: ([^<]*)</figcaption>", page).group(1)
    assert "accuracy" not in caption
    for title in titles:
        assert title in caption or title.capitalize() in caption


def test_per_class_legend_covers_no_bar():
    from mmcnn.report.per_class_scores import plot_per_class_scores

    # High bars everywhere: inside the axes the legend has no free corner.
    per_class = {name: {"precision": 0.95, "recall": 0.9, "f1": 0.92} for name in ("a", "b", "c", "d")}
    fig = plot_per_class_scores({"per_class": per_class})
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    legends = [*fig.legends, *[ax.get_legend() for ax in fig.axes if ax.get_legend()]]
    assert len(legends) == 1
    box = legends[0].get_window_extent(renderer)
    bars = [patch.get_window_extent(renderer) for patch in fig.axes[0].patches]
    assert len(bars) == 12
    assert not any(box.overlaps(bar) for bar in bars)
