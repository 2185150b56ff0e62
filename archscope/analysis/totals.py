"""Per-call rows and model totals, computed from a Trace alone (no model, no torch).

Inclusive figures of a call add up its own ops and those of every call nested in it; ``self_*``
figures are the call's own. Memory follows torchinfo's four figures exactly (see ``memory``).
"""

from __future__ import annotations

from collections import defaultdict

from archscope.records import Trace
from archscope.units import Category

CATEGORIES = [category.value for category in Category]


def _ancestors(trace: Trace) -> list[list[int]]:
    chains: list[list[int]] = []
    for layer in trace.layers:  # a parent is always recorded before its children
        chains.append([layer.index] + (chains[layer.parent] if layer.parent is not None else []))
    return chains


def layer_rows(trace: Trace) -> list[dict]:
    """One JSON-ready row per module call, in call order."""
    modules = {info.path: info for info in trace.modules}
    chains = _ancestors(trace)
    inclusive = [defaultdict(int) for _ in trace.layers]
    own = [defaultdict(int) for _ in trace.layers]
    for op in trace.ops:
        if op.layer < 0:
            continue
        own[op.layer]["mult_adds"] += op.mult_adds
        own[op.layer]["flops"] += op.flops
        for index in chains[op.layer]:
            sums = inclusive[index]
            sums["mult_adds"] += op.mult_adds
            sums["flops"] += op.flops
            if op.category:  # an uncounted op has no FLOPs to file; uncounted() lists it
                sums[f"flops_{op.category}"] += op.flops
    rows = []
    for layer in trace.layers:
        info = modules.get(layer.path)
        sums = inclusive[layer.index]
        rows.append({
            "index": layer.index,
            "path": layer.path,
            "type": layer.type,
            "depth": layer.depth,
            "call": layer.call,
            "parent": layer.parent,
            "is_leaf": info.is_leaf if info else True,
            "input_shapes": [list(spec.shape) for spec in layer.inputs],
            "input_dtypes": [spec.dtype for spec in layer.inputs],
            "output_shape": list(layer.outputs[0].shape) if layer.outputs else None,
            "output_shapes": [list(spec.shape) for spec in layer.outputs],
            "output_dtypes": [spec.dtype for spec in layer.outputs],
            "output_bytes": sum(spec.nbytes for spec in layer.outputs),
            "params": info.params if info else 0,
            "self_params": info.self_params if info else 0,
            "trainable_params": info.trainable_params if info else 0,
            "frozen_params": info.frozen_params if info else 0,
            "buffers": info.buffers if info else 0,
            "mult_adds": sums["mult_adds"],
            "self_mult_adds": own[layer.index]["mult_adds"],
            "flops": sums["flops"],
            "self_flops": own[layer.index]["flops"],
            **{f"flops_{category}": sums[f"flops_{category}"] for category in CATEGORIES},
            "input_ids": [spec.tensor_id for spec in layer.inputs],
            "output_ids": [spec.tensor_id for spec in layer.outputs],
        })
    return rows


def flops_by_category(trace: Trace) -> dict[str, int]:
    sums = dict.fromkeys(CATEGORIES, 0)
    for op in trace.ops:
        if op.category is not None:
            sums[op.category] += op.flops
    return sums


def uncounted(trace: Trace) -> list[dict]:
    """Ops archscope has no formula for: never a silent zero, always listed with where they ran."""
    paths = {layer.index: layer.path for layer in trace.layers}
    found: dict[str, dict] = {}
    for op in trace.ops:
        if op.category is None:
            entry = found.setdefault(op.op, {"op": op.op, "calls": 0, "layers": []})
            entry["calls"] += 1
            path = paths.get(op.layer, "")
            if path not in entry["layers"]:
                entry["layers"].append(path)
    return sorted(found.values(), key=lambda entry: entry["op"])


def memory(trace: Trace, rows: list[dict]) -> dict[str, int]:
    """torchinfo's four memory figures, in bytes.

    Forward/backward pass size is torchinfo's estimate: twice (output and its gradient) the first
    output tensor of every call of a leaf module that holds parameters. Params size, like torchinfo's,
    is the parameters of the leaf modules that ran (an auxiliary head skipped in eval adds nothing),
    except that a tensor shared by two of them counts once.
    """
    input_bytes = sum(spec.nbytes for spec in trace.inputs)
    first_output = {layer.index: layer.outputs[0].nbytes for layer in trace.layers if layer.outputs}
    forward_backward = 2 * sum(
        first_output.get(row["index"], 0) for row in rows if row["is_leaf"] and row["params"] > 0
    )
    ran = {layer.path for layer in trace.layers}
    params_bytes = sum(info.own_params_bytes for info in trace.modules if info.is_leaf and info.path in ran)
    return {
        "input_bytes": input_bytes,
        "forward_backward_bytes": forward_backward,
        "params_bytes": params_bytes,
        "total_bytes": input_bytes + forward_backward + params_bytes,
    }


def totals(trace: Trace, rows: list[dict]) -> dict[str, int]:
    root = trace.modules[0]
    return {
        "params": root.params,
        "trainable_params": root.trainable_params,
        "frozen_params": root.frozen_params,
        "buffers": root.buffers,
        "mult_adds": sum(op.mult_adds for op in trace.ops),
        "flops": sum(op.flops for op in trace.ops),
        **memory(trace, rows),
    }


def shown_params(row: dict, depth: int) -> int | None:
    """The Param # torchinfo shows for ``row`` in a table cut at ``depth``: the call's whole subtree at
    the cut or on a leaf, its own parameters above the cut (so each column adds up to the total);
    None for a later call of a module with parameters, which torchinfo shows as "(recursive)"."""
    if row["call"] > 0 and row["params"]:
        return None
    return row["params"] if row["depth"] == depth or row["is_leaf"] else row["self_params"]
