"""Other tools' totals, rebuilt from archscope's records: what torchinfo, fvcore and torch's
FlopCounterMode would print for the same model and input, quirks included.

Each rule below is read from the tool's source (versions pinned in constraints.txt) and cited; the
tests compare every reproduction with the tool's real run. Each result keeps its parts apart
(``components``), so a report can say which op categories make the gap to archscope's own figures.
"""

from __future__ import annotations

from functools import cache
from math import prod

from archscope.records import ModuleInfo, OpCall, Trace
from archscope.units import Category, Convention

# torchinfo 1.8 torchinfo.py get_total_memory_used: sys.getsizeof(tensor.untyped_storage()), which
# is the storage's bytes plus the Python object's own 64 bytes.
TORCHINFO_STORAGE_OVERHEAD = 64

# fvcore 0.1.5 flop_count._DEFAULT_SUPPORTED_OPS, as archscope's dispatch-level ops see them: the
# torch.jit graph fvcore reads has aten::batch_norm, aten::adaptive_avg_pool2d, ... where the
# dispatcher shows native_batch_norm, mean.dim, ... (conv, linear and matmul: the mult-adds).
FVCORE_NORMS = {"aten.native_layer_norm": 5, "aten.native_group_norm": 5}  # norm_flop_counter: 5 (affine) or 4
FVCORE_UPSAMPLE = {"aten.upsample_nearest2d": 1, "aten.upsample_bilinear2d": 4}  # × output elements
FVCORE_GRID_SAMPLER = ("aten.grid_sampler_2d",)  # "aten::grid_sampler": elementwise_flop_counter(0, 4)
FVCORE_BATCH_NORM = ("aten.native_batch_norm", "aten._native_batch_norm_legit", "aten.batch_norm",
                     "aten._native_batch_norm_legit_no_training")
FVCORE_ADAPTIVE_AVG_POOL = ("aten._adaptive_avg_pool2d", "aten.adaptive_avg_pool2d")

# torch.nn's recurrent layers (RNNBase): torch.jit records each call as one aten::rnn_tanh,
# aten::rnn_relu, aten::lstm or aten::gru, for which fvcore has no handle; on the cpu an nn.LSTM
# without projections runs as aten.mkldnn_rnn_layer (aten/src/ATen/native/RNN.cpp use_mkldnn), for
# which torch's flop registry has no formula. On meta archscope sees their matrix products.
RECURRENT = ("RNN", "LSTM", "GRU")


def _is_recurrent(info: ModuleInfo | None) -> bool:
    """One of torch.nn's recurrent layers: the class name, and the hyperparameter the tracer records
    only for torch's own layers (a user's class called LSTM built from Linear layers is not one)."""
    return info is not None and info.type in RECURRENT and "hidden_size" in dict(info.attributes)


def _layer_modules(trace: Trace) -> dict[int, ModuleInfo | None]:
    modules = {info.path: info for info in trace.modules}
    return {layer.index: modules.get(layer.path) for layer in trace.layers}


def _attention_matmuls(trace: Trace) -> dict[int, int]:
    """The two bmm ops of each F.scaled_dot_product_attention, by op index, with the rank of its
    query. On meta the dispatcher runs sdpa's math path (torch 2.13: bmm, aten._safe_softmax, bmm
    — _safe_softmax is that path's alone); a real run sees one op instead, torch.jit one
    aten::scaled_dot_product_attention, the cpu aten._scaled_dot_product_flash_attention_for_cpu
    when the query is 4-D (sdp_utils_cpp.cpp check_tensor_shapes; otherwise the math path)."""
    producer = {tensor: op for op in trace.ops for tensor in op.outputs}
    found: dict[int, int] = {}
    last_bmm: dict[int, OpCall] = {}  # per layer: its latest bmm so far
    waiting: dict[int, OpCall] = {}  # per layer: the first bmm of an attention whose softmax ran
    for op in trace.ops:
        if op.op.startswith("aten.bmm"):
            first = waiting.pop(op.layer, None)
            if first is not None:
                rank, tensor = len(first.input_shapes[0]) if first.input_shapes else 0, first.inputs[0]
                source = producer.get(tensor)
                while source is not None and source.category == Category.FREE.value and source.inputs:
                    # back through expand / view to the scaled query itself
                    rank, tensor = len(source.input_shapes[0]), source.inputs[0]
                    source = producer.get(tensor)
                found[first.index] = found[op.index] = rank
            last_bmm[op.layer] = op
        elif op.op.startswith("aten._safe_softmax") and op.layer in last_bmm:
            waiting[op.layer] = last_bmm.pop(op.layer)
    return found


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


def _fvcore_batch_norm_rate(op: OpCall, info: ModuleInfo | None, mode: str) -> int:
    """jit_handles.py batchnorm_flop_jit: with aten::batch_norm's ``training`` argument the input's
    elements × 5 (affine) or × 4 (norm_flop_counter), without it × 2 or × 1. F.batch_norm trains
    when the module does or keeps no running statistics (_BatchNorm.forward's bn_training);
    InstanceNorm reaches the jit graph as aten::instance_norm, norm_flop_counter(1): × 5 or × 4 in
    any mode. Without torch's attributes (a functional call), the op's tensors tell: five are the
    affine parameters and running statistics, one is the input alone; three are taken as affine
    parameters without statistics."""
    attributes = dict(info.attributes) if info else {}
    if "affine" in attributes:
        affine = attributes["affine"]
        training = (info.type.startswith("InstanceNorm") or mode == "train"
                    or not attributes.get("track_running_stats", True))
    else:
        tensors = len(op.input_shapes)
        affine, training = tensors in (3, 5), mode == "train" or tensors < 5
    return (5 if affine else 4) if training else (2 if affine else 1)


