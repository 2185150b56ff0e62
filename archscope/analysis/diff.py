"""Where two traces differ: layer calls aligned by path, then by structure, and totals side by side.

Pure functions over the rows of ``layer_rows`` (and ``Trace.modules`` for kernels and parameter
names). ``model_diff`` compares two models (``archscope diff``); ``lock_drift`` compares a lock with
a fresh trace of the same model (``archscope verify``), where only the path can pair two calls.
"""

from __future__ import annotations

from collections import Counter
from difflib import SequenceMatcher
from archscope.records import Trace

TOTAL_KEYS = ("params", "trainable_params", "frozen_params", "buffers", "mult_adds", "flops",
              "input_bytes", "forward_backward_bytes", "params_bytes", "total_bytes")
# the figures a matched pair of layer calls is compared on, besides its module's attributes
LAYER_FIELDS = ("type", "output_shapes", "params", "mult_adds")
CALL_KEYS = ("path", "call", *LAYER_FIELDS)  # a layer call as a diff's block and a lock's layer show it


def by_path(row: dict):
    return row["path"], row["call"]


def by_shape(row: dict):
    """Output shapes without the batch size."""
    return tuple(tuple(shape[1:]) for shape in row["output_shapes"])


def by_type_and_shape(row: dict):
    return row["type"], by_shape(row)


def by_type(row: dict):
    return row["type"]


# The keys two models' calls are paired by, tried in turn on what the one before left unpaired.
MODEL_KEYS = (("path", by_path), ("structure", by_type_and_shape), ("structure", by_type))


# Top-level calls are often containers of differently named classes (Inception / InceptionModule):
# after path and type, their output shape alone pairs them.
BLOCK_KEYS = MODEL_KEYS + (("structure", by_shape),)


def align(a: list, b: list, keys) -> list[tuple[dict | None, dict | None, str | None]]:
    """(a item, b item, name of the key that paired them) in order; an unpaired item has None beside it.

    The first key pairs the longest runs of equal keys in order (``difflib``, no junk heuristic); each
    gap between them is aligned again with the next key, so pairs never cross.
    """
    if not keys:
        return [(item, None, None) for item in a] + [(None, item, None) for item in b]
    (name, key), rest = keys[0], keys[1:]
    matcher = SequenceMatcher(None, [key(item) for item in a], [key(item) for item in b], autojunk=False)
    pairs = []
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            pairs += [(a[i], b[j], name) for i, j in zip(range(a_start, a_end), range(b_start, b_end))]
        else:
            pairs += align(a[a_start:a_end], b[b_start:b_end], rest)
    return pairs


def compare_totals(a: dict, b: dict, keys=TOTAL_KEYS) -> list[dict]:
    """One row per figure: both values, the change and the change in percent of ``a`` (None when a is 0)."""
    return [{"key": key, "a": a[key], "b": b[key], "delta": b[key] - a[key],
             "percent": (b[key] - a[key]) / a[key] * 100 if a[key] else None} for key in keys]


def _units(rows: list[dict]) -> list[dict]:
    """Leaf calls, and calls of containers with parameters or mult-adds of their own (timm's
    BatchNormAct2d, a functional matmul in a block), each with its own figures only. What none of
    them holds (modules never called, element-wise ops in a container's forward) shows in the totals."""
    return [{**row, "params": row["self_params"], "mult_adds": row["self_mult_adds"]}
            for row in rows if row["is_leaf"] or row["self_params"] or row["self_mult_adds"]]


def _details(trace: Trace) -> dict[str, dict]:
    """Per module path: its attributes (kernel_size, stride, ...) and the names of its own parameters."""
    return {info.path: {**dict(info.attributes), "parameters": tuple(name for name, _, _ in info.param_numels)}
            for info in trace.modules}


