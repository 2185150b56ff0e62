"""The zoo: entries read from catalog/*.toml (one file per family); model code imported only when built."""

from __future__ import annotations

import difflib
import importlib
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from archscope.errors import UsageError

CATALOG = Path(__file__).with_name("catalog")


@dataclass(frozen=True)
class Entry:
    name: str
    factory: str  # "module:function"
    family: str
    source: str
    default_input: tuple[tuple[int, ...], ...]
    options: tuple[str, ...]
    params: int  # at the default options; stored so that `archscope list` needs no torch
    description: str
    counterfactual: str | None = None  # a zoo entry to trace beside it (googlenet → googlenet-naive)
    diffs: tuple[tuple[str, str], ...] = ()  # (other entry, why) pairs of `archscope diff --all`

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "source": self.source,
            "default_input": [list(shape) for shape in self.default_input],
            "options": list(self.options),
            "params": self.params,
            "description": self.description,
        }


@cache
def _entries() -> dict[str, Entry]:
    entries: dict[str, Entry] = {}
    for path in sorted(CATALOG.glob("*.toml")):
        with path.open("rb") as file:
            table = tomllib.load(file)  # a name given twice in one file is a TOML error
        for name, fields in table.items():
            if name in entries:
                raise RuntimeError(f"zoo entry {name!r} is defined twice (again in {path.name})")
            entries[name] = Entry(
                name=name,
                factory=fields["factory"],
                family=fields["family"],
                source=fields["source"],
                default_input=tuple(tuple(shape) for shape in fields["default_input"]),
                options=tuple(fields["options"]),
                params=fields["params"],
                description=" ".join(fields["description"].split()),
                counterfactual=fields.get("counterfactual"),
                diffs=tuple((item["model"], item["why"]) for item in fields.get("diffs", ())),
            )
    for found in entries.values():
        for other in [found.counterfactual, *(name for name, _ in found.diffs)]:
            if other is not None and other not in entries:
                raise RuntimeError(f"zoo entry {found.name!r} names {other!r}, which is not in the zoo")
    return entries


def names() -> list[str]:
    return sorted(_entries())


def entry(name: str) -> Entry:
    try:
        return _entries()[name]
    except KeyError:
        close = difflib.get_close_matches(name, names(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; archscope list shows the zoo's models"
        raise UsageError(f"unknown model {name!r}{hint}") from None


def build(name: str, device: str = "cpu", **options):
    """A real ``nn.Module``, built with its tensors on ``device`` (``"meta"``: no memory, no init cost)."""
    import torch

    found = entry(name)
    unknown = sorted(set(options) - set(found.options))
    if unknown:
        raise UsageError(f"model {name!r} has no option {', '.join(unknown)}; its options: {', '.join(found.options)}")
    module_name, function_name = found.factory.split(":")
    factory = getattr(importlib.import_module(module_name), function_name)
    with torch.device(device):
        return factory(**options)
