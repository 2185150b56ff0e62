"""The classifier head against the alternative, and the auxiliary heads' share of the model.

Network in Network's argument (004 §1.2): global average pooling maps the last feature map to one
value per channel, so the classifier after it holds C × classes weights, where a fully connected
layer over the flattened map would hold C·H·W × classes. The classifier found on the main path is
compared with that alternative (and a model that flattens its map, VGG, with pooling first).

Auxiliary heads are the ops that depend on the input and feed only outputs other than the main one
(``DataFlow.side``); modules that hold parameters and did not run at all (torchvision's heads in eval
mode) are listed apart: both disappear at inference.
"""

from __future__ import annotations

from math import prod

from archscope.analysis.dataflow import DataFlow
from archscope.analysis.receptive import GLOBAL, LINEAR_OPS, Field

_BIASED = "aten.addmm."


def _linear(op) -> tuple[int, int, bool]:
    """(in_features, out_features, has bias) of a linear op on its last dimension."""
    return op.input_shapes[1 if op.op.startswith(_BIASED) else 0][-1], op.output_shapes[0][-1], op.op.startswith(_BIASED)


def classifier(flow: DataFlow, found: dict) -> dict | None:
    """The step where the main path stops being a map: global pooling or a linear layer over it."""
    main = [op for op in flow.ops if op.index in flow.live and any(t in flow.main_path for t in op.outputs)]
    last_map = None
    for position, op in enumerate(main):
        before = next((found.get(t) for t in op.inputs if t in found), None)
        after = found.get(op.outputs[0]) if op.outputs else None
        if isinstance(before, Field) and op.input_shapes and len(op.input_shapes[0]) >= 3:
            last_map = op.input_shapes[0]
        if not isinstance(before, Field) or after != GLOBAL or last_map is None:
            continue
        channels, positions = last_map[1], prod(last_map[2:])
        layers = [other for other in main[position:] if other.op.startswith(LINEAR_OPS)]
        if op.op.startswith(LINEAR_OPS):  # a linear layer over the flattened map (VGG, AlexNet)
            kind, (features, out, bias) = "flatten", _linear(op)
            alternative_features = channels
        else:  # global pooling, then the classifier
            kind = "global pool"
            features, out, bias = _linear(layers[0]) if layers else (channels, channels, False)
            alternative_features = channels * positions
        params = features * out + (out if bias else 0) if layers else 0
        alternative = alternative_features * out + (out if bias else 0)
        return {
            "kind": kind,
            "map": list(last_map[1:]),
            "at": flow.calls[op.layer].path if op.layer >= 0 else "",
            "layer": flow.calls[layers[0].layer].path if layers else None,
            "out_features": out,
            "params": params,
            "alternative": "global pool" if kind == "flatten" else "flatten",
            "alternative_params": alternative,
            "head_params": sum(_linear(l)[0] * _linear(l)[1] + (_linear(l)[1] if _linear(l)[2] else 0)
                               for l in layers),
        }
    return None


def _subtree_calls(flow: DataFlow, ops: set[int]) -> list:
    """The outermost calls whose every op that depends on the input is in ``ops``."""
    inside = {}
    for call in flow.calls[1:]:
        mine = [op.index for op in flow.subtree_ops(call) if op.index in flow.from_inputs]
        inside[call.index] = bool(mine) and all(index in ops for index in mine)
    return [call for call in flow.calls[1:] if inside[call.index] and not inside.get(call.parent, False)]


# Modules whose children their forward uses through functions, not calls (out_proj's weights).
_CALLS_CHILDREN_FUNCTIONALLY = {"MultiheadAttention"}


def _not_run(flow: DataFlow) -> list[dict]:
    """The outermost modules with parameters of which nothing ran: not they, nor any module inside
    them (a ``ModuleList`` is never called itself, its children are)."""
    called = {call.path for call in flow.calls}
    ran = called | {path.rpartition(".")[0] for path in called}
    for path in list(ran):
        while path:
            path = path.rpartition(".")[0]
            ran.add(path)
    types = {info.path: info.type for info in flow.trace.modules}
    found = []
    for info in flow.trace.modules:
        parent = info.path.rpartition(".")[0]
        if (info.path and info.params and info.path not in ran and parent in ran
                and types.get(parent) not in _CALLS_CHILDREN_FUNCTIONALLY):
            found.append({"path": info.path, "type": info.type, "params": info.params})
    return found


def heads(flow: DataFlow, rows: list[dict], totals: dict, found: dict) -> dict:
    """``{"classifier", "auxiliary", "unused", ...}`` with each head's parameters and mult-adds."""
    by_index = {row["index"]: row for row in rows}
    main_output = {call.outputs[0].tensor_id: call.path for call in flow.main_calls if call.outputs}
    auxiliary = []
    for call in _subtree_calls(flow, flow.side):
        source = next((main_output[s.tensor_id] for s in call.inputs if s.tensor_id in main_output), None)
        row = by_index[call.index]
        auxiliary.append({"path": call.path, "type": call.type, "from": source,
                          "params": row["params"] if call.call == 0 else 0, "mult_adds": row["mult_adds"]})
    unused = _not_run(flow)
    side_params = sum(head["params"] for head in auxiliary) + sum(module["params"] for module in unused)
    side_mult_adds = sum(head["mult_adds"] for head in auxiliary)
    params, mult_adds = totals["params"], totals["mult_adds"]
    return {
        "classifier": classifier(flow, found),
        "auxiliary": auxiliary,
        "unused": unused,
        "side_params": side_params,
        "side_mult_adds": side_mult_adds,
        "side_params_share": side_params / params if params else 0.0,
        "side_mult_adds_share": side_mult_adds / mult_adds if mult_adds else 0.0,
        "inference_params": params - side_params,
        "inference_mult_adds": mult_adds - side_mult_adds,
    }


def head_rows(found: dict, params: int) -> list[dict]:
    """``heads(...)`` as rows: the classifier, each auxiliary head, each module that did not run."""
    rows = []
    if found["classifier"]:
        head = found["classifier"]
        rows.append({"head": "classifier", "path": head["layer"] or head["at"], "kind": head["kind"],
                     "params": head["params"], "mult_adds": None, "alternative": head["alternative"],
                     "alternative_params": head["alternative_params"]})
    for head in found["auxiliary"]:
        rows.append({"head": "auxiliary", "path": head["path"], "kind": f"side head from {head['from']}",
                     "params": head["params"], "mult_adds": head["mult_adds"], "alternative": None,
                     "alternative_params": None})
    for module in found["unused"]:
        rows.append({"head": "did not run", "path": module["path"], "kind": module["type"],
                     "params": module["params"], "mult_adds": 0, "alternative": None, "alternative_params": None})
    for row in rows:
        row["params_share"] = row["params"] / params if params else 0.0
    return rows