def _same_setting(a, b) -> bool:
    """``2`` and ``(2, 2)`` are one setting: torch keeps a pooling layer's int as given, a conv's as a tuple."""
    def spread(value, other):
        plain_int = isinstance(value, int) and not isinstance(value, bool)
        return (value,) * len(other) if plain_int and isinstance(other, tuple) else value
    return spread(a, b) == spread(b, a)


def _differences(a: dict, b: dict, a_details: dict, b_details: dict) -> list[dict]:
    """Figures and attributes that differ; between two types, only the attributes both have."""
    found = [{"field": field, "a": a[field], "b": b[field]} for field in LAYER_FIELDS if a[field] != b[field]]
    names = set(a_details) | set(b_details) if a["type"] == b["type"] else set(a_details) & set(b_details)
    for field in sorted(names, key=lambda name: (name == "parameters", name)):
        if not _same_setting(a_details.get(field), b_details.get(field)):
            found.append({"field": field, "a": a_details.get(field), "b": b_details.get(field)})
    return found


def _kind(pair: dict) -> tuple:
    """What a changed pair's change is, for grouping: its types and the names of the attributes that
    differ; values and figures (shapes, params, mult-adds) vary from layer to layer and are listed."""
    return pair["a"]["type"], pair["b"]["type"], tuple(
        item["field"] for item in pair["differences"] if item["field"] not in LAYER_FIELDS)


def _layer(row: dict, details: dict) -> dict:
    return {"path": row["path"], "call": row["call"], "type": row["type"], "output_shapes": row["output_shapes"],
            "params": row["params"], "mult_adds": row["mult_adds"],
            "attributes": {key: value for key, value in details.items() if key != "parameters"},
            "parameters": list(details.get("parameters", ()))}


def model_diff(a: tuple[str, Trace, list[dict], dict], b: tuple[str, Trace, list[dict], dict]) -> dict:
    """The ``archscope diff --format json`` document of two models, each given as (name, trace, rows, totals).

    The calls that hold the figures (``_units``) are aligned by path, then by type and output shape, then by
    type; pairs that differ are grouped by what differs (``changes``), unpaired calls by type
    (``only``); the top-level calls (``blocks``) are aligned the same way, so a reader sees which
    stage holds the difference.
    """
    (a_name, a_trace, a_rows, a_totals), (b_name, b_trace, b_rows, b_totals) = a, b
    a_details, b_details = _details(a_trace), _details(b_trace)
    a_units, b_units = _units(a_rows), _units(b_rows)
    pairs = align(a_units, b_units, MODEL_KEYS)
    layers = []
    for row_a, row_b, matched_by in pairs:
        layers.append({
            "a": row_a and _layer(row_a, a_details.get(row_a["path"], {})),
            "b": row_b and _layer(row_b, b_details.get(row_b["path"], {})),
            "matched_by": matched_by,
            "differences": _differences(row_a, row_b, a_details.get(row_a["path"], {}),
                                        b_details.get(row_b["path"], {})) if matched_by else [],
        })
    groups: dict[tuple, list[int]] = {}
    only: dict[tuple, list[int]] = {}
    for number, pair in enumerate(layers):
        if pair["differences"]:
            groups.setdefault(_kind(pair), []).append(number)
        elif not pair["matched_by"]:
            side = "a" if pair["a"] else "b"
            only.setdefault((side, pair[side]["type"]), []).append(number)
    changes = [_change(layers, members) for members in groups.values()]
    types = Counter((side, row["type"]) for side, rows in (("a", a_units), ("b", b_units)) for row in rows)
    blocks = align([row for row in a_rows if row["depth"] == 1], [row for row in b_rows if row["depth"] == 1], BLOCK_KEYS)
    return {
        "models": [a_name, b_name],
        "inputs": [[list(spec.shape) for spec in trace.inputs] for trace in (a_trace, b_trace)],
        "totals": compare_totals(a_totals, b_totals),
        "counts": {
            "a_layers": len(a_units),
            "b_layers": len(b_units),
            "matched_by_path": sum(1 for pair in layers if pair["matched_by"] == "path"),
            "matched_by_structure": sum(1 for pair in layers if pair["matched_by"] == "structure"),
            "changed": sum(1 for pair in layers if pair["differences"]),
            "only_a": sum(1 for pair in layers if pair["a"] and not pair["b"]),
            "only_b": sum(1 for pair in layers if pair["b"] and not pair["a"]),
        },
        "types": [{"type": name, "a": types[("a", name)], "b": types[("b", name)]}
                  for name in sorted({name for _, name in types})],
        "changes": changes,
        "only": [_only(layers, side, name, members) for (side, name), members in only.items()],
        "blocks": [{"a": row_a and _block(row_a), "b": row_b and _block(row_b), "matched_by": matched_by}
                   for row_a, row_b, matched_by in blocks],
        "layers": layers,
    }


