"""The search space of `mmcnn tune`: knobs (classifier constructor arguments) and their ranges.

A space is a dict `knob -> spec`, the same in Python and in a `--space` TOML file
(one table per knob):

- `{"values": [a, b, ...]}`: one of these values (all numbers, all strings or all booleans);
- `{"min": lo, "max": hi}`, optionally `"step"` and `"log": True`: a range, of integers when
  `min`, `max` (and `step`) are integers, else of floats; `log` samples on a log scale;
- `{"value": v}`: held at `v` in every trial, not searched (any TOML value, e.g. `[12, 12]`).

A modality declares its default space with a `tune_space(settings)` classmethod on its
classifier (`settings`: the arguments held fixed, e.g. the sample rate the hop lengths
depend on). A file's knobs replace those knobs of the default space; with
`default_space = false` at its top the file is the whole space.
"""

import inspect
import logging
import math
import os

from mmcnn._config import ConfigError, read_toml

logger = logging.getLogger("mmcnn.tune")

# Constructor arguments that are not knobs: the data decides the classes, `tune(seed=...)` the seed.
NOT_KNOBS = ("num_classes", "class_names", "seed")
SPEC_KEYS = ("values", "min", "max", "step", "log", "value")


class SpaceError(ConfigError):
    """A search space that cannot be searched: names the knob and the value."""


def knob_names(classifier_cls):
    """The constructor arguments of `classifier_cls` that a space may name (its `get_config` keys)."""
    names = []
    for cls in classifier_cls.__mro__:
        if "__init__" in cls.__dict__ and cls is not object:
            names += [
                n
                for n in inspect.signature(cls.__dict__["__init__"]).parameters
                if n not in ("self", "args", "kwargs", *NOT_KNOBS) and n not in names
            ]
        if cls.__name__ == "Classifier" and cls.__module__ == "mmcnn.models.classifier":
            break
    return names


def fallback_space(classifier_cls):
    """The space of a classifier without a `tune_space` hook: its presets and the learning rate."""
    preset = classifier_cls.presets.get(classifier_cls.default_preset, {})
    space = {"preset": {"values": sorted(classifier_cls.presets)}}
    learning_rate = preset.get("learning_rate")
    if learning_rate:
        space["learning_rate"] = {"min": learning_rate / 3, "max": learning_rate * 3, "log": True}
    return space


def default_space(classifier_cls, settings=None):
    """The classifier's default space (its `tune_space` hook), without the knobs `settings` fixes."""
    settings = dict(settings or {})
    hook = getattr(classifier_cls, "tune_space", None)
    if hook is None:
        logger.warning(
            "%s declares no tune_space; searching its presets and the learning rate",
            classifier_cls.__name__,
        )
        space = fallback_space(classifier_cls)
    else:
        space = hook(settings)
    return {knob: dict(spec) for knob, spec in space.items() if knob not in settings}


def read_space(path):
    """A `--space` TOML file as `(space, use_default)`; `SpaceError` naming the file or the knob."""
    path = os.fspath(path)
    try:
        table = read_toml(path)
    except ConfigError as error:
        raise SpaceError(str(error).replace("--config", "--space", 1)) from None
    use_default = table.pop("default_space", True)
    if not isinstance(use_default, bool):
        raise SpaceError(f"--space {path}: `default_space` must be true or false; received {use_default!r}")
    for knob, spec in table.items():
        if not isinstance(spec, dict):
            raise SpaceError(
                f"--space {path}: `{knob}` must be a table ([{knob}] with values, min/max or value); "
                f"received {spec!r}"
            )
    return table, use_default


