"""The search space and the budget of `mmcnn tune`: defaults per modality, TOML files, clear errors."""

import datetime
import inspect

import pytest

import mmcnn.audio
import mmcnn.image
import mmcnn.multimodal
import mmcnn.text
from mmcnn.runs.config import ConfigError
from mmcnn.tune import SpaceError, choose_algorithm, parse_budget, resolve_space, tune


def test_budgets():
    assert parse_budget("30m").seconds == 1800
    assert parse_budget("1h30m").seconds == 5400
    assert parse_budget("90s").seconds == 90
    assert parse_budget("2.5h").seconds == 9000
    assert parse_budget(datetime.timedelta(minutes=2)).seconds == 120
    assert parse_budget(12).trials == 12 and parse_budget("12").trials == 12
    assert str(parse_budget("1h30m")) == "1h30m" and str(parse_budget(1)) == "1 trial"
    for bad in ("0", 0, -3, "soon", "30x", "", "m", True, 1.5):
        with pytest.raises(ConfigError, match="--budget"):
            parse_budget(bad)


def test_the_algorithm_follows_the_budget():
    space, _ = resolve_space(mmcnn.image.ImageClassifier)
    assert choose_algorithm(parse_budget("30m"), space) == "hyperband"
    assert choose_algorithm(parse_budget(3), space) == "random"
    assert choose_algorithm(parse_budget(3 * len(space) + 1), space) == "bayesian"


@pytest.mark.parametrize(
    "cls, knobs",
    [
        (mmcnn.image.ImageClassifier, {"preset", "learning_rate", "batch_size", "augmentation"}),
        (
            mmcnn.audio.AudioClassifier,
            {"preset", "learning_rate", "batch_size", "augmentation", "n_mels", "hop_length"},
        ),
        (
            mmcnn.text.TextClassifier,
            {"preset", "mode", "max_tokens", "vocabulary_size", "dropout", "learning_rate", "batch_size"},
        ),
        (
            mmcnn.multimodal.TableClassifier,
            {"fusion", "fusion_units", "column_dropout", "learning_rate", "batch_size"},
        ),
    ],
)
def test_default_spaces_are_valid(cls, knobs):
    # Every value and every end of every range goes through the classifier's own checks.
    searched, fixed = resolve_space(cls)
    assert set(searched) == knobs and fixed == {}
    # A fixed setting leaves the default space.
    searched, fixed = resolve_space(cls, settings={"batch_size": 16})
    assert "batch_size" not in searched and fixed == {"batch_size": 16}


def test_audio_hops_follow_the_sample_rate():
    searched, _ = resolve_space(mmcnn.audio.AudioClassifier, settings={"sample_rate": 8000})
    assert searched["hop_length"]["values"] == [40, 80, 160]


def test_a_file_narrows_or_replaces_the_default_space(tmp_path):
    path = tmp_path / "space.toml"
    path.write_text(
        '[learning_rate]\nmin = 1e-4\nmax = 1e-2\nlog = true\n\n[preset]\nvalues = ["tiny", "small"]\n\n'
        "[image_size]\nvalue = [12, 12]\n"
    )
    searched, fixed = resolve_space(mmcnn.image.ImageClassifier, str(path))
    assert searched["preset"] == {"values": ["tiny", "small"]}
    assert searched["learning_rate"] == {"min": 1e-4, "max": 1e-2, "log": True}
    assert "augmentation" in searched  # not in the file: the default stays
    assert fixed == {"image_size": [12, 12]}

    path.write_text('default_space = false\n\n[preset]\nvalues = ["tiny", "small"]\n')
    searched, fixed = resolve_space(mmcnn.image.ImageClassifier, path)
    assert list(searched) == ["preset"] and fixed == {}


def test_integer_and_float_ranges():
    searched, _ = resolve_space(
        mmcnn.audio.AudioClassifier,
        {
            "n_mels": {"min": 16, "max": 64, "step": 16},
            "learning_rate": {"min": 1e-3, "max": 1e-2, "log": True},
        },
    )
    assert searched["n_mels"] == {"min": 16, "max": 64, "log": False, "step": 16}
    assert isinstance(searched["learning_rate"]["min"], float)


