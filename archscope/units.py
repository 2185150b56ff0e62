"""Options as str-Enums, op categories, and the one place a MAC count becomes FLOPs."""

from __future__ import annotations

import enum

from archscope.errors import UsageError


class Device(str, enum.Enum):
    META = "meta"
    CPU = "cpu"


class Mode(str, enum.Enum):
    EVAL = "eval"
    TRAIN = "train"


class Format(str, enum.Enum):
    TEXT = "text"
    JSON = "json"
    CSV = "csv"


class Convention(str, enum.Enum):
    """Whose rules the totals follow: archscope's own (DESIGN.md), or another tool's, rebuilt from
    archscope's records (archscope/analysis/conventions.py)."""

    ARCHSCOPE = "archscope"
    TORCHINFO = "torchinfo"
    FVCORE = "fvcore"
    FLOPCOUNTER = "flopcounter"


class Category(str, enum.Enum):
    """What kind of arithmetic an aten op does; FLOPs are kept apart per category."""

    CONV_LINEAR = "conv_linear"  # convolution, linear and the matmul family: 2 FLOPs per mult-add (+ bias adds)
    NORMALIZATION = "normalization"
    ACTIVATION = "activation"
    POOLING = "pooling"
    ELEMENTWISE = "elementwise"  # add, mul, sub, div, ... (residual adds live here)
    REDUCTION = "reduction"  # sum, mean, amax, ...
    SOFTMAX = "softmax"
    CONCAT_COPY = "concat_copy"  # cat, stack, copies: data movement, no arithmetic
    FREE = "free"  # views, reshapes, allocations: no arithmetic and no data movement


def parse_enum(enum_type: type[enum.Enum], value, what: str):
    """Turn a raw option into its Enum where it enters; a bad value names itself and the choices."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        choices = ", ".join(repr(member.value) for member in enum_type)
        raise UsageError(f"{what} must be one of {choices}, not {value!r}") from None


def flops_from_mult_adds(mult_adds: int) -> int:
    """A multiply-accumulate is one multiply and one add: 2 FLOPs."""
    return 2 * mult_adds
