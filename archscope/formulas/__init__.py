"""Cost formulas by aten op; importing the package fills the registry."""

from archscope.formulas import elementwise, matmul  # noqa: F401  (registration side effects)
from archscope.formulas.registry import Cost, Formula, lookup, register_formula

__all__ = ["Cost", "Formula", "lookup", "register_formula"]
