"""The budget of a search: wall-clock time (`"30m"`) or a number of trials (`20`)."""

import dataclasses
import datetime
import re

from mmcnn._config import ConfigError

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_TIME = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


@dataclasses.dataclass(frozen=True)
class Budget:
    """`seconds` of wall-clock time for this call, or `trials` in the whole search (one is None)."""

    seconds: float = None
    trials: int = None

    def __str__(self):
        if self.trials is not None:
            return f"{self.trials} trial{'s' if self.trials != 1 else ''}"
        minutes, seconds = divmod(round(self.seconds), 60)
        hours, minutes = divmod(minutes, 60)
        return "".join(f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if v) or "0s"


def parse_budget(budget):
    """A `Budget` from `"30m"`, `"1h30m"`, `"90s"`, `"2.5h"`, a `timedelta`, or a number of trials.

    Example:
    >>> parse_budget("1h30m").seconds, parse_budget(12).trials, parse_budget("12").trials
    (5400.0, 12, 12)
    """
    if isinstance(budget, Budget):
        return budget
    if isinstance(budget, datetime.timedelta):
        seconds = budget.total_seconds()
        if seconds <= 0:
            raise ConfigError(f"--budget must be a positive time; received {budget}")
        return Budget(seconds=seconds)
    if isinstance(budget, int) and not isinstance(budget, bool):
        if budget < 1:
            raise ConfigError(f"--budget must be a positive number of trials; received {budget}")
        return Budget(trials=budget)
    if isinstance(budget, str):
        text = budget.strip().lower().replace(" ", "")
        if text.isdigit():
            return parse_budget(int(text))
        match = _TIME.match(text)
        if text and match and any(match.groups()):
            seconds = sum(float(v) * _UNITS[u] for v, u in zip(match.groups(), "hms") if v)
            if seconds > 0:
                return Budget(seconds=seconds)
    raise ConfigError(
        f"--budget must be a time such as 30m, 2h, 1h30m or 90s, or a number of trials such as 20; "
        f"received {budget!r}"
    )
