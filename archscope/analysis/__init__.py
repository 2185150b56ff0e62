"""Pure functions from a Trace to tables and totals."""

from archscope.analysis.profile import leaf_profile, weighted_depth
from archscope.analysis.stages import stage_table
from archscope.analysis.totals import flops_by_category, layer_rows, totals, uncounted

__all__ = ["flops_by_category", "layer_rows", "leaf_profile", "stage_table", "totals", "uncounted", "weighted_depth"]
