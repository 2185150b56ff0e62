"""One registry of cost formulas, keyed by aten op packet, in the form of torch's flop registry.

A formula receives shapes (``torch.utils.flop_counter.shape_wrapper`` replaces every tensor by its
shape) and returns a ``Cost``; registering a packet twice raises, so no formula shadows another.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import prod

from torch import Size
from torch.utils.flop_counter import shape_wrapper

from archscope.units import Category


@dataclass(frozen=True)
class Cost:
    mult_adds: int
    flops: int  # every FLOP of the op, including 2 per mult-add


@dataclass(frozen=True)
class Formula:
    category: Category
    count: Callable[..., Cost]  # count(*args, out_val=output, **kwargs), tensors as they come from dispatch


_REGISTRY: dict = {}


def register_formula(targets, category: Category, *, get_raw: bool = False):
    """Register ``formula`` for each aten packet in ``targets``; ``get_raw`` skips the shape wrapping."""

    targets = list(targets) if isinstance(targets, (list, tuple)) else [targets]

    def decorate(formula):
        count = formula if get_raw else shape_wrapper(formula)
        # All or nothing: a refused registration leaves no packet of the list registered.
        duplicates = [t for t in targets if t in _REGISTRY] or [t for i, t in enumerate(targets) if t in targets[:i]]
        if duplicates:
            raise RuntimeError(f"duplicate cost formula for {duplicates[0]}")
        _REGISTRY.update((target, Formula(category, count)) for target in targets)
        return formula

    return decorate


def lookup(packet) -> Formula | None:
    return _REGISTRY.get(packet)


def first_shape(out_shape):
    """The shape of an op's first output: ``out_shape`` is one ``torch.Size`` or a tuple of them."""
    return out_shape if isinstance(out_shape, Size) else out_shape[0]


def elementwise(shape, per_element: int = 1) -> Cost:
    """Cost of ``per_element`` FLOPs for every element of a tensor of ``shape``."""
    return Cost(0, per_element * prod(shape))
