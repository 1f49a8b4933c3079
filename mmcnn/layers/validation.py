"""Argument checks that name the argument, the rule and the value received."""

import numpy as np


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}. Received: {name}={value!r}")
    return value


def check_positive_int(name, value, allow_zero=False):
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        rule = "a non-negative integer" if allow_zero else "a positive integer"
        raise ValueError(f"`{name}` must be {rule}. Received: {name}={value!r}")
    return value


def check_fraction(name, value):
    if not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")
    return float(value)


def check_positive_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"`{name}` must be a positive number. Received: {name}={value!r}")
    return float(value)


def to_tuple(name, value, rank):
    """Expands an int to a `rank`-tuple of positive ints, checking each."""
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank:
        raise ValueError(f"`{name}` must be an int or a tuple of {rank} ints. Received: {name}={value!r}")
    for item in values:
        check_positive_int(name, item)
    return values


def check_count(name, value, allow_zero=False):
    """`check_positive_int` that also takes NumPy integers, and returns a Python int.

    For sizes and counts that are often computed from arrays (`len`, `.shape`, `np.sum`).

    Example:
    >>> check_count("size", np.int64(3))
    3
    """
    if isinstance(value, np.integer):
        value = int(value)
    return check_positive_int(name, value, allow_zero)
