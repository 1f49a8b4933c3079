"""`index.html`: the metrics table and the pictures with one-line captions, on one page."""

import html
import logging
import pathlib

from mmcnn.inspect import total_macs
from mmcnn.report.errors import ReportError
from mmcnn.report.mistakes import GALLERY_SIZE
from mmcnn.report.pictures import PICTURES, PREDICTION_PICTURES, REPORT_PICTURES, PictureInputs

logger = logging.getLogger("mmcnn")

__all__ = ["PICTURES", "PREDICTION_PICTURES", "REPORT_PICTURES", "write_report"]


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.4f}"
    return html.escape(str(value))


def _metrics_html(metrics, split=None):
    if not metrics:
        return "<p class='missing'>No metrics were given.</p>"
    where = f"the {html.escape(str(split))} split" if split else "a split the caller did not name"
    rows = [
        ("exact-match accuracy" if metrics.get("multi_label") else "accuracy", metrics.get("accuracy")),
        ("micro-F1", metrics.get("micro_f1")),
        ("macro-F1", metrics.get("macro_f1")),
        ("mean average precision", metrics.get("mean_average_precision")),
        ("expected calibration error", metrics.get("ece")),
        ("examples", metrics.get("num_examples")),
        ("skipped inputs", metrics.get("skipped")),
    ]
    parts = [f"<p>Scores on {where}.</p>", "<table><tbody>"]
    parts += [f"<tr><th>{name}</th><td>{_fmt(value)}</td></tr>" for name, value in rows if value is not None]
    parts.append("</tbody></table>")
    per_class = metrics.get("per_class") or {}
    if per_class:
        keys = ("precision", "recall", "f1", "support")
        extra = ""
        if metrics.get("multi_label"):
            keys += ("average_precision", "threshold")
            extra = "<th>AP</th><th>threshold</th>"
        parts.append(
            "<h3>Per class</h3><table><thead><tr><th>class</th><th>precision</th>"
            f"<th>recall</th><th>F1</th><th>support</th>{extra}</tr></thead><tbody>"
        )
        for name, scores in per_class.items():
            cells = "".join(f"<td>{_fmt(scores.get(k, ''))}</td>" for k in keys)
            parts.append(f"<tr><th>{html.escape(str(name))}</th>{cells}</tr>")
        parts.append("</tbody></table>")
    return "\n".join(parts)


def _model_html(classifier, model):
    items = [("model", model.name), ("parameters", f"{model.count_params():,}")]
    for name in ("modality", "preset"):
        if hasattr(classifier, name):
            items.append((name, getattr(classifier, name)))
    class_names = getattr(classifier, "class_names", None)
    if class_names:
        items.append(("classes", ", ".join(map(str, class_names))))
    try:
        items.append(("multiply-adds per example", f"{total_macs(model):,}"))
    except Exception as error:  # the page must not fail on a count
        logger.debug("report: no multiply-add count: %s", error)
    return "<p>" + "<br>\n".join(f"<b>{html.escape(k)}</b>: {html.escape(str(v))}" for k, v in items) + "</p>"


_STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f4f4f4;text-align:left}figure{margin:1.5em 0}img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.95em}.missing{color:#a33}"""


def _calibration_html(calibration):
    if not calibration:
        return ""
    fitted_on = calibration.get("fitted_on")
    where = "the validation split" if fitted_on is None else f"{fitted_on} validation examples"
    rows = [
        (f"temperature T (fitted on {where})", calibration.get("temperature")),
        ("validation ECE before / after", (calibration.get("ece_before"), calibration.get("ece_after"))),
        ("validation NLL before / after", (calibration.get("nll_before"), calibration.get("nll_after"))),
        ("test ECE before / after", (calibration.get("test_ece_before"), calibration.get("test_ece_after"))),
    ]
    parts = ["<h3>Calibration</h3><table><tbody>"]
    for name, value in rows:
        if isinstance(value, tuple):
            if value[0] is None:
                continue
            value = f"{_fmt(value[0])} / {_fmt(value[1])}"
        elif value is None:
            continue
        else:
            value = _fmt(value)
        parts.append(f"<tr><th>{html.escape(name)}</th><td>{value}</td></tr>")
    parts.append("</tbody></table>")
    if calibration.get("note"):
        parts.append(f"<p>Temperature {html.escape(calibration['note'])}.</p>")
    return "\n".join(parts)


def _save_pictures(pictures, inputs, report_dir, written, missing):
    """Makes and writes each picture; returns the HTML sections that show them (or say why not)."""
    sections = []
    for picture in pictures:
        name, caption = picture.file, picture.caption_for(inputs)
        try:
            fig = picture.make(inputs)
            info = {"Title": name, "Description": caption, "Software": "mmcnn"}
            if hasattr(fig, "mmcnn_panels"):
                info["mmcnn:panels"] = str(fig.mmcnn_panels)
            fig.savefig(report_dir / name, metadata=info)
            written.append(report_dir / name)
        except Exception as error:  # one picture must never sink the report
            reason = str(error) or type(error).__name__
            if not isinstance(error, ReportError):
                reason = f"{type(error).__name__}: {reason}"
                logger.debug("report: %s failed", name, exc_info=True)
            logger.warning("report: %s was not made: %s", name, reason)
            missing[name] = reason
    for picture in pictures:
        name = picture.file
        if name in missing:
            sections.append(f"<p class='missing'><b>{name}</b> is missing: {html.escape(missing[name])}</p>")
        else:
            sections.append(
                f'<figure><img src="{name}" alt="{name}">'
                f"<figcaption><b>{name}</b>: {html.escape(picture.caption_for(inputs))}</figcaption></figure>"
            )
    return sections


def write_report(
    classifier,
    report_dir,
    history=None,
    metrics=None,
    example=None,
    data=None,
    probabilities=None,
    calibration=None,
    split="test",
    gallery_size=GALLERY_SIZE,
    metrics_split=None,
):
    """Writes the run report: PNG pictures and an `index.html` that shows them.

    Args:
        classifier: an mmcnn classifier (or a built Keras model).
        report_dir: folder to write into (created if needed; files of the
            same names are replaced).
        history: training history: a `History`, its `.history` dict, or a
            DataFrame read from `history.csv`.
        metrics: the dict of `Classifier.evaluate` /
            `mmcnn.models.metrics.classification_report`.
        example: one model input for the feature-map and receptive-field
            pictures: image pixels `(h, w, c)`, an audio waveform `(samples,)`,
            a text string (or a file path the classifier can read).
        data: a labelled split (`LabeledData`, the test split or else the
            validation split) for the calibration and mistakes pictures.
        probabilities: the classifier's probabilities on `data`,
            `(len(data), num_classes)`; with `data`, the page gets
            `reliability.png`, `mistakes.png` and `confused_pairs.png`.
        calibration: `metrics.json`'s `calibration` entry (temperature, ECE
            and NLL before and after), shown as a table.
        split: the name of `data`'s split, for the titles.
        gallery_size: most examples in `mistakes.png` (only those are explained).
        metrics_split: the name of the split `metrics` were computed on, said above
            the metrics table (default: `split`).

    Returns:
        List of `pathlib.Path` of the files written, `index.html` last.
        Pictures that could not be made are left out, logged as warnings
        and named as missing in the page.

    Example:
    >>> import tempfile, mmcnn
    >>> clf = mmcnn.image.ImageClassifier(num_classes=2, image_size=(16, 16), channels=1, preset="tiny")
    >>> files = write_report(clf, tempfile.mkdtemp())
    >>> [f.name for f in files]
    ['filters.png', 'index.html']
    """
    report_dir = pathlib.Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    model = getattr(classifier, "model", classifier)
    inputs = PictureInputs(
        classifier,
        model,
        history=history,
        metrics=metrics,
        example=example,
        data=data,
        probabilities=probabilities,
        split=split,
        gallery_size=gallery_size,
    )
    multi_label = inputs.multi_label
    columns = getattr(classifier, "input_axes", None) == ("columns",)
    pictures = [p for p in REPORT_PICTURES if p.fits(multi_label, columns=columns)]
    written, missing = [], {}
    first = [p for p in pictures if not p.from_predictions]
    sections = _save_pictures(first, inputs, report_dir, written, missing)
    sections.append("<h2>How sure it is, and its worst mistakes</h2>")
    sections.append(_calibration_html(calibration))
    if multi_label:
        sections.append(
            "<p>No calibration or mistakes pictures: a multi-label model's scores are per-class "
            "sigmoids, decided by per-class thresholds (in the per-class table).</p>"
        )
    elif data is None or probabilities is None:
        sections.append("<p>No pictures of calibration and mistakes: no predictions on a labelled split.</p>")
    if data is not None and probabilities is not None:
        later = [p for p in pictures if p.from_predictions]
        sections += _save_pictures(later, inputs, report_dir, written, missing)

    title = f"mmcnn report: {model.name}"
    page = (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n{_model_html(classifier, model)}\n"
        f"<h2>Metrics</h2>\n{_metrics_html(metrics, metrics_split or split)}\n<h2>Pictures</h2>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
    index = report_dir / "index.html"
    index.write_text(page, encoding="utf-8")
    written.append(index)
    return written
