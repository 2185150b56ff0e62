"""What Inception's design saves, in the model's own numbers: 1×1 bottlenecks, pool projections and
factorized convolutions, each against the single convolution it stands in for.

Everything is found in the traced data flow (``DataFlow``), not in module names:

- a **bottleneck** is a 1×1 convolution that reduces channels and whose result, through batch norm
  and activations only, feeds nothing but convolutions with a larger kernel (Inception: 1×1 → k×k);
  when that k×k result feeds, the same way, one 1×1 convolution that expands channels again, it is
  ResNet's 1×1 → 3×3 → 1×1. Compared with one k×k convolution from the block's input channels to
  the path's output channels, at the same output size.
- a **pool projection** is a same-size pooling followed by a 1×1 convolution (Inception's fourth
  branch), compared with passing the pooled input through: the channels it keeps out of the block.
- a **factorization** is a convolution followed only by another (neither 1×1, the first of stride 1),
  compared with the single kernel covering the same window: two 3×3 for a 5×5, 1×n and n×1 for an
  n×n; or a 1×n and an n×1 side by side on one input (Inception-v3's 8×8 blocks), compared with an n×n
  giving both outputs.

Weights are convolution weights (biases and batch norm apart); mult-adds follow archscope's
convention, at the analysed input (batch included).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from archscope.analysis.dataflow import CONVOLUTION, DataFlow
from archscope.records import LayerCall, OpCall

ONE_NINTH = 1 / 9  # 002_d688ab58815c14bf.txt: the bottleneck version has "only 1/9 of the parameters"
SUMMED = ("direct_weights", "actual_weights", "direct_mult_adds", "actual_mult_adds")


@dataclass(frozen=True)
class Conv:
    op: OpCall
    c_in: int
    c_out: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    groups: int
    output_size: tuple[int, ...]  # spatial
    batch: int

    @property
    def weights(self) -> int:
        return prod(self.kernel) * self.c_in * self.c_out // self.groups

    @property
    def is_1x1(self) -> bool:
        return all(size == 1 for size in self.kernel)

    def single(self, kernel: tuple[int, ...], c_in: int, c_out: int) -> tuple[int, int]:
        """Weights and mult-adds of one ``kernel`` convolution ``c_in`` → ``c_out`` at this output size."""
        weights = prod(kernel) * c_in * c_out
        return weights, weights * self.batch * prod(self.output_size)


def conv_of(op: OpCall | None) -> Conv | None:
    """The convolution an op is, when it is an ordinary one (not transposed, grouped or dilated: a
    dilated kernel covers more than its size, so it factorizes no kernel of that size)."""
    if op is None or not op.op.startswith(CONVOLUTION) or len(op.input_shapes) < 2:
        return None
    arguments = dict(op.arguments)
    groups = arguments.get("groups", 1)
    dilated = any(step != 1 for step in arguments.get("dilation", ()))
    if arguments.get("transposed") or groups != 1 or dilated:
        return None
    x, weight, out = op.input_shapes[0], op.input_shapes[1], op.output_shapes[0]
    return Conv(op, x[1], out[1], tuple(weight[2:]), tuple(arguments.get("stride", ())), groups,
                tuple(out[2:]), x[0])


class _Naming:
    """Where a finding sits: the block whose concatenation or addition it feeds, and its branch."""

    def __init__(self, flow: DataFlow) -> None:
        self.flow = flow

    def call(self, op: OpCall) -> LayerCall:
        return self.flow.calls[op.layer] if op.layer >= 0 else self.flow.calls[0]

    def _common(self, calls: list[LayerCall]) -> LayerCall:
        common = calls[0]
        for call in calls[1:]:
            while not self.flow.is_within(call, common):
                common = self.flow.calls[common.parent]
        return common

    def block(self, ops: list[OpCall]) -> LayerCall:
        merge = self.flow.merge_after(ops[-1].outputs[0])
        if merge is not None:
            return self.call(merge)
        found = self._common([self.call(op) for op in ops])
        return self.flow.calls[found.parent] if found.parent is not None and len(ops) == 1 else found

    @staticmethod
    def relative(path: str, block: LayerCall) -> str:
        return path[len(block.path) + 1:] if block.path and path.startswith(block.path + ".") else path

    def where(self, ops: list[OpCall]) -> dict:
        """Block, branch (the block's children the ops run in) and each op's module path; an op of
        the block's own ``forward`` (``F.avg_pool2d``) is named by its function."""
        block = self.block(ops)
        inside = [op for op in ops if self.call(op).index != block.index]
        heads = list(dict.fromkeys(self.relative(self.call(op).path, block).split(".")[0] for op in inside))
        paths = [self.call(op).path if op in inside else f"{block.path}:{op.op.split('.')[1]}".lstrip(":")
                 for op in ops]
        return {"block": block.path, "branch": " → ".join(heads), "paths": paths}


def _ratios(row: dict) -> dict:
    row["weights_ratio"] = row["actual_weights"] / row["direct_weights"] if row["direct_weights"] else None
    row["mult_adds_ratio"] = row["actual_mult_adds"] / row["direct_mult_adds"] if row["direct_mult_adds"] else None
    row["saved_weights"] = row["direct_weights"] - row["actual_weights"]
    row["saved_mult_adds"] = row["direct_mult_adds"] - row["actual_mult_adds"]
    return row


def _subtotals(rows: list[dict]) -> tuple[list[dict], dict]:
    blocks: dict[str, dict] = {}
    for row in rows:
        block = blocks.setdefault(row["block"], {"block": row["block"], "paths": 0, **dict.fromkeys(SUMMED, 0)})
        block["paths"] += 1
        for key in SUMMED:
            block[key] += row[key]
    total = {"block": None, "paths": len(rows), **{key: sum(row[key] for row in rows) for key in SUMMED}}
    return [_ratios(block) for block in blocks.values()], _ratios(total)


def _convs_fed_by(flow: DataFlow, tensor: int) -> list[Conv] | None:
    """The convolutions that alone consume ``tensor`` (through pass-throughs), or None."""
    end = flow.forward_through(tensor)
    consumers = flow.consumers.get(end, [])
    convs = [conv_of(op) for op in consumers]
    if not consumers or end in flow.outputs or any(conv is None or conv.op.inputs[0] != end for conv in convs):
        return None
    return convs


def bottlenecks(flow: DataFlow) -> dict:
    """``{"rows", "blocks", "total"}``: one row per 1×1 reduction and the convolutions it feeds."""
    naming, rows = _Naming(flow), []
    for op in flow.ops:
        reduce = conv_of(op)
        if reduce is None or not reduce.is_1x1 or reduce.c_out >= reduce.c_in:
            continue
        fed = _convs_fed_by(flow, op.outputs[0])
        if not fed or any(conv.is_1x1 or len(conv.kernel) != len(reduce.kernel) for conv in fed):
            continue
        expand = None
        if len(fed) == 1:
            after = _convs_fed_by(flow, fed[0].op.outputs[0])
            if after and len(after) == 1 and after[0].is_1x1 and after[0].c_out > after[0].c_in:
                expand = after[0]
        last = [expand] if expand else fed
        direct = [conv.single(fed_conv.kernel, reduce.c_in, conv.c_out) for fed_conv, conv in zip(fed, last)]
        actual = [reduce, *fed, *([expand] if expand else [])]
        sized = sum(prod(conv.kernel) * conv.c_out for conv in fed)  # the k×k weights per reduced channel
        row = {
            "kind": "resnet" if expand else "inception",
            **naming.where([c.op for c in actual]),
            "c_in": reduce.c_in,
            "reduced": reduce.c_out,
            "kernels": [list(conv.kernel) for conv in fed],
            "conv_channels": [conv.c_out for conv in fed],
            "c_out": sum(conv.c_out for conv in last),
            "output_size": list(last[0].output_size),
            "direct_weights": sum(weights for weights, _ in direct),
            "actual_weights": sum(conv.weights for conv in actual),
            "direct_mult_adds": sum(mult_adds for _, mult_adds in direct),
            "actual_mult_adds": sum(conv.op.mult_adds for conv in actual),
            # the reduction at which the path holds 1/9 of the direct weights (002's claim):
            # r (C_in + Σ k²c) = (1/9) C_in Σ k²c
            "reduced_for_one_ninth": (None if expand else
                                      ONE_NINTH * reduce.c_in * sized / (reduce.c_in + sized)),
        }
        rows.append(_ratios(row))
    blocks, total = _subtotals(rows)
    return {"rows": rows, "blocks": blocks, "total": total}


def pool_projections(flow: DataFlow) -> list[dict]:
    """Inception's fourth branch: pooling that keeps the size, then a 1×1 convolution."""
    naming, rows = _Naming(flow), []
    for op in flow.ops:
        if (op.category != "pooling" or "adaptive" in op.op or not op.output_shapes
                or op.output_shapes[0] != op.input_shapes[0]):
            continue
        fed = _convs_fed_by(flow, op.outputs[0])
        if not fed or len(fed) != 1 or not fed[0].is_1x1:
            continue
        projection = fed[0]
        merge = flow.merge_after(projection.op.outputs[0])
        block_out = merge.output_shapes[0][1] if merge is not None and merge.op.startswith("aten.cat") else None
        where = naming.where([op, projection.op])
        kernel = dict(op.arguments).get("kernel_size", ())
        rows.append({
            **where,
            "pool": op.op.split(".")[1],
            "pool_kernel": list(kernel),
            "c_in": projection.c_in,
            "c_out": projection.c_out,
            "weights": projection.weights,
            "mult_adds": projection.op.mult_adds,
            "block_out_channels": block_out,
            "block_out_without": None if block_out is None else block_out - projection.c_out + projection.c_in,
            "channels_kept_out": projection.c_in - projection.c_out,
        })
    return rows


def _replaced(first: Conv, second: Conv) -> tuple[int, ...]:
    return tuple(a + b - 1 for a, b in zip(first.kernel, second.kernel))


def _is_asymmetric(kernels: list[tuple[int, ...]]) -> bool:
    return len(kernels) == 2 and all(sorted(k)[:-1] == [1] * (len(k) - 1) for k in kernels) and (
        kernels[0].index(max(kernels[0])) != kernels[1].index(max(kernels[1])))


def factorizations(flow: DataFlow) -> dict:
    """``{"rows", "blocks", "total"}``: stacked and asymmetric pairs, and 1×n ∥ n×1 side by side."""
    naming, rows, used = _Naming(flow), [], set()
    for op in flow.ops:
        first = conv_of(op)
        fed = _convs_fed_by(flow, op.outputs[0]) if op.outputs else None
        if (first is not None and not first.is_1x1 and op.index not in used and fed and len(fed) == 1
                and not fed[0].is_1x1 and all(s == 1 for s in first.stride) and len(fed[0].kernel) == len(first.kernel)):
            second = fed[0]
            used.update((op.index, second.op.index))
            kernel = _replaced(first, second)
            kind = "asymmetric" if _is_asymmetric([first.kernel, second.kernel]) else "stacked"
            single = second.single(kernel, first.c_in, second.c_out)
            parts, c_out, mid = [first, second], second.c_out, first.c_out
        elif fed and len(fed) == 2 and _is_asymmetric([conv.kernel for conv in fed]) and not any(
                conv.op.index in used for conv in fed):
            # a 1×n and an n×1 on one input, their results concatenated (Inception-v3's 8×8 blocks)
            used.update(conv.op.index for conv in fed)
            kernel = tuple(max(sizes) for sizes in zip(*(conv.kernel for conv in fed)))
            kind, parts, c_out, mid = "parallel", fed, sum(conv.c_out for conv in fed), None
            single = fed[0].single(kernel, fed[0].c_in, c_out)
        else:
            continue
        ideal_pair = sum(prod(conv.kernel) for conv in parts) / (len(parts) if kind == "parallel" else 1)
        row = {
            "kind": kind,
            **naming.where([conv.op for conv in parts]),
            "c_in": parts[0].c_in,
            "mid": mid,
            "c_out": c_out,
            "kernels": [list(conv.kernel) for conv in parts],
            "replaces": list(kernel),
            "output_size": list(parts[-1].output_size),
            "direct_weights": single[0],
            "actual_weights": sum(conv.weights for conv in parts),
            "direct_mult_adds": single[1],
            "actual_mult_adds": sum(conv.op.mult_adds for conv in parts),
            # the saving the papers quote: all channel counts equal (5×5 → two 3×3: 1 − 18/25 = 28%)
            "equal_channels_ratio": ideal_pair / prod(kernel),
        }
        rows.append(_ratios(row))
    blocks, total = _subtotals(rows)
    return {"rows": rows, "blocks": blocks, "total": total}
