"""archscope: trace a PyTorch model once; per-layer shapes, parameters, mult-adds and memory.

``import archscope`` is light: torch is imported by the first call that needs it.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Analysis", "analyze", "check", "counters", "diff", "zoo", "__version__"]


def __getattr__(name: str):
    if name in ("analyze", "Analysis", "check", "counters", "diff"):
        from archscope import api

        return getattr(api, name)
    if name == "zoo":
        import archscope.zoo as zoo

        return zoo
    raise AttributeError(f"module 'archscope' has no attribute {name!r}")
