"""What one trace of a model records: small frozen records that round-trip through JSON.

A layer is identified by its state_dict path and its call index (a module called twice gives two
``LayerCall`` records). Tensors are identified by ``tensor_id``: every tensor gets a fresh id when an
op produces it (an in-place op gives its result a new id), so ids link producers to consumers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class TensorSpec:
    key: str  # where the tensor sits in the arguments or outputs, as a pytree key path: "[0]", "['x']"
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    tensor_id: int


@dataclass(frozen=True)
class ModuleInfo:
    """Parameters of one module (not of one call): own ones and the unique ones of its subtree."""

    path: str
    type: str
    is_leaf: bool
    self_params: int
    params: int  # unique tensors of the whole subtree: a shared tensor counts once
    trainable_params: int
    frozen_params: int
    buffers: int
    params_bytes: int  # of the subtree's unique tensors
    own_params_bytes: int  # of its own tensors not already held by a module before it in named_modules()
    attributes: tuple[tuple[str, object], ...] = ()  # (name, value) of kernel_size, stride, ...: tracer.ATTRIBUTES
    param_numels: tuple[tuple[str, int, int], ...] = ()  # (name, elements, bytes) of its own parameters


@dataclass(frozen=True)
class LayerCall:
    index: int  # position in call order
    path: str  # "" for the root module
    type: str
    depth: int  # call nesting: the root is 0
    call: int  # 0 for the module's first call, 1 for its second, ...
    parent: int | None  # index of the enclosing call
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class OpCall:
    index: int
    layer: int  # index of the innermost LayerCall running when the op ran
    op: str  # aten overload, e.g. "aten.convolution.default"
    category: str | None  # a Category value; None when archscope has no formula for the op
    mult_adds: int
    flops: int  # all FLOPs of the op: 2 per mult-add plus its elementwise work
    inputs: tuple[int, ...]  # tensor ids
    outputs: tuple[int, ...]
    input_shapes: tuple[tuple[int, ...], ...] = ()  # of the tensors in ``inputs``, in order
    output_shapes: tuple[tuple[int, ...], ...] = ()
    arguments: tuple[tuple[str, object], ...] = ()  # (name, value): stride, padding, ... of window ops only


@dataclass(frozen=True)
class CounterRun:
    """One real run of another tool (torchinfo, fvcore, FlopCounterMode) on the model."""

    tool: str
    version: str
    status: str  # "ok", "failed" or "skipped"
    reason: str  # one line, when not "ok"
    batch: int  # the batch it ran at
    figures: tuple[tuple[str, int], ...] = ()  # its totals under archscope's keys (mult_adds, flops, params, ...)
    scale: int = 1  # the analysed batch ÷ ``batch``: its batch-proportional figures × scale are the analysed batch's
    unsupported: tuple[tuple[str, int], ...] = ()  # (op, calls) it met and left uncounted, in its own words


@dataclass(frozen=True)
class Trace:
    model: str
    device: str
    mode: str
    inputs: tuple[TensorSpec, ...]
    modules: tuple[ModuleInfo, ...]
    layers: tuple[LayerCall, ...]
    ops: tuple[OpCall, ...]
    notices: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, document: dict) -> Trace:
        if document.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"trace schema_version {document.get('schema_version')!r} is not {SCHEMA_VERSION}")

        def specs(items):
            return tuple(TensorSpec(**{**item, "shape": tuple(item["shape"])}) for item in items)

        return cls(
            model=document["model"],
            device=document["device"],
            mode=document["mode"],
            inputs=specs(document["inputs"]),
            modules=tuple(
                ModuleInfo(**{**item, "attributes": tuple(
                    (name, tuple(value) if isinstance(value, list) else value) for name, value in item["attributes"]),
                    "param_numels": tuple(tuple(entry) for entry in item.get("param_numels", ()))})
                for item in document["modules"]
            ),
            layers=tuple(
                LayerCall(**{**item, "inputs": specs(item["inputs"]), "outputs": specs(item["outputs"])})
                for item in document["layers"]
            ),
            ops=tuple(
                OpCall(**{**item, "inputs": tuple(item["inputs"]), "outputs": tuple(item["outputs"]),
                          "input_shapes": tuple(map(tuple, item.get("input_shapes", ()))),
                          "output_shapes": tuple(map(tuple, item.get("output_shapes", ()))),
                          "arguments": tuple((name, tuple(value) if isinstance(value, list) else value)
                                             for name, value in item.get("arguments", ()))})
                for item in document["ops"]
            ),
            notices=tuple(document["notices"]),
        )
