"""Tracing: one forward pass under hooks and a dispatch mode, returning records."""

from archscope.trace.tracer import make_inputs, trace

__all__ = ["make_inputs", "trace"]
