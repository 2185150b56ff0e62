"""Records one forward pass: module calls through forward hooks, aten ops through a dispatch mode.

The hooks keep a stack of open calls, so every op is attributed to the innermost module running it
(``F.relu``, ``torch.cat`` and ``x + y`` inside a ``forward`` belong to that module). Tensors are
numbered as they appear, so calls and ops can be linked by what they consume and produce.
"""

from __future__ import annotations

import sys

import torch
from torch.utils._pytree import keystr, tree_flatten, tree_flatten_with_path
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.weak import WeakIdKeyDictionary

from archscope.formulas import lookup
from archscope.records import LayerCall, OpCall, TensorSpec
from archscope.trace.meta_shapes import meta_output

# Queries of tensor metadata that reach a dispatch mode: not computation, not recorded.
_METADATA_OPS = {
    torch.ops.aten.sym_size.default,
    torch.ops.aten.sym_stride.default,
    torch.ops.aten.sym_numel.default,
    torch.ops.aten.sym_storage_offset.default,
    torch.ops.aten.is_contiguous.default,
    torch.ops.prim.device.default,
    torch.ops.prim.layout.default,
}

# Ops whose window decides what a result sees (analysis/receptive.py): their scalar arguments
# (kernel_size, stride, padding, dilation, groups, ...) are recorded by schema name.
_WINDOW_OPS = {
    torch.ops.aten.convolution,
    torch.ops.aten.max_pool1d, torch.ops.aten.max_pool2d, torch.ops.aten.max_pool3d,
    torch.ops.aten.max_pool2d_with_indices, torch.ops.aten.max_pool3d_with_indices,
    torch.ops.aten.avg_pool1d, torch.ops.aten.avg_pool2d, torch.ops.aten.avg_pool3d,
    torch.ops.aten.constant_pad_nd,
}


def _scalar_arguments(func, args: tuple, kwargs: dict) -> tuple[tuple[str, object], ...]:
    found = []
    for position, argument in enumerate(func._schema.arguments):
        value = args[position] if position < len(args) else kwargs.get(argument.name, argument.default_value)
        if isinstance(value, (list, tuple)) and all(isinstance(item, int) for item in value):
            found.append((argument.name, tuple(value)))
        elif isinstance(value, (bool, int, float)):
            found.append((argument.name, value))
    return tuple(found)


class Recorder(TorchDispatchMode):
    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # By default torch wraps __torch_dispatch__ in torch._dynamo.disable, whose first call imports
        # torch._dynamo (1.7 s). A trace never runs under torch.compile, so the wrapper has no work.
        return False

    def __init__(self, paths: dict[int, str]) -> None:
        super().__init__()
        self.paths = paths  # id(module) -> state_dict path
        self.calls: list[dict] = []
        self.ops: list[OpCall] = []
        self.stack: list[int] = []  # indexes of open calls, innermost last
        self.call_counts: dict[int, int] = {}
        self._tensor_ids = WeakIdKeyDictionary()
        self._next_id = 0
        self._failures: list[tuple[BaseException, int]] = []  # (exception, innermost call it left)

    # -- tensors -------------------------------------------------------------------------------
    def _new_id(self, tensor: torch.Tensor) -> int:
        self._next_id += 1
        self._tensor_ids[tensor] = self._next_id
        return self._next_id

    def tensor_id(self, tensor: torch.Tensor) -> int:
        known = self._tensor_ids.get(tensor)
        return known if known is not None else self._new_id(tensor)

    def specs(self, value) -> tuple[TensorSpec, ...]:
        leaves, _ = tree_flatten_with_path(value)
        return tuple(
            TensorSpec(keystr(path), tuple(leaf.shape), str(leaf.dtype).removeprefix("torch."),
                       leaf.numel() * leaf.element_size(), self.tensor_id(leaf))
            for path, leaf in leaves
            if isinstance(leaf, torch.Tensor)
        )

    def call_specs(self, args: tuple, kwargs: dict) -> tuple[TensorSpec, ...]:
        """Specs of a call's arguments: positional ones keyed ``[0]``, keyword ones by name ``['x']``."""
        return self.specs(args) + self.specs(kwargs)

    # -- module calls --------------------------------------------------------------------------
    def pre_hook(self, module, args, kwargs):
        key = id(module)
        call = self.call_counts.get(key, 0)
        self.call_counts[key] = call + 1
        index = len(self.calls)
        self.calls.append({
            "index": index,
            "path": self.paths.get(key, f"<unregistered {type(module).__name__}>"),
            "type": type(module).__name__,
            "depth": len(self.stack),
            "call": call,
            "parent": self.stack[-1] if self.stack else None,
            "inputs": self.call_specs(args, kwargs),
            "outputs": None,
        })
        self.stack.append(index)

    def post_hook(self, module, args, kwargs, output):
        if not self.stack:
            return
        index = self.stack.pop()
        raised = sys.exc_info()[1]  # set when torch runs this hook because the forward raised
        if output is None and raised is not None:
            if not any(exc is raised for exc, _ in self._failures):
                self._failures.append((raised, index))
            return
        self.calls[index]["outputs"] = self.specs(output)

    def failing_call(self, error: BaseException) -> dict | None:
        """The innermost call that ``error`` (or the error it was raised from) propagated out of."""
        chain = [error, error.__cause__, error.__context__]
        for exc, index in self._failures:
            if any(exc is link for link in chain):
                return self.calls[index]
        return None

    def layer_calls(self) -> tuple[LayerCall, ...]:
        return tuple(LayerCall(**{**call, "outputs": call["outputs"] or ()}) for call in self.calls)

    # -- aten ops ------------------------------------------------------------------------------
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _METADATA_OPS:
            return func(*args, **kwargs)
        out = meta_output(func, args, kwargs)
        if out is None:
            out = func(*args, **kwargs)
        packet = func._overloadpacket
        formula = lookup(packet)
        cost = formula.count(*args, out_val=out, **kwargs) if formula else None
        arg_tensors = [a for a in tree_flatten((args, kwargs))[0] if isinstance(a, torch.Tensor)]
        inputs = tuple(self.tensor_id(t) for t in arg_tensors)
        in_place = func._schema.is_mutable
        out_tensors = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        outputs = tuple(
            self._new_id(t) if (in_place or t not in self._tensor_ids) else self._tensor_ids[t]
            for t in out_tensors
        )
        self.ops.append(OpCall(
            index=len(self.ops),
            layer=self.stack[-1] if self.stack else -1,
            op=str(func),
            category=formula.category.value if formula else None,
            mult_adds=cost.mult_adds if cost else 0,
            flops=cost.flops if cost else 0,
            inputs=inputs,
            outputs=outputs,
            input_shapes=tuple(tuple(t.shape) for t in arg_tensors),
            output_shapes=tuple(tuple(t.shape) for t in out_tensors),
            arguments=_scalar_arguments(func, args, kwargs) if packet in _WINDOW_OPS else (),
        ))
        return out
