"""What counts as a number in a run's files and a config's values: an int or a float, never a bool (True is an int
to Python, and a flag is no measurement)."""

from __future__ import annotations

import math
from typing import Any


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_finite_number(value: Any) -> bool:
    return is_number(value) and math.isfinite(value)
