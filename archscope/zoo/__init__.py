"""Reference architectures by name: ``names()``, ``entry(name)``, ``build(name, **options)``."""

from archscope.zoo.registry import Entry, build, entry, names

__all__ = ["Entry", "build", "entry", "names"]