def _block(row: dict) -> dict:
    return {key: row[key] for key in CALL_KEYS}


def _only(layers: list[dict], side: str, name: str, numbers: list[int]) -> dict:
    """Calls of one type with no counterpart on the other side: where they are (``layers`` indices)."""
    rows = [layers[number][side] for number in numbers]
    return {"side": side, "type": name, "count": len(rows), "layers": numbers, "paths": [row["path"] for row in rows],
            "params": sum(row["params"] for row in rows if row["call"] == 0),
            "mult_adds": sum(row["mult_adds"] for row in rows)}


def _change(layers: list[dict], numbers: list[int]) -> dict:
    """One group of changed pairs (``layers`` indices): each differing attribute with its distinct
    (a, b) values in order of appearance, the figures that differ, and their sums on each side."""
    members = [layers[number] for number in numbers]
    first = members[0]
    fields = []
    for name in _kind(first)[2]:
        values = []
        for pair in members:
            item = next(item for item in pair["differences"] if item["field"] == name)
            if [item["a"], item["b"]] not in values:
                values.append([item["a"], item["b"]])
        fields.append({"field": name, "values": values})
    figures = sorted({item["field"] for pair in members for item in pair["differences"]
                      if item["field"] in LAYER_FIELDS and item["field"] != "type"}, key=LAYER_FIELDS.index)
    return {
        "type_a": first["a"]["type"], "type_b": first["b"]["type"], "count": len(members),
        "fields": fields, "figures": figures, "layers": numbers,
        "paths": [[pair["a"]["path"], pair["b"]["path"]] for pair in members],
        # a module's parameters once, however often it is called
        "params": [sum(pair[side]["params"] for pair in members if pair[side]["call"] == 0) for side in "ab"],
        "mult_adds": [sum(pair[side]["mult_adds"] for pair in members) for side in "ab"],
    }


def lock_drift(locked: dict, fresh: dict) -> dict:
    """How a fresh lock document differs from a committed one: calls added, removed (paired by path
    and call only: a renamed layer is one of each) and changed, and totals that moved."""
    pairs = align(locked["layers"], fresh["layers"], (("path", by_path),))
    changed = []
    for old, new, matched in pairs:
        if matched:
            fields = [{"field": field, "a": old[field], "b": new[field]} for field in LAYER_FIELDS if old[field] != new[field]]
            if fields:
                changed.append({"path": old["path"], "call": old["call"], "type": new["type"], "differences": fields})
    keys = [key for key in locked["totals"] if key in fresh["totals"]]
    totals = [row for row in compare_totals(locked["totals"], fresh["totals"], keys) if row["delta"]]
    added = [new for old, new, _ in pairs if old is None]
    removed = [old for old, new, _ in pairs if new is None]
    header = [{"field": key, "a": locked[key], "b": fresh[key]} for key in ("model", "input", "mode")
              if locked[key] != fresh[key]]
    return {"equal": not (header or changed or totals or added or removed), "header": header, "totals": totals,
            "added": added, "removed": removed, "changed": changed}


__all__ = ["align", "compare_totals", "lock_drift", "model_diff"]
