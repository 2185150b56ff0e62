"""Other tools' totals, rebuilt from archscope's records: what torchinfo, fvcore and torch's
FlopCounterMode would print for the same model and input, quirks included.

Each rule below is read from the tool's source (versions pinned in constraints.txt) and cited; the
tests compare every reproduction with the tool's real run. Each result keeps its parts apart
(``components``), so a report can say which op categories make the gap to archscope's own figures.
"""

from __future__ import annotations

from functools import cache
from math import prod

from archscope.records import Trace
from archscope.units import Category, Convention

# torchinfo 1.8 torchinfo.py get_total_memory_used: sys.getsizeof(tensor.untyped_storage()), which
# is the storage's bytes plus the Python object's own 64 bytes.
TORCHINFO_STORAGE_OVERHEAD = 64

# fvcore 0.1.5 flop_count._DEFAULT_SUPPORTED_OPS, as archscope's dispatch-level ops see them: the
# torch.jit graph fvcore reads has aten::batch_norm, aten::adaptive_avg_pool2d, ... where the
# dispatcher shows native_batch_norm, mean.dim, ... (conv, linear and matmul: the mult-adds).
FVCORE_NORMS = {"aten.native_layer_norm": 5, "aten.native_group_norm": 5}  # norm_flop_counter: 5 (affine) or 4
FVCORE_UPSAMPLE = {"aten.upsample_nearest2d": 1, "aten.upsample_bilinear2d": 4}  # × output elements
FVCORE_BATCH_NORM = ("aten.native_batch_norm", "aten._native_batch_norm_legit", "aten.batch_norm")
FVCORE_ADAPTIVE_AVG_POOL = ("aten._adaptive_avg_pool2d", "aten.adaptive_avg_pool2d")


def _leaf_macs(type_name: str, param_numels, output_shape: tuple[int, ...]) -> dict[str, int]:
    """torchinfo layer_info.py LayerInfo.calculate_macs: per parameter, its elements times the
    output's batch (× the output's spatial positions for a class whose name contains "Conv"),
    weights and biases alike — so a BatchNorm's 2C parameters count C·N "mult-adds" each."""
    parts = {"weight": 0, "bias": 0}
    for name, numel, _ in param_numels:
        if name in ("weight", "bias"):
            if "Conv" in type_name:
                macs = numel * prod([output_shape[0], *output_shape[2:]])
            else:
                macs = output_shape[0] * numel
        elif "weight" in name or "bias" in name:  # RNN weights such as weight_ih_l0
            macs = prod(output_shape[:2]) * numel
        else:
            continue
        parts["bias" if "bias" in name else "weight"] += macs
    return parts


def torchinfo_totals(trace: Trace) -> dict:
    """torchinfo 1.8 ModelStatistics.__init__ over one LayerInfo per call (torchinfo.py
    construct_pre_hook / construct_hook): a leaf adds its MACs at every call, its output twice (with
    the gradient) when it holds parameters, and — unless it is a repeated call — its parameters,
    counted per module (a tensor tied to two modules counts twice); a container adds its "leftover"
    parameters, its subtree's minus its children's (LayerInfo.leftover_params), clamped at 0. A call's
    output size is its first output tensor's shape (torchinfo sizes a tuple of outputs its own way)."""
    modules = {info.path: info for info in trace.modules}
    layers = trace.layers

    def descendants(layer) -> list:
        """torchinfo's LayerInfo.children (layer_info.py get_children_layers): every later call
        deeper than this one, up to the next at its depth -- all descendants, not only children."""
        found = []
        for later in layers[layer.index + 1:]:
            if later.depth <= layer.depth:
                break
            found.append(later)
        return found

    @cache
    def leftover(layer, key: str) -> int:
        return getattr(modules[layer.path], key) - sum(
            getattr(modules[below.path], key) if modules[below.path].is_leaf else leftover(below, key)
            for below in descendants(layer) if below.call == 0)

    macs = {"weight": 0, "bias": 0, "normalization": 0}
    totals = dict.fromkeys(("params", "trainable_params", "forward_backward_bytes", "params_bytes"), 0)
    for layer in trace.layers:
        info = modules[layer.path]
        if info.is_leaf:
            shape = layer.outputs[0].shape if layer.outputs else ()
            parts = _leaf_macs(info.type, info.param_numels, shape) if shape else {"weight": 0, "bias": 0}
            if "Norm" in info.type:  # BatchNorm/LayerNorm parameters × batch: no archscope mult-adds at all
                macs["normalization"] += parts["weight"] + parts["bias"]
            else:
                macs["weight"] += parts["weight"]
                macs["bias"] += parts["bias"]
            if info.params > 0:
                totals["forward_backward_bytes"] += 2 * (layer.outputs[0].nbytes if layer.outputs else 0)
            if layer.call > 0:
                continue
            totals["params"] += info.params
            totals["trainable_params"] += info.trainable_params
            totals["params_bytes"] += sum(nbytes for _, _, nbytes in info.param_numels)
        elif layer.call == 0:
            totals["params"] += max(leftover(layer, "params"), 0)
            totals["trainable_params"] += max(leftover(layer, "trainable_params"), 0)
    input_bytes = sum(spec.nbytes + TORCHINFO_STORAGE_OVERHEAD for spec in trace.inputs)
    return {
        **totals,
        "frozen_params": totals["params"] - totals["trainable_params"],
        "mult_adds": sum(macs.values()),
        "input_bytes": input_bytes,
        "total_bytes": input_bytes + totals["forward_backward_bytes"] + totals["params_bytes"],
        "components": {"mult_adds": macs},
    }


