"""Series along the network, in call order: what the report's line charts and the zoo table show."""

from __future__ import annotations

from archscope.records import Trace
from archscope.units import Category


def weighted_depth(trace: Trace) -> int:
    """Convolution, linear and matmul ops on the longest path from an input to an output, followed
    through the tensors each op consumes and produces: the "22 layers deep" of the GoogLeNet paper."""
    depth: dict[int, int] = {}
    deepest = 0
    for op in trace.ops:
        reached = max((depth.get(tensor, 0) for tensor in op.inputs), default=0)
        reached += op.category == Category.CONV_LINEAR.value and op.mult_adds > 0
        for tensor in op.outputs:
            depth[tensor] = reached
        deepest = max(deepest, reached)
    return deepest


def leaf_profile(rows: list[dict]) -> list[dict]:
    """Each leaf call with the size of its output and the mult-adds run up to and including it."""
    profile, running = [], 0
    for row in rows:
        if not row["is_leaf"]:
            continue
        running += row["mult_adds"]
        profile.append({"path": row["path"], "type": row["type"], "output_bytes": row["output_bytes"],
                        "cumulative_mult_adds": running})
    return profile
