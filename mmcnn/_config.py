"""What `mmcnn.runs` and `mmcnn.tune` share about configuration files, below both.

`ConfigError` (an option or a file that cannot be used, named in the message)
and `read_toml`. Both are public as `mmcnn.runs.ConfigError` and
`mmcnn.runs.read_toml`; they live here so that the search (`mmcnn.tune`) need
not import the runs, which import the models.
"""

import os

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


class ConfigError(ValueError):
    """A run configuration that cannot be used: names the option and the value."""


def read_toml(path):
    """A TOML configuration file as a dict (`ConfigError` naming the file when unreadable)."""
    if not os.path.isfile(path):
        raise ConfigError(f"--config {path}: no such file")
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"--config {path}: invalid TOML ({error})") from None
