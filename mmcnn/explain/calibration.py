"""How sure is it: expected calibration error, reliability bins, and one fitted temperature.

The statistics take class probabilities `(n, num_classes)` and integer labels
`(n,)` as NumPy arrays and compute in float64; at the end, the model's
`Temperature` layer, and `calibrate_classifier`, what `Classifier.calibrate` does.
"""

import logging

import numpy as np

logger = logging.getLogger("mmcnn")

ECE_BINS = 15
# The search interval of T. Trained networks are over-confident (T of 1 to 3 in Guo et al., 2017);
# a T far below 1 multiplies the logits many times over, which a small validation split can ask
# for by chance and which an int8 file cannot follow (0.083 gave 42% agreement).
TEMPERATURE_BOUNDS = (0.25, 5.0)
# Fewer validation examples than this give no temperature: the fitted T would describe the sample.
MIN_CALIBRATION_EXAMPLES = 50
_TINY = 1e-30


def _checked(probabilities, labels):
    probabilities = np.asarray(probabilities, dtype="float64")
    labels = np.asarray(labels).astype(int).reshape(-1)
    if probabilities.ndim != 2 or probabilities.shape[0] != labels.shape[0]:
        raise ValueError(
            "`probabilities` must be (n, num_classes) with one row per label. "
            f"Received: probabilities.shape={probabilities.shape}, labels.shape={labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= probabilities.shape[1]):
        raise ValueError(
            f"`labels` must be class ids in [0, {probabilities.shape[1]}). "
            f"Received: labels from {labels.min()} to {labels.max()}"
        )
    return probabilities, labels


def reliability_bins(probabilities, labels, bins=ECE_BINS):
    """Confidence against accuracy in `bins` equal-width bins of the top probability.

    Returns:
        dict with `edges` `(bins + 1,)`, and per bin `count`, `confidence`
        (mean top probability) and `accuracy` (share correct); empty bins have
        count 0 and NaN confidence and accuracy.

    Example:
    >>> out = reliability_bins([[0.9, 0.1], [0.6, 0.4]], [0, 1], bins=5)
    >>> out["count"].tolist(), out["accuracy"][[2, 4]].tolist()
    ([0, 0, 1, 0, 1], [0.0, 1.0])
    """
    probabilities, labels = _checked(probabilities, labels)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"`bins` must be a positive integer. Received: bins={bins!r}")
    confidence = probabilities.max(axis=1) if len(labels) else np.zeros(0)
    correct = (probabilities.argmax(axis=1) == labels) if len(labels) else np.zeros(0, bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bins are (low, high]; a confidence of exactly 0 joins the first.
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=correct.astype(float), minlength=bins) / count
    return {"edges": edges, "count": count, "confidence": mean_confidence, "accuracy": accuracy}


def expected_calibration_error(probabilities, labels, bins=ECE_BINS):
    """Expected calibration error: the count-weighted mean gap |accuracy - confidence| over bins.

    Equal-width bins of the top probability (Guo et al., 2017); 0 is perfect.

    Example:
    >>> round(expected_calibration_error([[0.9, 0.1], [0.8, 0.2]], [0, 1]), 3)
    0.45
    """
    out = reliability_bins(probabilities, labels, bins)
    total = out["count"].sum()
    if not total:
        return 0.0
    used = out["count"] > 0
    gaps = np.abs(out["accuracy"][used] - out["confidence"][used])
    return float(np.sum(out["count"][used] * gaps) / total)


def negative_log_likelihood(probabilities, labels):
    """Mean `-log p(true class)` (what the training loss measures)."""
    probabilities, labels = _checked(probabilities, labels)
    if not len(labels):
        return 0.0
    picked = probabilities[np.arange(len(labels)), labels]
    return float(-np.mean(np.log(np.maximum(picked, _TINY))))


def scale_probabilities(probabilities, temperature):
    """`softmax(log(p) / T)`: what the model's `Temperature` layer computes, in float64.

    Example:
    >>> scale_probabilities([[0.8, 0.2]], 2.0).round(3).tolist()
    [[0.667, 0.333]]
    """
    logits = np.log(np.maximum(np.asarray(probabilities, dtype="float64"), _TINY)) / float(temperature)
    logits -= logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


def temperature_fit_note(num_examples, temperature=None, bounds=TEMPERATURE_BOUNDS):
    """Why a temperature was not fitted (too few examples) or stopped at a bound; None when neither.

    Example:
    >>> temperature_fit_note(24)
    'not fitted: 24 validation examples, fewer than the 50 a temperature needs; T stays 1'
    """
    if num_examples < MIN_CALIBRATION_EXAMPLES:
        return (
            f"not fitted: {num_examples} validation examples, fewer than the {MIN_CALIBRATION_EXAMPLES} "
            "a temperature needs; T stays 1"
        )
    if temperature is not None and any(np.isclose(temperature, b, rtol=1e-3) for b in bounds):
        return f"stopped at the bound {temperature:.3g} of the interval {bounds} of T"
    return None


