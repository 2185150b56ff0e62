"""The stage table: the network at the level a reader thinks in, one row per stage.

Stages are the calls directly under the model (containers such as ``nn.Sequential`` opened up);
consecutive stages that are the same block repeated collapse into one row with a count, as the
papers draw them ("Inception-ResNet-A ×5"). A stage that concatenates the results of several
branches is an Inception block: each branch is found by following the data flow back from the
concatenation's inputs to the block's input, so the table reads the real wiring, not the names.

When every Inception block has the four branches of the 2014 paper (1×1 | 1×1→conv | 1×1→conv |
pool→1×1), the table takes the layout of that paper's Table 1, columns ``#1×1 … pool proj``, and a
lone 1×1 convolution followed by a convolution is one row, as Table 1 prints "conv 3×3, #3×3 reduce 64".
"""

from __future__ import annotations

from archscope.analysis.dataflow import DataFlow
from archscope.records import LayerCall

# Words of the papers' tables for torch's layers; any other class keeps its own name.
KINDS = {
    "Conv1d": "convolution", "Conv2d": "convolution", "Conv3d": "convolution",
    "MaxPool1d": "max pool", "MaxPool2d": "max pool", "MaxPool3d": "max pool",
    "AdaptiveMaxPool2d": "max pool",
    "AvgPool1d": "avg pool", "AvgPool2d": "avg pool", "AvgPool3d": "avg pool",
    "AdaptiveAvgPool1d": "avg pool", "AdaptiveAvgPool2d": "avg pool", "AdaptiveAvgPool3d": "avg pool",
    "Linear": "linear", "Dropout": "dropout", "Dropout2d": "dropout", "LocalResponseNorm": "LRN",
    "BatchNorm1d": "batch norm", "BatchNorm2d": "batch norm", "Softmax": "softmax", "LogSoftmax": "softmax",
    "ReLU": "ReLU", "Flatten": "flatten", "Identity": "identity",
}
# Layers a table mentions inside the row before them ("convolution + ReLU"), as papers' tables do:
# those that keep the shape before repeated rows collapse, reshapes after (they differ the last block).
ELEMENTWISE_KINDS = {"ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "batch norm", "identity"}
RESHAPE_KINDS = {"flatten"}
WEIGHTED = {"convolution", "linear"}  # what Table 1's "depth" counts
SHAPING = WEIGHTED | {"max pool", "avg pool"}  # the layers a branch is described by
CONTAINERS = {"Sequential", "ModuleList", "ModuleDict"}
POOL_OPS = {"max_pool": "max pool", "avg_pool": "avg pool"}  # functional pools inside a block's forward
SUMMED = ("params", "mult_adds", "flops")  # what a row that stands for several stages adds up
V1_COLUMNS = ("ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")


def _per_dimension(value, dimensions: int) -> list[int] | None:
    """A kernel or stride as one size per spatial dimension (a pool's ``3`` is 3×3 on images)."""
    if value is None:
        return None
    return list(value) if isinstance(value, (tuple, list)) else [value] * max(dimensions, 1)


def _kind(type_name: str) -> str:
    return KINDS.get(type_name, type_name)


class _Calls:
    """The call tree (``DataFlow``'s) and each module's attributes, for walking a stage's branches."""

    def __init__(self, flow: DataFlow) -> None:
        self.trace = flow.trace
        self.children = flow.children
        self.own_ops = flow.own_ops
        self.attributes = {info.path: dict(info.attributes) for info in flow.trace.modules}

    def leaves(self, layer: LayerCall) -> list[LayerCall]:
        below = self.children.get(layer.index)
        if not below:
            return [layer]
        return [leaf for child in below for leaf in self.leaves(child)]

    def element(self, layer: LayerCall) -> dict:
        attributes = self.attributes.get(layer.path, {})
        out = layer.outputs[0].shape if layer.outputs else ()
        return {
            "kind": _kind(layer.type),
            "kernel": _per_dimension(attributes.get("kernel_size"), len(out) - 2),
            "stride": _per_dimension(attributes.get("stride"), len(out) - 2),
            "channels": out[1] if len(out) > 1 else None,
        }

    def elements(self, layer: LayerCall) -> list[dict]:
        """The convolutions, linears and pools a call runs, in call order."""
        return [found for leaf in self.leaves(layer) if (found := self.element(leaf))["kind"] in SHAPING]

    def branches(self, stage: LayerCall) -> list[list[dict]]:
        """For a stage whose own forward concatenates several tensors: one list of elements per input
        of its last concatenation, traced back to the stage's input (through a concatenation inside a
        branch, along its first input). Empty for any other stage."""
        cats = [op for op in self.own_ops.get(stage.index, []) if op.op.startswith("aten.cat") and len(op.inputs) > 1]
        if not cats:
            return []
        producers: dict[int, tuple[str, object]] = {}
        for child in self.children.get(stage.index, []):
            producers.update((spec.tensor_id, ("call", child)) for spec in child.outputs)
        for op in self.own_ops.get(stage.index, []):
            producers.update((tensor, ("op", op)) for tensor in op.outputs)
        start = {spec.tensor_id for spec in stage.inputs}
        return [self._walk_back(tensor, producers, start) for tensor in cats[-1].inputs]  # the outermost

    def _walk_back(self, tensor: int, producers: dict, start: set[int]) -> list[dict]:
        found: list[list[dict]] = []
        seen: set[int] = set()
        while tensor not in start and tensor in producers and tensor not in seen:
            seen.add(tensor)
            what, producer = producers[tensor]
            if what == "call":
                found.append(self.elements(producer))
                inputs = [spec.tensor_id for spec in producer.inputs]
            else:
                pool = next((kind for prefix, kind in POOL_OPS.items() if prefix in producer.op), None)
                if pool:
                    found.append([{"kind": pool, "kernel": None, "stride": None, "channels": None}])
                inputs = list(producer.inputs)
            tensor = next((t for t in inputs if t in producers or t in start), -1)
        return [element for group in reversed(found) for element in group]


def _stages(calls: _Calls, layer: LayerCall) -> list[LayerCall]:
    if layer.type in CONTAINERS and calls.children.get(layer.index):
        return [stage for child in calls.children[layer.index] for stage in _stages(calls, child)]
    return [layer]


def _is_1x1(element: dict) -> bool:
    return element["kind"] == "convolution" and element["kernel"] == [1, 1]


def _v1_columns(branches: list[list[dict]]) -> dict | None:
    """The six channel columns of Table 1, or None when the block is not of that shape."""
    if len(branches) != 4:
        return None
    single, three, five, pool = branches
    convs = [len(b) == 2 and _is_1x1(b[0]) and b[1]["kind"] == "convolution" for b in (three, five)]
    if not (len(single) == 1 and _is_1x1(single[0]) and all(convs)
            and len(pool) == 2 and pool[0]["kind"] == "max pool" and _is_1x1(pool[1])):
        return None
    channels = (single[0], three[0], three[1], five[0], five[1], pool[1])
    columns = {name: element["channels"] for name, element in zip(V1_COLUMNS, channels)}
    # a column named for a 3x3 or 5x5 holding another kernel (torchvision's 3x3 in the "5x5" branch)
    columns["kernels"] = {"ch3x3": three[1]["kernel"], "ch5x5": five[1]["kernel"]}
    return columns


def _row(calls: _Calls, stage: LayerCall, row: dict, side: bool) -> dict:
    branches = calls.branches(stage)
    elements = calls.elements(stage)
    main = elements[0] if elements else calls.element(stage)
    weighted = [e for e in elements if e["kind"] in WEIGHTED]
    # a residual block adds two tensors in its own forward: x + f(x), or shortcut(x) + f(x)
    residual = any(op.op.startswith("aten.add") and len(op.inputs) > 1 for op in calls.own_ops.get(stage.index, []))
    if branches:
        kind = "inception + residual" if residual else "inception"
        depth = max(sum(e["kind"] in WEIGHTED for e in b) for b in branches)
    elif len(weighted) > 1:
        kind, depth = "residual block" if residual else stage.type, len(weighted)
    else:
        kind, depth = main["kind"] if elements else _kind(stage.type), len(weighted)
    return {
        "name": stage.path,
        "type": stage.type,
        "kind": kind,
        "kernel": main["kernel"] if not branches else None,
        "stride": main["stride"] if not branches else None,
        "output_shape": list(stage.outputs[0].shape) if stage.outputs else None,
        "depth": depth,
        "branches": branches,
        "params": row["params"] if stage.call == 0 else 0,
        "mult_adds": row["mult_adds"],
        "flops": row["flops"],
        "repeat": 1,
        "folded": [],
        "side_branch": side,  # its result feeds no later stage: an auxiliary head
    }


def _absorb(last: dict, row: dict) -> None:
    for key in SUMMED:
        last[key] += row[key]


def _fold(rows: list[dict], kinds: set[str]) -> list[dict]:
    """Stages of ``kinds`` (activations, batch norms, reshapes) join the row before them."""
    folded: list[dict] = []
    for row in rows:
        if folded and row["kind"] in kinds and not row["branches"]:
            last = folded[-1]
            last["folded"].append(row["kind"])
            last["output_shape"] = row["output_shape"]
            _absorb(last, row)
            continue
        folded.append(dict(row, folded=list(row["folded"])))
    return folded


def _collapse(rows: list[dict]) -> list[dict]:
    """Consecutive calls of identical weighted stages become one row "× n" with summed cost."""
    collapsed: list[dict] = []
    for row in rows:
        last = collapsed[-1] if collapsed else None
        if last is not None and _repeats(last, row):
            last["repeat"] += 1
            last["name"] = f"{last['name'].split(' … ')[0]} … {row['name']}"
            _absorb(last, row)
            continue
        collapsed.append(dict(row))
    return collapsed


def _repeats(last: dict, row: dict) -> bool:
    keys = ("type", "kind", "output_shape", "depth", "branches", "folded", "side_branch")
    if last["depth"] < 1 or any(last[key] != row[key] for key in keys):
        return False
    return all(last[key] == row[key] * last["repeat"] for key in SUMMED)  # FLOPs tell a missing ReLU


def _merge_reduce_rows(rows: list[dict]) -> list[dict]:
    """Table 1's "convolution 3×3, #3×3 reduce": a lone 1×1 convolution and the convolution after it."""
    merged: list[dict] = []
    for row in rows:
        last = merged[-1] if merged else None
        if (last is not None and last["kind"] == "convolution" and row["kind"] == "convolution"
                and last["depth"] == 1 and row["depth"] == 1 and last["kernel"] == [1, 1]
                and row["kernel"] != [1, 1]):
            merged[-1] = {
                **row,
                "name": f"{last['name']}, {row['name']}",
                "depth": 2,
                "ch3x3red": last["output_shape"][1],
                "ch3x3": row["output_shape"][1],
                **{key: last[key] + row[key] for key in SUMMED},
            }
            continue
        merged.append(row)
    return merged


def stage_table(flow: DataFlow, rows: list[dict]) -> dict:
    """``{"layout": "inception-v1" | "stages", "rows": [...]}``; numbers only, formatting is render's."""
    trace = flow.trace
    calls = _Calls(flow)
    root = trace.layers[0]
    by_index = {row["index"]: row for row in rows}
    batch = trace.inputs[0].shape[0] if trace.inputs and trace.inputs[0].shape else 1
    stages = [root] if calls.branches(root) or root.index not in calls.children else [
        stage for child in calls.children[root.index] for stage in _stages(calls, child)]
    # tensors used later: by a later stage, or by the model's own forward (a flatten between stages)
    consumed = {tensor for op in calls.own_ops.get(root.index, []) for tensor in op.inputs}
    side: dict[int, bool] = {}
    for stage in reversed(stages):
        side[stage.index] = stage is not stages[-1] and not {spec.tensor_id for spec in stage.outputs} & consumed
        consumed |= {spec.tensor_id for spec in stage.inputs}
    table = [_row(calls, stage, by_index[stage.index], side[stage.index]) for stage in stages]
    table = _fold(_collapse(_fold(table, ELEMENTWISE_KINDS)), RESHAPE_KINDS)
    layout = "stages"
    blocks = [row for row in table if row["branches"]]
    columns = [_v1_columns(row["branches"]) for row in blocks]
    if blocks and all(columns):
        for row, found in zip(blocks, columns):
            row.update(found)
        layout, table = "inception-v1", _merge_reduce_rows(table)
    for row in table:  # what Table 1 calls "ops": per image, when the batch divides the count
        row["mult_adds_per_sample"] = row["mult_adds"] // batch if row["mult_adds"] % batch == 0 else None
    return {"layout": layout, "rows": table}
