"""Pure functions from a Trace to tables and totals."""

from archscope.analysis.totals import flops_by_category, layer_rows, totals, uncounted

__all__ = ["flops_by_category", "layer_rows", "totals", "uncounted"]