def resolve_space(classifier_cls, space=None, settings=None):
    """The checked space of a search: `(searched, fixed)`.

    Args:
        classifier_cls: the `Classifier` subclass searched.
        space: `None` (the default space), a dict `knob -> spec`, or the path
            of a TOML file (see the module docstring). A dict may hold
            `"default_space": False` as a file may.
        settings: constructor arguments held fixed in every trial (they leave
            the default space).

    Returns:
        `(searched, fixed)`: `searched` maps each searched knob to its spec
        (`values`, or `min`/`max`/`step`/`log`), in a stable order; `fixed`
        maps knobs to the value every trial uses (`settings` and the space's
        `value` entries).

    Raises:
        SpaceError: an unknown knob, an unknown spec key, an empty or mixed
            list, an impossible range, or a value the classifier refuses.
    """
    settings = dict(settings or {})
    knobs = knob_names(classifier_cls)
    for knob in settings:
        if knob not in knobs:
            raise SpaceError(f"--set {knob}: not an argument of {classifier_cls.__name__}; knobs: {knobs}")
    if space is None:
        given, use_default = {}, True
    elif isinstance(space, (str, os.PathLike)):
        given, use_default = read_space(space)
    elif isinstance(space, dict):
        given = dict(space)
        use_default = given.pop("default_space", True)
    else:
        raise SpaceError(f"`space` must be None, a dict or a TOML file path; received {type(space).__name__}")
    for knob in given:
        if knob not in knobs:
            raise SpaceError(f"space: unknown knob `{knob}` for {classifier_cls.__name__}; knobs are {knobs}")
    merged = default_space(classifier_cls, settings) if use_default else {}
    merged.update(given)
    searched, fixed = {}, dict(settings)
    for knob, spec in merged.items():
        spec = _check_spec(knob, spec)
        if "value" in spec:
            fixed[knob] = spec["value"]
        else:
            searched[knob] = spec
    _check_with_classifier(classifier_cls, searched, fixed)
    return searched, fixed


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_spec(knob, spec):
    if not isinstance(spec, dict):
        raise SpaceError(f"space: `{knob}` must be a table with values, min/max or value; received {spec!r}")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise SpaceError(f"space: `{knob}` has unknown key(s) {unknown}; use {list(SPEC_KEYS)}")
    kinds = [k for k in ("values", "value") if k in spec] + (
        ["min/max"] if {"min", "max"} & set(spec) else []
    )
    if len(kinds) != 1:
        raise SpaceError(f"space: `{knob}` needs exactly one of values, min/max or value; received {spec!r}")
    if "value" in spec:
        return {"value": spec["value"]}
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, list) or not values:
            raise SpaceError(f"space: `{knob}` values must be a non-empty list; received {values!r}")
        kind = {bool: "bool", int: "number", float: "number", str: "str"}
        kinds = {kind.get(type(v)) for v in values}
        if None in kinds or len(kinds) > 1:
            raise SpaceError(
                f"space: `{knob}` values must be all numbers, all strings or all booleans; got {values!r}"
            )
        if len(set(map(repr, values))) != len(values):
            raise SpaceError(f"space: `{knob}` values repeat a value; received {values!r}")
        if kinds == {"number"} and any(isinstance(v, float) for v in values):
            values = [float(v) for v in values]  # one type for KerasTuner's Choice
        return {"values": values}
    low, high, step, log = spec.get("min"), spec.get("max"), spec.get("step"), spec.get("log", False)
    if not (_number(low) and _number(high)):
        raise SpaceError(f"space: `{knob}` needs numbers min and max; received min={low!r}, max={high!r}")
    if not all(map(math.isfinite, (low, high))):
        raise SpaceError(f"space: `{knob}` min and max must be finite; received min={low!r}, max={high!r}")
    if low > high:
        raise SpaceError(f"space: `{knob}` is an impossible range: min ({low}) > max ({high})")
    if not isinstance(log, bool):
        raise SpaceError(f"space: `{knob}` log must be true or false; received {log!r}")
    if log and low <= 0:
        raise SpaceError(f"space: `{knob}` is an impossible log range: min must be > 0; received min={low}")
    if step is not None:
        if log:
            raise SpaceError(f"space: `{knob}` step is for linear ranges; drop it or log = true")
        if not _number(step) or step <= 0 or step > high - low:
            raise SpaceError(
                f"space: `{knob}` step must be a number in (0, max - min = {high - low}]; received {step!r}"
            )
    integer = all(isinstance(x, int) for x in (low, high) + (() if step is None else (step,)))
    out = (
        {"min": low, "max": high, "log": log}
        if integer
        else {"min": float(low), "max": float(high), "log": log}
    )
    if step is not None:
        out["step"] = step if integer else float(step)
    return out


# The base knobs that no constructor validates: checked here, as `mmcnn train` checks its options.
_POSITIVE = {
    "learning_rate": "a positive number",
    "epochs": "a positive integer",
    "batch_size": "a positive integer",
}


def _check_value(classifier_cls, knob, value, fixed, where):
    rule = _POSITIVE.get(knob)
    if rule and value is not None:
        integer = rule.endswith("integer")
        bad = not _number(value) or value <= 0 or (integer and not isinstance(value, int))
        if bad:
            raise SpaceError(f"space: `{knob}` must be {rule}; {where} {value!r}")
    try:
        classifier_cls(num_classes=2, **{**fixed, knob: value})
    except (ValueError, TypeError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SpaceError(
            f"space: `{knob}` {where} {value!r} is not valid for {classifier_cls.__name__}: {message}"
        ) from None


def _check_with_classifier(classifier_cls, searched, fixed):
    """Every value (every end of every range) once through the classifier's own checks."""
    try:
        classifier_cls(num_classes=2, **fixed)
    except (ValueError, TypeError) as error:
        raise SpaceError(
            f"the fixed settings {fixed} are not valid for {classifier_cls.__name__}: {error}"
        ) from None
    for knob, value in fixed.items():
        if knob in _POSITIVE:
            _check_value(classifier_cls, knob, value, fixed, "value")
    for knob, spec in searched.items():
        if "values" in spec:
            for value in spec["values"]:
                _check_value(classifier_cls, knob, value, fixed, "value")
        else:
            _check_value(classifier_cls, knob, spec["min"], fixed, "min")
            _check_value(classifier_cls, knob, spec["max"], fixed, "max")


def hyperparameters(searched):
    """KerasTuner `HyperParameters` for a checked space (`resolve_space`'s `searched`)."""
    import keras_tuner

    hp = keras_tuner.HyperParameters()
    for knob, spec in searched.items():
        if "values" in spec:
            values = spec["values"]
            # Numbers are ordered (Bayesian optimisation may use it); strings and booleans are not.
            hp.Choice(
                knob, values, ordered=isinstance(values[0], (int, float)) and not isinstance(values[0], bool)
            )
        else:
            kind = hp.Int if isinstance(spec["min"], int) else hp.Float
            kind(
                knob,
                spec["min"],
                spec["max"],
                step=spec.get("step"),
                sampling="log" if spec["log"] else "linear",
            )
    return hp


def describe(searched):
    """One line per knob, for logs and docs: `learning_rate: 0.0005 .. 0.005 (log)`."""
    lines = []
    for knob, spec in searched.items():
        if "values" in spec:
            lines.append(f"{knob}: {' | '.join(map(str, spec['values']))}")
        else:
            step = f" step {spec['step']}" if "step" in spec else ""
            lines.append(f"{knob}: {spec['min']} .. {spec['max']}{step}{' (log)' if spec['log'] else ''}")
    return lines
