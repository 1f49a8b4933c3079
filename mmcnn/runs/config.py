"""The configuration of a training run: defaults < TOML file < explicit options."""

import logging
import os

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

# Defined below the runs, so that the search (`mmcnn.tune`) shares them without importing the runs.
from mmcnn._config import ConfigError, read_toml

TRAIN_KEYS = (
    "train",
    "val",
    "test",
    "out",
    "preset",
    "epochs",
    "batch_size",
    "seed",
    "on_error",
    "val_fraction",
    "encoding",
    "empty_classes",
    "classifier",
    "init_from",
    "freeze_epochs",
    "fine_tune_learning_rate",
    "class_weight",
)
DEFAULTS = {
    "val": None,
    "test": None,
    "preset": None,
    "epochs": None,
    "batch_size": None,
    "seed": 0,
    "on_error": "skip",
    "val_fraction": 0.1,
    "encoding": None,
    "empty_classes": "error",
    "classifier": {},
    "init_from": None,
    "freeze_epochs": None,
    "fine_tune_learning_rate": None,
    "class_weight": None,
}


def parse_value(text):
    """A `--set` value: a TOML value (`[28, 28]`, `0.5`, `true`), else the bare word as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word such as a policy name


def resolve_train_config(modality, options=None, config_file=None, settings=()):
    """The resolved configuration of `mmcnn train`.

    Args:
        modality: the modality name (`"image"`, `"audio"`, `"text"`, ...).
        options: explicit options (`train`, `out`, `epochs`, ...); `None`
            values are left to the file and the defaults.
        config_file: optional TOML file with any of the options, and a
            `[classifier]` table of constructor arguments.
        settings: `"key=value"` strings, each one classifier argument.

    Returns:
        A dict with every key of `TRAIN_KEYS` and `modality`.

    Raises:
        ConfigError: a required option is missing, an option is unknown, a
            data path does not exist, or a setting is malformed.

    Example:
    >>> options = {"train": ".", "out": "my-run"}
    >>> config = resolve_train_config("image", options, settings=["image_size=[28, 28]"])
    >>> config["classifier"], config["seed"]
    ({'image_size': [28, 28]}, 0)
    """
    config = dict(DEFAULTS, classifier={})
    if config_file:
        config.update(read_toml(config_file))
    for key, value in (options or {}).items():
        if value is not None:
            config[key] = value
    classifier = dict(config.get("classifier") or {})
    for item in settings:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise ConfigError(f"--set expects KEY=VALUE; received {item!r}")
        classifier[key.strip()] = parse_value(value)
    config["classifier"] = classifier
    config["modality"] = modality
    for key in ("train", "out"):
        if not config.get(key):
            raise ConfigError(f"--{key} is required (or `{key}` in --config)")
    unknown = set(config) - set(TRAIN_KEYS) - {"modality"}
    if unknown:
        raise ConfigError(f"unknown option(s) in {config_file}: {sorted(unknown)}")
    check_train_options(config)
    for key in ("train", "val", "test"):
        if config.get(key) and not os.path.exists(config[key]):
            raise ConfigError(f"--{key} {config[key]}: no such file or directory")
    return config


def _check_class_weight(value):
    """`class_weight`: None, "balanced", or (in a TOML file) a table of class name -> weight."""
    if value is None or value == "balanced":
        return
    if isinstance(value, dict):
        for name, weight in value.items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight > 0:
                raise ConfigError(f"class_weight[{name!r}] must be a positive number; received {weight!r}")
        return
    raise ConfigError(
        "--class-weight must be 'balanced' (or a table of class name -> weight in --config); "
        f"received {value!r}"
    )


def _flag(key):
    return "--" + key.replace("_", "-")


def _check_init_from(init_from):
    """`--init-from`: an existing `.keras` file, or a run directory with a trained model.

    A run that another process is still training is named as such: before its
    first epoch it has no model to start from, after it only its best epoch so far."""
    from mmcnn.runs.run_dir import RunDir

    if not os.path.exists(init_from):
        raise ConfigError(f"--init-from {init_from}: no such run directory or .keras file")
    if not os.path.isdir(init_from):
        return
    source = RunDir(init_from)
    writer = source.writer()
    if not os.path.isfile(source.model_path):
        if writer:
            raise ConfigError(
                f"--init-from {init_from}: the run is still training ({writer}) and has not finished "
                "its first epoch: wait for it to finish, then start from it"
            )
        raise ConfigError(f"--init-from {init_from}: the directory holds no trained model (model.keras)")
    if writer and not os.path.isfile(source.metrics_path):
        logging.getLogger("mmcnn.runs").warning(
            "--init-from %s: the run is still training (%s); starting from its best epoch so far",
            init_from,
            writer,
        )


def check_train_options(config):
    """Checks the values of a run's options before any data is read (`ConfigError` naming the option)."""

    def integer(key, least):
        value = config.get(key)
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            rule = "a positive integer" if least == 1 else f"an integer >= {least}"
            raise ConfigError(f"{_flag(key)} must be {rule}; received {value!r}")

    integer("epochs", 1)
    integer("batch_size", 1)
    integer("seed", 0)
    integer("freeze_epochs", 0)
    rate = config.get("fine_tune_learning_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0):
        raise ConfigError(f"--fine-tune-learning-rate must be a positive number; received {rate!r}")
    _check_class_weight(config.get("class_weight"))
    init_from = config.get("init_from")
    if isinstance(init_from, dict):  # a table: one source per column
        for source in init_from.values():
            _check_init_from(source)
    elif init_from is not None:
        _check_init_from(init_from)
    elif not (config.get("classifier") or {}).get("backbone"):
        # The schedule of a warm start: without one, nothing is frozen and no rate changes.
        for key in ("freeze_epochs", "fine_tune_learning_rate"):
            if config.get(key) is not None:
                raise ConfigError(
                    f"{_flag(key)} sets the schedule of a warm start: give --init-from RUN_DIR too "
                    f"(or a `backbone` in [classifier]), or leave {_flag(key)} out"
                )
    fraction = config.get("val_fraction")
    if not isinstance(fraction, (int, float)) or isinstance(fraction, bool) or not 0 < fraction < 1:
        raise ConfigError(f"val_fraction must be a number between 0 and 1; received {fraction!r}")
    if config.get("on_error") not in ("skip", "raise"):
        raise ConfigError(f"--on-error must be 'skip' or 'raise'; received {config.get('on_error')!r}")
    if config.get("empty_classes") not in ("error", "drop"):
        raise ConfigError(
            f"--empty-classes must be 'error' or 'drop'; received {config.get('empty_classes')!r}"
        )
    if config.get("encoding") is not None:
        import codecs

        try:
            codecs.lookup(config["encoding"])
        except (LookupError, TypeError):
            raise ConfigError(f"--encoding {config['encoding']!r}: not an encoding Python knows") from None
    if not isinstance(config.get("classifier"), dict):
        raise ConfigError(f"[classifier] must be a table; received {config.get('classifier')!r}")
    out = config.get("out")
    if out and os.path.lexists(out) and not os.path.isdir(out):
        raise ConfigError(f"--out {out}: is a file; give a directory for the run")
