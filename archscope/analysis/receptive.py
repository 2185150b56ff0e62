"""Receptive field, effective stride and effective padding of every tensor, and along the main path.

For one chain of layers (kernel k, stride s, padding p, dilation d), with r, j and P of the layer's
input (the input image: r = 1, j = 1, P = 0), as Araujo, Norris and Sim set out in "Computing
Receptive Fields of Convolutional Neural Networks" (Distill, 2019):

    r_out = r + d·(k − 1)·j        j_out = j·s        P_out = P + p·j

per spatial dimension. Ops that do not slide a window (batch norm, activations, dropout, reshapes)
keep their input's values. Where tensors meet (a concatenation, an addition) the result takes, per
dimension, the values of the input with the **largest receptive field**: a multi-branch block sees as
far as its widest branch. Global pooling, and a linear layer over a whole map, see the whole input.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from archscope.analysis.dataflow import CONVOLUTION, DataFlow

GLOBAL = "global"  # the tensor depends on every input position
LINEAR_OPS = ("aten.addmm.", "aten.mm.", "aten.bmm.", "aten.matmul.", "aten.linear.")


@dataclass(frozen=True)
class Field:
    size: tuple[int, ...]  # receptive field, per spatial dimension
    jump: tuple[int, ...]  # effective stride: input pixels between neighbouring outputs
    padding: tuple[int, ...]  # effective padding: how far the first window starts before the input

    def through(self, kernel, stride, padding, dilation) -> Field:
        return Field(
            tuple(r + d * (k - 1) * j for r, k, d, j in zip(self.size, kernel, dilation, self.jump)),
            tuple(j * s for j, s in zip(self.jump, stride)),
            tuple(q + p * j for q, p, j in zip(self.padding, padding, self.jump)),
        )


def _per_dimension(value, dimensions: int, default: int) -> tuple[int, ...]:
    values = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if not values:
        return (default,) * dimensions
    return values * dimensions if len(values) == 1 else values


def window(op, dimensions: int) -> tuple | None:
    """(kernel, stride, padding, dilation) of a window op on a map of ``dimensions`` spatial dims."""
    arguments = dict(op.arguments)
    if op.op.startswith(CONVOLUTION):
        if arguments.get("transposed"):
            return None
        kernel = tuple(op.input_shapes[1][2:])
        stride = _per_dimension(arguments.get("stride", 1), dimensions, 1)
        padding = _per_dimension(arguments.get("padding", 0), dimensions, 0)
        dilation = _per_dimension(arguments.get("dilation", 1), dimensions, 1)
    elif "kernel_size" in arguments:
        kernel = _per_dimension(arguments["kernel_size"], dimensions, 1)
        stride = _per_dimension(arguments.get("stride", ()), dimensions, 0)
        stride = tuple(s or k for s, k in zip(stride, kernel))  # stride=[] means the kernel size
        padding = _per_dimension(arguments.get("padding", 0), dimensions, 0)
        dilation = _per_dimension(arguments.get("dilation", 1), dimensions, 1)
    elif "pad" in arguments:  # F.pad: (left, right, top, bottom, ...) from the last dimension back
        pad = arguments["pad"]
        before = [pad[2 * i] if 2 * i < len(pad) else 0 for i in range(dimensions)][::-1]
        kernel, stride, dilation, padding = (1,) * dimensions, (1,) * dimensions, (1,) * dimensions, tuple(before)
    else:
        return None
    if not all(len(v) == dimensions for v in (kernel, stride, padding, dilation)):
        return None
    return kernel, stride, padding, dilation


def _adaptive(op, dimensions: int):
    """An adaptive pool as a window where it is one (the size divides evenly), else global or None."""
    size, out = op.input_shapes[0][2:], op.output_shapes[0][2:]
    if all(o == 1 for o in out):
        return GLOBAL
    if len(size) != dimensions or any(i % o for i, o in zip(size, out)):
        return None
    kernel = tuple(i // o for i, o in zip(size, out))
    return kernel, kernel, (0,) * dimensions, (1,) * dimensions


def _widest(fields: list):
    """Where tensors meet: per spatial dimension, the largest receptive field among them (with that
    input's effective padding); global if any is, unknown if any is and none is global."""
    if any(field == GLOBAL for field in fields):
        return GLOBAL
    if any(field is None for field in fields):
        return None
    if len({len(field.size) for field in fields}) > 1:
        return None
    widest = [max(fields, key=lambda field: (field.size[d], field.padding[d])) for d in range(len(fields[0].size))]
    return Field(tuple(f.size[d] for d, f in enumerate(widest)), tuple(f.jump[d] for d, f in enumerate(widest)),
                 tuple(f.padding[d] for d, f in enumerate(widest)))


def fields(flow: DataFlow) -> dict[int, Field | str | None]:
    """Tensor id → its ``Field``, ``GLOBAL``, or None where archscope cannot tell (a transposed
    convolution, an upsampling, a pool whose windows overlap unevenly)."""
    found: dict[int, Field | str | None] = {}
    for spec in flow.trace.inputs:
        if len(spec.shape) >= 3:
            dimensions = len(spec.shape) - 2
            found[spec.tensor_id] = Field((1,) * dimensions, (1,) * dimensions, (0,) * dimensions)
    for op in flow.ops:
        known = [found[tensor] for tensor in op.inputs if tensor in found]
        if not known:
            continue
        base = _widest(known)
        result = base
        if isinstance(base, Field):
            dimensions = len(base.size)
            shape_in = op.input_shapes[0] if op.input_shapes else ()
            shape_out = op.output_shapes[0] if op.output_shapes else ()
            on_map = len(shape_in) == dimensions + 2
            if on_map and "adaptive" in op.op:
                slide = _adaptive(op, dimensions)
                result = base.through(*slide) if isinstance(slide, tuple) else slide
            elif on_map and op.category == "pooling" and all(size == 1 for size in shape_out[2:]) and any(
                    size > 1 for size in shape_in[2:]):
                result = GLOBAL  # a pool over the whole map (AvgPool2d(7) on 7×7): global average pooling
            elif on_map and op.arguments and (slide := window(op, dimensions)) is not None:
                result = base.through(*slide)
            elif op.op.startswith(CONVOLUTION) and op.arguments:
                result = None  # a transposed or otherwise unusual convolution
            elif op.op.startswith(LINEAR_OPS):
                result = GLOBAL
            elif on_map and op.category == "reduction" and (
                    len(shape_out) < len(shape_in) or tuple(shape_out[2:]) != tuple(shape_in[2:])):
                result = GLOBAL  # a mean over the map (global average pooling)
            elif on_map and len(shape_out) == len(shape_in) and tuple(shape_out[2:]) != tuple(shape_in[2:]) and (
                    op.category != "free" and not op.op.startswith("aten.cat.")):
                result = None  # resizes the map in a way archscope has no rule for
        found.update((tensor, result) for tensor in op.outputs)
    return found


def _window_of_call(flow: DataFlow, call) -> dict:
    """The kernel, stride and padding of a call that slides exactly one window (a conv, a pool)."""
    dimensions = len(call.outputs[0].shape) - 2 if call.outputs else 0
    ops = [op for op in flow.subtree_ops(call) if op.arguments and "pad" not in dict(op.arguments)
           and op.input_shapes and len(op.input_shapes[0]) == dimensions + 2]
    if len(ops) != 1 or dimensions < 1:
        return {"kernel": None, "stride": None, "padding": None}
    slide = window(ops[0], dimensions)
    if slide is None:
        return {"kernel": None, "stride": None, "padding": None}
    kernel, stride, padding, _ = slide
    return {"kernel": list(kernel), "stride": list(stride), "padding": list(padding)}


def receptive_fields(flow: DataFlow, found: dict | None = None) -> dict:
    """``{"input_size", "rows", "final"}``: one row per main-path step (``DataFlow.main_calls``) that
    changes what the network sees: a layer sliding a window, a block, the step that turns global;
    ``final`` is the last map with more than one position."""
    found = fields(flow) if found is None else found
    spatial = [spec.shape[2:] for spec in flow.trace.inputs if len(spec.shape) >= 3]
    rows, was_global = [], False
    for call in flow.main_calls:
        field = found.get(call.outputs[0].tensor_id)
        row = {
            "path": call.path,
            "type": call.type,
            **_window_of_call(flow, call),
            "output_size": list(call.outputs[0].shape[2:]) if isinstance(field, Field) else None,
            "global": field == GLOBAL,
            "receptive_field": list(field.size) if isinstance(field, Field) else None,
            "jump": list(field.jump) if isinstance(field, Field) else None,
            "effective_padding": list(field.padding) if isinstance(field, Field) else None,
        }
        turns_global = row["global"] and not was_global
        was_global = row["global"]
        if row["kernel"] or call.index in flow.children or turns_global or (field is None and not rows):
            rows.append(row)
    maps = [row for row in rows if row["receptive_field"] and prod(row["output_size"]) > 1]
    size = list(spatial[0]) if spatial else None
    final = None
    if maps:
        last = maps[-1]
        final = {"path": last["path"], "receptive_field": last["receptive_field"], "output_size": last["output_size"],
                 "input_size": size,
                 "ratio": [r / s for r, s in zip(last["receptive_field"], size)] if size else None,
                 # every position's window covers the input: the first ends past it, the last starts before it
                 "covers_input": bool(size) and all(
                     r - p >= s and (n - 1) * j - p <= 0 for r, p, s, n, j in zip(
                         last["receptive_field"], last["effective_padding"], size, last["output_size"], last["jump"]))}
    return {"input_size": size, "rows": rows, "final": final}
