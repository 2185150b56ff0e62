"""Read the claim files (claims/README.md is their format) without importing torch.

Every problem in a file — bad TOML, a missing field, an unknown quantity or model, a stated value
that cannot be read — is a ``ClaimFileError`` naming the file and the line of the claim.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from archscope.claims import stated as values
from archscope.errors import ArchscopeError

DIRECTORY = Path(__file__).parent
VERDICTS = ("reproduced", "contradicted", "not checkable")
RELATIONS = ("equal", "below", "above")

SAVINGS = ("bottleneck", "factorization")
SAVINGS_FIGURES = ("weights", "direct_weights", "weights_ratio", "mult_adds", "direct_mult_adds", "mult_adds_ratio")

# quantity -> what it needs beside the common fields: "layer" (required), "layer?" (optional), ...
QUANTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "params": ("layer?",), "trainable_params": ("layer?",), "frozen_params": (), "inference_params": (),
    "mult_adds": ("layer?",), "flops": ("layer?",),
    "memory.input": (), "memory.forward_backward": (), "memory.params": (), "memory.total": (),
    "output_shape": ("layer|output", "layout?"), "input_shape": ("layer", "layout?"), "row": ("layer", "depth?"),
    "attribute": ("layer", "name"), "window": ("layer",), "count": ("type",), "depth": (),
    "receptive_field": ("layer?",),
    **{f"{kind}.{figure}": ("layer?",) for kind in SAVINGS for figure in SAVINGS_FIGURES},
    "training": (), "accuracy": (), "speed": (),
}
SUMMED = ("params", "trainable_params", "mult_adds", "flops")  # may name a list of layers: their sum
NOT_CHECKABLE = {
    "training": "a training setting (a loss weight, an optimiser, a schedule) is not part of the model's definition",
    "accuracy": "an accuracy needs trained weights and a dataset; a definition fixes neither",
    "speed": "a speed depends on the hardware and the software that run the model; the definition fixes "
             "only the arithmetic (its mult-adds)",
}
COMMON = {"id", "model", "input", "options", "where", "words", "quantity", "stated", "expected", "explanation",
          "tolerance", "relation", "units", "call"}
EXTRA = {"layer", "output", "depth", "name", "type", "layout"}
# How a stated shape is written: as PyTorch's (N)CHW; height × width × channels; or "map", Table 1's
# habit of writing a vector of C values as a C×1×1 map.
LAYOUTS = ("NCHW", "HWC", "map")


class ClaimFileError(ArchscopeError):
    """A claim file that cannot be used, with its file and line."""


@dataclass(frozen=True)
class Source:
    name: str
    title: str
    cite: str
    units: str
    file: str  # the claim file's name


@dataclass(frozen=True)
class Claim:
    id: str
    model: str
    source: Source
    where: str
    words: str
    quantity: str
    stated: object
    expected: str
    explanation: str
    line: int  # of the claim's [[claim]] header in its file
    input: tuple[tuple[int, ...], ...] | None = None  # None: the zoo entry's default input
    options: tuple[tuple[str, object], ...] = ()
    units: str = "si"
    tolerance: float = 0.0
    relation: str = "equal"
    locator: dict = field(default_factory=dict)  # layer, call, output, depth, name, type, layout

    @property
    def at(self) -> str:
        return f"{self.source.file}:{self.line}"

    @property
    def checkable(self) -> bool:
        return self.quantity not in NOT_CHECKABLE


def _claim_lines(text: str) -> list[int]:
    return [number for number, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*claim\s*\]\]", line)]


def _text(entry: dict, key: str, where: str, required: bool = True) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ClaimFileError(f"{where}: '{key}' must be a non-empty string")
    return value


def _input(value, where: str) -> tuple[tuple[int, ...], ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise ClaimFileError(f"{where}: 'input' must be a shape such as [1, 3, 224, 224] (or a list of shapes)")
    shapes = value if isinstance(value[0], list) else [value]
    if not all(isinstance(shape, list) and shape and all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                                                         for n in shape) for shape in shapes):
        raise ClaimFileError(f"{where}: 'input' must be a shape such as [1, 3, 224, 224] (or a list of shapes)")
    return tuple(tuple(shape) for shape in shapes)


def _is_int(value, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def _check_locator(entry: dict, where: str) -> None:
    """Each field that locates the quantity has the type its readers assume."""
    rules = {
        "call": (lambda value: _is_int(value, 0), "a call index: 0, 1, ..."),
        "output": (lambda value: _is_int(value, 0), "an output index: 0, 1, ..."),
        "depth": (lambda value: _is_int(value, 1), "a table depth: 1, 2, ..."),
        "name": (lambda value: isinstance(value, str) and value, "an attribute name such as 'stride'"),
        "type": (lambda value: (isinstance(value, str) and value) or (
            isinstance(value, list) and value and all(isinstance(item, str) for item in value)),
                 "a class name or a list of them"),
        "layout": (lambda value: value in LAYOUTS, f"one of {', '.join(LAYOUTS)}"),
        "units": (lambda value: isinstance(value, str) and value in values.BASES, "'si' or 'binary'"),
        "relation": (lambda value: isinstance(value, str) and value in RELATIONS, f"one of {', '.join(RELATIONS)}"),
        "tolerance": (lambda value: isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1,
                      "a fraction between 0 and 1"),
    }
    for key, (valid, wanted) in rules.items():
        if key in entry and not valid(entry[key]):
            raise ClaimFileError(f"{where}: '{key}' must be {wanted}, not {entry[key]!r}")
    if entry.get("tolerance") and entry.get("relation", "equal") != "equal":
        raise ClaimFileError(f"{where}: 'tolerance' widens an equal value; a bound ('relation') takes none")


def _claim(entry: dict, source: Source, line: int, models: dict[str, tuple[str, ...]]) -> Claim:
    where = f"{source.file}:{line}"
    if not isinstance(entry, dict):
        raise ClaimFileError(f"{where}: a claim must be a table")
    unknown = sorted(set(entry) - COMMON - EXTRA)
    if unknown:
        raise ClaimFileError(f"{where}: unknown field {', '.join(unknown)}")
    claim_id = _text(entry, "id", where)
    where = f"{where} ({claim_id})"
    model = _text(entry, "model", where)
    if model not in models:
        raise ClaimFileError(f"{where}: model {model!r} is not in the zoo")
    quantity = _text(entry, "quantity", where)
    if quantity not in QUANTITY_FIELDS:
        raise ClaimFileError(f"{where}: unknown quantity {quantity!r} (see archscope/claims/README.md)")
    expected = _text(entry, "expected", where)
    if expected not in VERDICTS:
        raise ClaimFileError(f"{where}: expected must be one of {', '.join(VERDICTS)}, not {expected!r}")
    # a gap needs its reason; what cannot be checked has archscope's reason unless the claim gives its own
    explanation = _text(entry, "explanation", where, required=expected == "contradicted")
    if (quantity in NOT_CHECKABLE) != (expected == "not checkable"):
        raise ClaimFileError(f"{where}: only a claim about {', '.join(NOT_CHECKABLE)} is expected 'not checkable', "
                             f"and such a claim always is")
    if "stated" not in entry:
        raise ClaimFileError(f"{where}: 'stated' is missing")
    locator = {key: entry[key] for key in EXTRA | {"call"} if key in entry}
    for need in QUANTITY_FIELDS[quantity]:
        names = need.rstrip("?").split("|")
        if not need.endswith("?") and not any(name in entry for name in names):
            raise ClaimFileError(f"{where}: quantity {quantity!r} needs '{' or '.join(names)}'")
    _check_locator(entry, where)
    layer = entry.get("layer", "")
    if not (isinstance(layer, str) or (isinstance(layer, list) and layer and all(isinstance(p, str) for p in layer)
                                       and quantity in SUMMED)):
        raise ClaimFileError(f"{where}: 'layer' must be a module path" + (
            " or a list of them" if quantity in SUMMED else ""))
    allowed = {name for need in QUANTITY_FIELDS[quantity] for name in need.rstrip("?").split("|")}
    stray = sorted(set(locator) - allowed - {"call"})
    if stray:
        raise ClaimFileError(f"{where}: quantity {quantity!r} takes no '{', '.join(stray)}'")
    units = entry.get("units", source.units)
    relation = entry.get("relation", "equal")
    tolerance = entry.get("tolerance", 0.0)
    options = entry.get("options", {})
    if not isinstance(options, dict):
        raise ClaimFileError(f"{where}: 'options' must be a table such as {{ aux_logits = false }}")
    unknown = sorted(set(options) - set(models[model]))
    if unknown:
        raise ClaimFileError(f"{where}: {model} has no option {', '.join(unknown)} "
                             f"(its options: {', '.join(models[model]) or 'none'})")
    if not all(isinstance(value, (bool, int, float, str)) for value in options.values()):
        raise ClaimFileError(f"{where}: an option's value must be a boolean, a number or a string")
    claim = Claim(
        id=claim_id, model=model, source=source, where=_text(entry, "where", where),
        words=_text(entry, "words", where), quantity=quantity, stated=entry["stated"], expected=expected,
        explanation=explanation, line=line, input=_input(entry.get("input"), where),
        options=tuple(sorted(options.items())), units=units, tolerance=float(tolerance), relation=relation,
        locator=locator)
    try:
        expectation(claim)
    except ValueError as error:
        raise ClaimFileError(f"{where}: {error}") from None
    return claim


def expectation(claim: Claim):
    """What the stated value admits: an ``Interval`` for a figure, a tuple for a shape or size,
    ``(shape, Interval)`` for a summary row, None for what cannot be checked."""
    stated = claim.stated
    if not claim.checkable:
        return None
    if claim.quantity in ("output_shape", "input_shape"):
        return values.parse_shape(stated)
    if claim.quantity in ("window", "receptive_field"):
        return values.parse_sizes(stated)
    if claim.quantity == "attribute":  # sizes (an int, "3×3", [3, 3]) or a figure ("1,024", 0.4, "40%")
        if isinstance(stated, (int, list)) or (isinstance(stated, str) and values.SIZES.match(stated)):
            return values.parse_sizes(stated)
        return values.value_interval(stated, claim.units, claim.tolerance, claim.relation)
    if claim.quantity == "row":
        if not isinstance(stated, dict) or set(stated) != {"shape", "params"}:
            raise ValueError("a row is stated as { shape = [...], params = \"12,416\" } (params \"--\" when empty)")
        params = "0" if stated["params"] == "--" else stated["params"]
        return values.parse_shape(stated["shape"]), values.value_interval(params)
    return values.value_interval(stated, claim.units, claim.tolerance, claim.relation)


def load_file(path: Path, models: dict[str, tuple[str, ...]]) -> list[Claim]:
    """The claims of one file; ``models``: zoo name → its options."""
    try:
        text = path.read_text(encoding="utf-8")
        document = tomllib.loads(text)
    except UnicodeDecodeError as error:
        raise ClaimFileError(f"{path.name}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise ClaimFileError(f"{path.name}: not valid TOML: {error}") from None
    header = document.get("source")
    if not isinstance(header, dict):
        raise ClaimFileError(f"{path.name}:1: a [source] table (name, title, cite) is missing")
    for key in ("name", "title", "cite"):
        _text(header, key, f"{path.name} [source]")
    units = header.get("units", "si")
    if not isinstance(units, str) or units not in values.BASES:
        raise ClaimFileError(f"{path.name} [source]: units must be 'si' or 'binary', not {units!r}")
    source = Source(header["name"], header["title"], header["cite"], units, path.name)
    entries = document.get("claim", [])
    if not isinstance(entries, list):
        raise ClaimFileError(f"{path.name}: claims are written [[claim]]")
    lines = _claim_lines(text)
    lines += [1] * (len(entries) - len(lines))  # claims not written as [[claim]] headers: the file's start
    return [_claim(entry, source, line, models) for entry, line in zip(entries, lines)]


def load_all(directory: Path | None = None) -> tuple[Claim, ...]:
    """Every claim of every file in ``directory`` (default: the package's), files in name order; ids
    unique across them."""
    return _load_directory(Path(directory or DIRECTORY).resolve())


@cache
def _load_directory(directory: Path) -> tuple[Claim, ...]:
    from archscope import zoo

    models = {name: zoo.entry(name).options for name in zoo.names()}
    found: list[Claim] = []
    for path in sorted(directory.glob("*.toml")):
        found.extend(load_file(path, models))
    seen: dict[str, Claim] = {}
    for claim in found:
        if claim.id in seen:
            raise ClaimFileError(f"{claim.at}: claim id {claim.id!r} is already used at {seen[claim.id].at}")
        seen[claim.id] = claim
    return tuple(found)