@pytest.mark.parametrize(
    "space, needle",
    [
        ({"fliters": {"values": [8, 16]}}, "unknown knob `fliters`"),
        ({"learning_rate": {"min": 1e-2, "max": 1e-4}}, "`learning_rate` is an impossible range: min"),
        (
            {"learning_rate": {"min": 0.0, "max": 1e-2, "log": True}},
            "`learning_rate` is an impossible log range",
        ),
        ({"learning_rate": {"min": -1.0, "max": 1e-2}}, "`learning_rate` must be a positive number"),
        ({"batch_size": {"values": []}}, "`batch_size` values must be a non-empty list"),
        ({"batch_size": {"values": [0, 32]}}, "`batch_size` must be a positive integer"),
        ({"batch_size": {"values": [32, "64"]}}, "`batch_size` values must be all numbers"),
        ({"batch_size": {"mx": 64}}, "`batch_size` has unknown key(s) ['mx']"),
        ({"batch_size": {"min": 16, "max": 32, "step": 64}}, "`batch_size` step must be"),
        ({"batch_size": {"min": 16}}, "`batch_size` needs numbers min and max"),
        ({"preset": {"values": ["tiny", "huge"]}}, "`preset` value 'huge' is not valid for ImageClassifier"),
        ({"augmentation": {"value": "wild"}}, "augmentation"),
        ({"preset": ["tiny", "small"]}, "`preset` must be a table"),
    ],
)
def test_bad_spaces_name_the_knob(space, needle):
    with pytest.raises(SpaceError) as error:
        resolve_space(mmcnn.image.ImageClassifier, space)
    assert needle in str(error.value)


def test_bad_files_name_the_file_or_the_knob(tmp_path):
    path = tmp_path / "space.toml"
    with pytest.raises(SpaceError, match="--space .*no such file"):
        resolve_space(mmcnn.image.ImageClassifier, path)
    path.write_text("[preset\n")
    with pytest.raises(SpaceError, match="--space .*invalid TOML"):
        resolve_space(mmcnn.image.ImageClassifier, path)
    path.write_text("learning_rate = 0.1\n")
    with pytest.raises(SpaceError, match="`learning_rate` must be a table"):
        resolve_space(mmcnn.image.ImageClassifier, path)
    path.write_text("default_space = 1\n")
    with pytest.raises(SpaceError, match="default_space"):
        resolve_space(mmcnn.image.ImageClassifier, path)
    with pytest.raises(SpaceError, match="--set colour"):
        resolve_space(mmcnn.image.ImageClassifier, settings={"colour": 1})


def test_no_test_split_can_reach_the_search():
    # Structural: neither the function nor the command takes test data.
    assert not any("test" in name for name in inspect.signature(tune).parameters)
    from mmcnn.cli import CliError, build_parser

    with pytest.raises(CliError, match="unrecognized arguments: --test"):
        build_parser().parse_args(["tune", "image", "--train", "t", "--out", "o", "--test", "x"])
    assert "test" not in vars(build_parser().parse_args(["tune", "image", "--train", "t", "--out", "o"]))


def test_errors_come_before_anything_is_written(tmp_path):
    out = tmp_path / "search"
    with pytest.raises(SpaceError, match="unknown knob"):
        tune("image", tmp_path, out=out, budget=1, space={"nope": {"value": 1}})
    with pytest.raises(ConfigError, match="--budget"):
        tune("image", tmp_path, out=out, budget="soon")
    with pytest.raises(ConfigError, match="--train .*no such file"):
        tune("image", tmp_path / "missing", out=out, budget=1)
    assert not out.exists()


def test_best_toml_warns_of_a_best_trial_at_or_below_chance():
    from mmcnn.tune.report import best_toml_text

    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib

    trial = {
        "number": 1, "val_accuracy": 0.3, "val_macro_f1": 0.2, "train_seconds": 1.0, "epochs_run": 1,
        "settings": {"preset": "tiny", "image_size": [12, 12]},
    }  # fmt: skip
    search = {
        "modality": "image", "data": {"train": "t", "val": "v"}, "algorithm": "random", "fixed": {},
        "seed": 0, "finished": 4, "num_classes": 3,
    }  # fmt: skip
    text = best_toml_text(trial, search)
    assert "# WARNING: the best trial's validation accuracy 0.3000 is at or below chance (1/3" in text
    assert "only 1 trial" not in text
    assert tomllib.loads(text)["preset"] == "tiny"  # still a valid --config file
    good = best_toml_text(dict(trial, val_accuracy=0.9), search)
    assert "WARNING" not in good
    assert "# WARNING: only 1 trial finished" in best_toml_text(
        dict(trial, val_accuracy=0.9), dict(search, finished=1)
    )