def fvcore_totals(trace: Trace) -> dict:
    """fvcore 0.1.5 FlopCountAnalysis(...).total(): fvcore's "flops" are multiply-adds, counted only
    for the ops of flop_count.py _DEFAULT_SUPPORTED_OPS (handles in jit_handles.py), read from a
    torch.jit trace (jit_analysis.py JitModelAnalysis._analyze). Convolution, linear and matmul: the
    mult-adds, bias excluded (conv_flop_count, linear_flop_jit, addmm_flop_jit, bmm_flop_jit,
    matmul_flop_jit). batch_norm, instance_norm: _fvcore_batch_norm_rate. layer_norm, group_norm
    (norm_flop_counter): the input's elements × 5, × 4 without affine parameters.
    adaptive_avg_pool2d (elementwise_flop_counter(1, 0)): the input's elements — only the 2-D pool:
    its 1-D and 3-D kin are unsupported ops. upsample_nearest2d / upsample_bilinear2d and
    grid_sampler: the output's elements × 1 / × 4 / × 4. Everything else — max pools, ReLU,
    additions, concatenation, the recurrent layers (RECURRENT) and scaled_dot_product_attention —
    is an unsupported op: not counted, a warning at most.

    Not reproduced (the dispatcher's ops do not show the difference): an einsum other than
    "abc,abd->acd" / "abc,adc->adb" (counted from numpy's einsum_path, half its "optimized flop"),
    a matmul whose first operand is broadcast (prod(first) × last size), F.adaptive_avg_pool2d(x, 1)
    outside an nn.AdaptiveAvgPool2d (the dispatcher shows a mean, which fvcore does not count when
    the code itself calls it)."""
    layer_module = _layer_modules(trace)
    attention = _attention_matmuls(trace)
    parts = {"conv_linear": 0, "batch_norm": 0, "other_norms": 0, "adaptive_avg_pool": 0, "upsample": 0,
             "grid_sampler": 0}
    skipped: dict[str, int] = {}  # archscope's FLOPs, by category, of the ops fvcore does not count

    def skip(what: str, flops: int) -> None:
        skipped[what] = skipped.get(what, 0) + flops

    for op in trace.ops:
        name = op.op.rsplit(".", 1)[0]
        info = layer_module.get(op.layer)
        layer_type = info.type if info else ""
        if _is_recurrent(info) and op.flops:
            skip(f"{layer_type} layers", op.flops)  # one aten::lstm / gru / rnn_tanh: no handle
        elif op.index in attention:
            skip("scaled_dot_product_attention", op.flops)
        elif op.category == Category.CONV_LINEAR.value:
            parts["conv_linear"] += op.mult_adds
        elif _matches(name, FVCORE_BATCH_NORM) and op.input_shapes:
            parts["batch_norm"] += _fvcore_batch_norm_rate(op, info, trace.mode) * prod(op.input_shapes[0])
        elif name in FVCORE_NORMS and op.input_shapes:
            affine = len(op.input_shapes) > 1 and len(op.input_shapes[1]) > 0
            parts["other_norms"] += (FVCORE_NORMS[name] if affine else 4) * prod(op.input_shapes[0])
        elif (_matches(name, FVCORE_ADAPTIVE_AVG_POOL) and layer_type not in ("AdaptiveAvgPool1d", "AdaptiveAvgPool3d")
              or name == "aten.mean" and layer_type == "AdaptiveAvgPool2d") and op.input_shapes:
            # AdaptiveAvgPool2d to 1×1 reaches the dispatcher as mean.dim; jit still sees the pool.
            # AdaptiveAvgPool1d reaches it as a 2-D pool (or mean), but jit sees aten::adaptive_avg_pool1d
            parts["adaptive_avg_pool"] += prod(op.input_shapes[0])
        elif name in FVCORE_UPSAMPLE and op.output_shapes:
            parts["upsample"] += FVCORE_UPSAMPLE[name] * prod(op.output_shapes[0])
        elif name in FVCORE_GRID_SAMPLER and op.output_shapes:
            parts["grid_sampler"] += 4 * prod(op.output_shapes[0])
        elif op.category and op.flops:
            skip(op.category, op.flops)
    total = sum(parts.values())
    return {"flops": total, "mult_adds": total, "components": {"flops": parts, "skipped": skipped}}


def flopcounter_totals(trace: Trace) -> dict:
    """torch.utils.flop_counter.FlopCounterMode.get_total_flops() for a run on the cpu: the formulas
    of its flop_registry only — convolution, linear and the matmul family, 2 FLOPs per multiply-add,
    no bias — which is what archscope's mult-adds are built from (formulas/matmul.py reuses that
    registry). Two cpu kernels hide their matrix products from it, and it counts them as nothing:
    an nn.LSTM without projections runs as aten.mkldnn_rnn_layer (RECURRENT), and a 4-D
    scaled_dot_product_attention as aten._scaled_dot_product_flash_attention_for_cpu (only the
    cuda kernels _scaled_dot_product_flash/efficient/cudnn_attention have formulas)."""
    layer_module = _layer_modules(trace)
    attention = _attention_matmuls(trace)
    parts = {"conv_linear": 0, "lstm": 0, "attention": 0}
    for op in trace.ops:
        info = layer_module.get(op.layer)
        if not op.mult_adds:
            continue
        if _is_recurrent(info) and info.type == "LSTM" and not dict(info.attributes).get("proj_size"):
            parts["lstm"] += op.mult_adds
        elif attention.get(op.index) == 4:
            parts["attention"] += op.mult_adds
        else:
            parts["conv_linear"] += op.mult_adds
    flops = {name: 2 * value for name, value in parts.items()}
    return {"flops": flops["conv_linear"], "mult_adds": parts["conv_linear"], "components": {"flops": flops}}


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
