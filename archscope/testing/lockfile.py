"""Lock files: a model's totals and per-call figures as readable JSON, one layer call per line, so
that ``git diff`` of a lock shows the layers that moved. Versions are recorded, never compared.

A lock names the model as it was given: a zoo name or a MODEL spec can be traced again by
``archscope verify``; a module object (the pytest fixture's) is verified by its test.
"""

from __future__ import annotations

import json
from pathlib import Path

from archscope.analysis import diff
from archscope.errors import LockError, UsageError
from archscope.inputs import validate_input_size
from archscope.units import Mode

LOCK_FORMAT = 1
# FLOPs are left out: they count element-wise ops by rules archscope may refine (and by how torch
# decomposes an op) without the model changing; a lock pins what the model is
TOTAL_KEYS = tuple(key for key in diff.TOTAL_KEYS if key != "flops")
LAYER_KEYS = diff.CALL_KEYS
MODES = tuple(mode.value for mode in Mode)


def lock_document(analysis, traceable: bool, versions: dict[str, str]) -> dict:
    """The lock of an ``Analysis``; ``traceable``: whether ``analysis.trace.model`` is a zoo name or
    MODEL spec that ``verify`` can trace again."""
    return {
        "archscope_lock": LOCK_FORMAT,
        "model": analysis.trace.model,
        "traceable": traceable,
        "input": [list(spec.shape) for spec in analysis.trace.inputs],
        "mode": analysis.trace.mode,
        "totals": {key: analysis.own_totals[key] for key in TOTAL_KEYS},
        "layers": [{key: row[key] for key in LAYER_KEYS} for row in analysis.rows],
        "made_with": dict(sorted(versions.items())),
    }


def lock_text(document: dict) -> str:
    """Indented JSON with each layer call on one line: deterministic, and diffs line by line."""
    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    def items(mapping: dict, indent: str) -> str:
        return ",\n".join(f"{indent}{dump(key)}: {dump(value)}" for key, value in mapping.items())

    head = {key: document[key] for key in ("archscope_lock", "model", "traceable", "input", "mode")}
    layers = ",\n".join(f"    {dump(layer)}" for layer in document["layers"])
    return (f"{{\n{items(head, '  ')},\n  \"totals\": {{\n{items(document['totals'], '    ')}\n  }},\n"
            f"  \"layers\": [\n{layers}\n  ],\n  \"made_with\": {dump(document['made_with'])}\n}}\n")


def read_lock(path: str | Path) -> dict:
    """A lock file's document, validated; every problem a one-line ``LockError`` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise LockError(f"cannot read lock {str(path)!r}: {reason}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise LockError(f"{path}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})") from None
    if not isinstance(document, dict) or "archscope_lock" not in document:
        raise LockError(f"{path}: not an archscope lock (no \"archscope_lock\" key; write one with archscope lock MODEL)")
    if type(document["archscope_lock"]) is not int or document["archscope_lock"] != LOCK_FORMAT:
        raise LockError(f"{path}: lock format {document['archscope_lock']!r} is not {LOCK_FORMAT}")
    problem = _problem(document)
    if problem:
        raise LockError(f"{path}: {problem}")
    return document


def _problem(document: dict) -> str | None:
    for key, kind in (("model", str), ("traceable", bool), ("input", list), ("mode", str), ("totals", dict),
                      ("layers", list)):
        if not isinstance(document.get(key), kind):
            return f"{key!r} is missing or not a {kind.__name__}"
    try:
        validate_input_size(document["input"])
    except UsageError as error:
        return f"'input': {error}"
    if document["mode"] not in MODES:
        return f"'mode' {document['mode']!r} is not one of {', '.join(MODES)}"
    for key in TOTAL_KEYS:
        if not _count(document["totals"].get(key)):
            return f"totals: {key!r} is missing or not a count (an integer, 0 or more)"
    for number, layer in enumerate(document["layers"], 1):
        if not isinstance(layer, dict):
            return f"layer {number} is not an object"
        for key in ("path", "type"):
            if not isinstance(layer.get(key), str):
                return f"layer {number}: {key!r} is missing or not a string"
        for key in ("call", "params", "mult_adds"):
            if not _count(layer.get(key)):
                return f"layer {number}: {key!r} is missing or not a count (an integer, 0 or more)"
        shapes = layer.get("output_shapes")
        if not isinstance(shapes, list) or not all(
                isinstance(shape, list) and all(map(_count, shape)) for shape in shapes):
            return f"layer {number}: 'output_shapes' is missing or not a list of shapes (lists of counts)"
    return None


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
