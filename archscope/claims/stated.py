"""What a stated figure stands for: "31.82 G" is every value in [31.815, 31.825) × 10^9.

Arithmetic is exact (``Fraction``), so a boundary such as 31.825 × 10^9 is not blurred by floats.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from fractions import Fraction

# A suffix and the power of the source's base (10^3 or 2^10) it multiplies by.
BASE_POWERS = {"K": 1, "k": 1, "M": 2, "G": 3, "T": 4}
WORD_FACTORS = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "万": 10**4, "亿": 10**8, "MB": 10**6}
BASES = {"si": 1000, "binary": 1024}

NUMBER = re.compile(r"^\s*(?P<digits>[0-9][0-9,]*(?:\.[0-9]+)?)\s*(?P<unit>[A-Za-z万亿]+)?\s*$")
FRACTION = re.compile(r"^\s*(?P<top>[0-9]+)\s*/\s*(?P<bottom>[0-9]+)\s*$")
PERCENT = re.compile(r"^\s*(?P<digits>[0-9]+(?:\.[0-9]+)?)\s*%\s*$")
SHAPE_SEPARATORS = re.compile(r"\s*[×xX*,]\s*")
SIZES = re.compile(r"^\s*[\[(]?\s*\d+(\s*[×xX*]\s*\d+)+\s*[\])]?\s*$")  # "3×3", "7x1", "[3x3]": not "1,024"


@dataclass(frozen=True)
class Interval:
    """The values a stated figure admits: ``low <= v < high`` (``v <= high`` when ``closed``,
    ``low < v`` when ``low_open``)."""

    low: Fraction | None  # None: unbounded
    high: Fraction | None
    closed: bool = False
    low_open: bool = False  # "above": the bound itself is not admitted

    def __contains__(self, value) -> bool:
        if isinstance(value, float):  # a ratio computed in floating point: within rounding error counts
            slack = Fraction(abs(value)) * Fraction(1, 10**12)
            value = Fraction(str(float(value)))  # 0.4 is 2/5, not its binary neighbour
        else:
            value, slack = Fraction(value), Fraction(0)
        if self.low is not None and (value < self.low - slack or (self.low_open and value <= self.low)):
            return False
        if self.high is None:
            return True
        return value <= self.high + slack if self.closed else value < self.high

    def describe(self) -> str:
        def number(value: Fraction) -> str:
            return f"{int(value):,}" if value.denominator == 1 else f"{float(value):,.6g}"

        if self.low is not None and self.low == self.high:
            return number(self.low)
        if self.low is None:
            return f"below {number(self.high)}"
        if self.high is None:
            return f"above {number(self.low)}"
        return f"[{number(self.low)}, {number(self.high)}{']' if self.closed else ')'}"


def _unit_factor(unit: str | None, units: str) -> int:
    if unit is None:
        return 1
    if unit in WORD_FACTORS:
        return WORD_FACTORS[unit]
    if unit in BASE_POWERS:
        return BASES[units] ** BASE_POWERS[unit]
    raise ValueError(f"unknown unit {unit!r} (known: {', '.join([*BASE_POWERS, *WORD_FACTORS])})")


def value_interval(stated, units: str = "si", tolerance: float = 0.0, relation: str = "equal") -> Interval:
    """The interval a stated number stands for (see claims/README.md); ValueError when unreadable."""
    if isinstance(stated, bool) or not isinstance(stated, (int, float, str)):
        raise ValueError(f"stated value {stated!r} is not a number")
    text = str(stated)
    if (match := FRACTION.match(text)) is not None:
        if int(match["bottom"]) == 0:
            raise ValueError(f"stated value {text!r} divides by zero")
        centre, half = Fraction(int(match["top"]), int(match["bottom"])), Fraction(0)
    elif (match := PERCENT.match(text)) is not None:  # a rounded figure too: 28% is [27.5%, 28.5%)
        decimals = len(match["digits"].partition(".")[2])
        centre, half = Fraction(match["digits"]) / 100, Fraction(1, 200 * 10**decimals)
    elif (match := NUMBER.match(text)) is not None:
        digits = match["digits"].replace(",", "")
        factor = _unit_factor(match["unit"], units)
        decimals = len(digits.partition(".")[2])
        centre = Fraction(digits) * factor
        # an exact count: the integer itself; a rounded figure: half a unit of its last digit either side
        half = Fraction(0) if (decimals == 0 and factor == 1) else Fraction(factor, 2 * 10**decimals)
    else:
        raise ValueError(f"stated value {text!r} is not a number such as 13,385,816, '31.82 G', '1/9' or '28%'")
    if relation == "below":
        return Interval(None, centre)
    if relation == "above":
        return Interval(centre, None, low_open=True)
    widen = centre * Fraction(str(tolerance))
    if half == 0:
        return Interval(centre - widen, centre + widen, closed=True)
    return Interval(centre - half - widen, centre + half + widen)


COUNT_UNITS = ("K", "k", "M", "G", "T", "thousand", "million", "billion", "万", "亿")
GROUPED_DIGITS = re.compile(r"^(?:[0-9]{1,3}(?:,[0-9]{3})*|[0-9]+)(?:\.[0-9]+)?$")  # "13,385,816", not "2,24"


def count_interval(stated) -> Interval:
    """What a pinned count admits: a non-negative int exactly, or a figure as printed (``"13.4M"``,
    ``"31.82 G"``, ``"13,385,816"``) every value that rounds to it. Sizes, percentages, ratios and
    decimals without a unit are not counts (ValueError)."""
    if not isinstance(stated, (str, bool, float)) and hasattr(stated, "__index__"):  # numpy, 0-d tensor ints
        try:
            if "bool" in str(getattr(stated, "dtype", "")):
                raise TypeError("a boolean")
            count = operator.index(stated)
        except (TypeError, RuntimeError):  # floats, several elements, a meta tensor (no value)
            raise ValueError(f"{stated!r} is not a count: give one integer") from None
        if count < 0:
            raise ValueError(f"{count} is negative; a count is 0 or more")
        return value_interval(count)
    match = NUMBER.match(stated) if isinstance(stated, str) else None
    if (match is None or not GROUPED_DIGITS.match(match["digits"]) or (match["unit"] or "K") not in COUNT_UNITS
            or ("." in match["digits"] and match["unit"] is None)):
        raise ValueError(f"{stated!r} is not a count: give an int (13_385_816) or a figure as printed "
                         "('13.4M', '31.82 G', '13,385,816')")
    return value_interval(stated)


def parse_shape(stated) -> tuple[int, ...]:
    """``[20, 1000]``, ``"64×56×56"``, ``"1x28x28"`` or ``"[20, 64, 28, 28]"`` as a tuple of ints."""
    if isinstance(stated, list):
        parts = stated
    elif isinstance(stated, str):
        parts = [part for part in SHAPE_SEPARATORS.split(stated.strip().strip("[]()")) if part]
    else:
        raise ValueError(f"stated shape {stated!r} is not a list or a string such as '64×56×56'")
    try:
        shape = tuple(part if isinstance(part, int) and not isinstance(part, bool) else int(str(part).strip())
                      for part in parts)
    except (TypeError, ValueError):
        raise ValueError(f"stated shape {stated!r} has a part that is not an integer") from None
    if not shape or any(size < 0 for size in shape):
        raise ValueError(f"stated shape {stated!r} is empty or negative")
    return shape


def parse_sizes(stated) -> tuple[int, ...]:
    """An attribute such as a kernel size: ``3``, ``"3×3"``, ``[3, 3]``."""
    if isinstance(stated, bool):
        raise ValueError(f"stated value {stated!r} is not a size")
    if isinstance(stated, int):
        return (stated,)
    return parse_shape(stated)