def _matches(op: str, prefixes) -> bool:
    return any(op == prefix or op.startswith(prefix + ".") for prefix in prefixes)


def fvcore_totals(trace: Trace) -> dict:
    """fvcore 0.1.5 FlopCountAnalysis(...).total(): fvcore's "flops" are multiply-adds, counted only
    for the ops of _DEFAULT_SUPPORTED_OPS (jit_handles.py). Convolution, linear and matmul: the
    mult-adds, bias excluded (conv_flop_count, linear_flop_jit). batch_norm (batchnorm_flop_jit): in
    eval the input's elements × 2 with affine parameters (× 1 without); in training
    norm_flop_counter's × 5 (× 4). adaptive_avg_pool2d: the input's elements. Everything else —
    max pools, ReLU, additions, concatenation — is skipped, a warning at most."""
    modules = {info.path: info for info in trace.modules}
    layer_path = {layer.index: layer.path for layer in trace.layers}
    layer_type = {index: modules[path].type for index, path in layer_path.items() if path in modules}
    parts = {"conv_linear": 0, "batch_norm": 0, "other_norms": 0, "adaptive_avg_pool": 0, "upsample": 0}
    skipped: dict[str, int] = {}  # archscope's FLOPs, by category, of the ops fvcore does not count
    for op in trace.ops:
        name = op.op.rsplit(".", 1)[0]
        if op.category == Category.CONV_LINEAR.value:
            parts["conv_linear"] += op.mult_adds
            continue
        if _matches(name, FVCORE_BATCH_NORM) and op.input_shapes:
            info = modules.get(layer_path.get(op.layer, ""))
            affine = dict(info.attributes).get("affine", True) if info else True
            rate = (5 if affine else 4) if trace.mode == "train" else (2 if affine else 1)
            parts["batch_norm"] += rate * prod(op.input_shapes[0])
        elif name in FVCORE_NORMS and op.input_shapes:
            affine = len(op.input_shapes) > 1 and len(op.input_shapes[1]) > 0
            parts["other_norms"] += (FVCORE_NORMS[name] if affine else 4) * prod(op.input_shapes[0])
        elif (_matches(name, FVCORE_ADAPTIVE_AVG_POOL) or name == "aten.mean" and layer_type.get(op.layer, "")
              .startswith("AdaptiveAvgPool")) and op.input_shapes:
            # AdaptiveAvgPool2d to 1×1 reaches the dispatcher as mean.dim; jit still sees the pool
            parts["adaptive_avg_pool"] += prod(op.input_shapes[0])
        elif name in FVCORE_UPSAMPLE and op.output_shapes:
            parts["upsample"] += FVCORE_UPSAMPLE[name] * prod(op.output_shapes[0])
        elif op.category and op.flops:
            skipped[op.category] = skipped.get(op.category, 0) + op.flops
    total = sum(parts.values())
    return {"flops": total, "mult_adds": total, "components": {"flops": parts, "skipped": skipped}}


def flopcounter_totals(trace: Trace) -> dict:
    """torch.utils.flop_counter.FlopCounterMode.get_total_flops(): the registered formulas only —
    convolution, linear and the matmul family, 2 FLOPs per multiply-add, no bias — which is what
    archscope's mult-adds are built from (formulas/matmul.py reuses that registry)."""
    mult_adds = sum(op.mult_adds for op in trace.ops)
    return {"flops": 2 * mult_adds, "mult_adds": mult_adds, "components": {"flops": {"conv_linear": 2 * mult_adds}}}


RULES = {
    Convention.TORCHINFO: torchinfo_totals,
    Convention.FVCORE: fvcore_totals,
    Convention.FLOPCOUNTER: flopcounter_totals,
}


def convention_totals(trace: Trace, own: dict, convention: Convention) -> tuple[dict, dict]:
    """archscope's totals with the figures ``convention``'s tool computes put in their place (the keys
    it has no figure for keep archscope's values), and what those figures are made of."""
    if convention is Convention.ARCHSCOPE:
        return dict(own), {}
    found = dict(RULES[convention](trace))
    components = found.pop("components")
    return {**own, **found}, components
