"""Renderers: pure functions from an analysis document (``Analysis.to_dict()``) to text."""
