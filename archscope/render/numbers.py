"""All number formatting lives here: counts with separators, torchinfo's units, megabytes."""

from __future__ import annotations


def count(value: int) -> str:
    return f"{value:,}"


def count_or_dash(value: int) -> str:
    return f"{value:,}" if value else "--"


def scaled(value: int) -> tuple[str, str]:
    """torchinfo's automatic unit: T at 10^12 and above, G at 10^9, else M."""
    for unit, factor in (("T", 10**12), ("G", 10**9), ("M", 10**6)):
        if value >= factor or unit == "M":
            converted = value / factor
            return unit, (f"{int(converted):,}" if converted.is_integer() else f"{converted:,.2f}")
    raise AssertionError("unreachable")


def compact(value: int) -> str:
    """A count in K/M/G (10^3, 10^6, 10^9) with three significant figures or more, for tables."""
    for unit, factor in (("G", 10**9), ("M", 10**6), ("K", 10**3)):
        if value >= factor:
            return f"{value / factor:,.1f} {unit}" if value < 100 * factor else f"{value / factor:,.0f} {unit}"
    return str(value)


def megabytes(value: int) -> str:
    return f"{value / 1e6:0.2f}"


def shape(value) -> str:
    return "--" if value is None else str(list(value))