def fit_temperature(probabilities, labels, bounds=TEMPERATURE_BOUNDS):
    """The temperature `T` that minimises the negative log-likelihood of `labels`.

    A bounded one-dimensional search over `log T` (scipy's
    `minimize_scalar`, Brent's method in an interval); the NLL of temperature
    scaling is smooth in `log T`, so the search needs a few dozen evaluations.

    Args:
        probabilities: `(n, num_classes)` probabilities at `T = 1`.
        labels: `(n,)` class ids.
        bounds: `(low, high)` interval of `T`.

    Returns:
        `T` as a Python float; 1.0 when there are no examples, or when every
        example is classified correctly: the likelihood then only grows as
        `T` shrinks towards 0, and a split with no mistakes gives no evidence
        for sharpening the probabilities.
    """
    from scipy.optimize import minimize_scalar

    probabilities, labels = _checked(probabilities, labels)
    low, high = bounds
    if not 0 < low < high:
        raise ValueError(f"`bounds` must be (low, high) with 0 < low < high. Received: bounds={bounds!r}")
    if not len(labels) or np.all(probabilities.argmax(axis=1) == labels):
        return 1.0
    logp = np.log(np.maximum(probabilities, _TINY))
    rows = np.arange(len(labels))

    def nll(log_t):
        z = logp / np.exp(log_t)
        z -= z.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(z).sum(axis=1)) - z[rows, labels]))

    result = minimize_scalar(
        nll, bounds=(np.log(low), np.log(high)), method="bounded", options={"xatol": 1e-4}
    )
    return float(np.exp(result.x))


def calibration_summary(before, labels, temperature, bins=ECE_BINS, fitted_on=None, note=None):
    """ECE and NLL of `labels` before and after temperature scaling, for `metrics.json`.

    `fitted_on` is how many examples the temperature was fitted on (0: not
    fitted), `note` why it was not fitted or why it stopped at a bound."""
    after = scale_probabilities(before, temperature)
    extra = {} if fitted_on is None else {"fitted_on": int(fitted_on)}
    if note:
        extra["note"] = note
    return {
        **extra,
        "temperature": float(temperature),
        "bins": int(bins),
        "ece_before": expected_calibration_error(before, labels, bins),
        "ece_after": expected_calibration_error(after, labels, bins),
        "nll_before": negative_log_likelihood(before, labels),
        "nll_after": negative_log_likelihood(after, labels),
        "num_examples": int(len(np.asarray(labels).reshape(-1))),
    }


TEMPERATURE_LAYER = "temperature"


def temperature_layer(model):
    """The model's `Temperature` layer, or None (models saved before calibration existed)."""
    from mmcnn.layers import Temperature

    for layer in model.layers:
        if isinstance(layer, Temperature):
            return layer
    return None


def model_temperature(model):
    """The model's temperature `T` (1.0 when it has no `Temperature` layer)."""
    layer = temperature_layer(model)
    return 1.0 if layer is None else layer.get_temperature()


def set_model_temperature(model, value):
    """Sets the temperature `T` of the model's `Temperature` layer (a model without one is refused)."""
    layer = temperature_layer(model)
    if layer is None:
        raise ValueError(
            f"{model.name} has no Temperature layer (it was saved before calibration "
            "existed); build the classifier again to calibrate it"
        )
    layer.set_temperature(value)


def calibrate_classifier(clf, data, batch_size=None, probabilities=None):
    """`Classifier.calibrate` of `clf` (see there): fits its model's temperature on `data`.

    `probabilities`: the model's outputs on `data` at `T = 1` when already
    computed (`mmcnn.models.fitting.validation_pass`); None predicts them."""
    if clf.multi_label:
        raise ValueError(
            "a multi-label classifier is not temperature-calibrated (its scores are per-class "
            "sigmoids); its per-class thresholds are chosen with `choose_thresholds`"
        )
    clf._check_classes(data, "calibration data")
    clf._set_temperature(1.0)
    if probabilities is None:
        probabilities = clf.model.predict(clf.make_dataset(data, batch_size=batch_size), verbose=0)
    elif len(probabilities) != len(data):
        raise ValueError(
            f"`probabilities` must have one row per example of the calibration data ({len(data)}). "
            f"Received: {len(probabilities)} rows"
        )
    enough = len(data) >= MIN_CALIBRATION_EXAMPLES
    temperature = fit_temperature(probabilities, data.labels) if enough else 1.0
    clf._set_temperature(temperature)
    note = temperature_fit_note(len(data), temperature)
    clf.calibration = calibration_summary(
        probabilities, data.labels, temperature, fitted_on=len(data) if enough else 0, note=note
    )
    if note:
        logger.info("calibration: temperature %s", note)
    logger.info(
        "calibrated: temperature %.3f (fitted on %d examples), validation ECE %.4f -> %.4f",
        temperature,
        clf.calibration["fitted_on"],
        clf.calibration["ece_before"],
        clf.calibration["ece_after"],
    )
    return clf.calibration
