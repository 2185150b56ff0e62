"""archscope against the counters it is reconciled with: each tool's real run beside archscope's
reproduction of it (conventions.py) and archscope's own figure, and which op categories make the gap.

The tools run for real, so they run at batch 1 when the trace shows the model is linear in batch;
the reproduction is checked against the real run at the batch the tool ran, then shown at the
analysed batch.
"""

from __future__ import annotations

from archscope.analysis.conventions import RULES, convention_totals
from archscope.analysis.totals import flops_by_category
from archscope.records import CounterRun, Trace
from archscope.units import Convention

# What each tool calls its total, the archscope key it lands in, and archscope's own figure to set beside it.
HEADLINES = {
    "torchinfo": ("Total mult-adds", "mult_adds", "mult_adds"),
    "fvcore": ("total() (multiply-adds)", "flops", "mult_adds"),
    "flopcounter": ("total FLOPs", "flops", "flops"),
}
CHECKED = {  # every figure of the tool that must equal the reproduction
    "torchinfo": ("params", "trainable_params", "mult_adds", "input_bytes", "forward_backward_bytes", "params_bytes"),
    "fvcore": ("flops",),
    "flopcounter": ("flops",),
}


# Each convention's figures that grow with the batch: a count made at batch 1 must scale to them.
PROPORTIONAL = {
    Convention.TORCHINFO: ("mult_adds", "forward_backward_bytes"),
    Convention.FVCORE: ("flops",),
    Convention.FLOPCOUNTER: ("flops",),
}


def linear_in_batch(full: Trace, single: Trace, batch: int) -> bool:
    """True when a count made at batch 1 scales exactly to ``batch``: every category's FLOPs and the
    mult-adds at ``batch`` are ``batch`` times those at batch 1, and so is each tool's headline figure
    as archscope reproduces it (torchinfo multiplies by the output's first size, which is not the
    batch once a model puts another dimension first)."""
    at_batch, at_one = flops_by_category(full), flops_by_category(single)
    mult_adds = sum(op.mult_adds for op in full.ops), sum(op.mult_adds for op in single.ops)
    if mult_adds[0] != batch * mult_adds[1] or any(at_batch[key] != batch * at_one[key] for key in at_batch):
        return False
    for convention, keys in PROPORTIONAL.items():
        many, one = RULES[convention](full), RULES[convention](single)
        if any(many[key] != batch * one[key] for key in keys):
            return False
    return True


def _explain(tool: str, components: dict, own: dict, by_category: dict) -> str:
    """One line: the op categories that make the tool's figure differ from archscope's own."""
    if tool == "torchinfo":
        parts = components["mult_adds"]
        extra = [f"biases {parts['bias']:,}" if parts["bias"] else "",
                 f"normalization parameters × batch {parts['normalization']:,}" if parts["normalization"] else "",
                 f"weights beyond archscope's mult-adds {parts['weight'] - own['mult_adds']:,}"
                 if parts["weight"] != own["mult_adds"] else ""]
        extra = [text for text in extra if text]
        return ("adds " + " and ".join(extra) + " to archscope's mult-adds (leaf layers' parameters × output size, "
                "layer_info.py calculate_macs)") if extra else "equal to archscope's mult-adds"
    if tool == "fvcore":
        parts, skipped = components["flops"], components["skipped"]
        extra = [f"{name.replace('_', ' ')} {value:,}" for name, value in parts.items() if name != "conv_linear" and value]
        text = "its \"flops\" are multiply-adds: archscope's mult-adds"
        text += f" plus {', '.join(extra)} (jit_handles.py)" if extra else ""
        left_out = [f"{name} {value:,}" for name, value in skipped.items()]
        return text + (f"; skips archscope's FLOPs of {', '.join(left_out)}" if left_out else "")
    others = {name: value for name, value in by_category.items() if name != "conv_linear" and value}
    bias = by_category.get("conv_linear", 0) - 2 * own["mult_adds"]
    left_out = ([f"bias adds {bias:,}"] if bias else []) + [f"{name} {value:,}" for name, value in others.items()]
    text = "2 FLOPs per archscope mult-add" + (f"; leaves out archscope's {', '.join(left_out)}" if left_out else "")
    hidden = components["flops"]
    kernels = [f"{what} {hidden[key]:,} (as {kernel})" for key, what, kernel in (
        ("lstm", "nn.LSTM", "aten.mkldnn_rnn_layer"),
        ("attention", "4-D scaled_dot_product_attention", "aten._scaled_dot_product_flash_attention_for_cpu"))
        if hidden.get(key)]
    return text + (f"; the cpu runs {', '.join(kernels)} in kernels without a formula" if kernels else "")


def reconcile(full: Trace, own: dict, single: Trace | None, runs: tuple[CounterRun, ...]) -> dict:
    """Rows per tool: its figure, archscope's reproduction (at the analysed batch), whether the
    reproduction equals the real run, archscope's own figure and the gap explained. ``single`` is the
    batch-1 trace the tools' batch-1 runs are checked against (None when they ran at the full batch)."""
    batch = full.inputs[0].shape[0] if full.inputs and full.inputs[0].shape else 1
    by_category = flops_by_category(full)
    rows = []
    for run in runs:
        label, key, own_key = HEADLINES[run.tool]
        row = {"tool": run.tool, "version": run.version, "figure": label, "status": run.status,
               "reason": run.reason, "ran_at_batch": run.batch, "own": own[own_key], "own_key": own_key}
        if run.status == "ok":
            convention = Convention(run.tool)
            at_run, _ = convention_totals(single if run.batch != batch and single else full, own, convention)
            at_batch, components = convention_totals(full, own, convention)
            figures = dict(run.figures)
            row.update({
                "real": figures[key],
                "real_scaled": figures[key] * run.scale,
                "scale": run.scale,
                "unsupported": dict(run.unsupported),
                "reproduced": at_batch[key],
                "equal": all(figures[name] == at_run[name] for name in CHECKED[run.tool]),
                "mismatches": [name for name in CHECKED[run.tool] if figures[name] != at_run[name]],
                "explanation": _explain(run.tool, components, own, by_category),
            })
            if run.tool == "flopcounter" and run.unsupported:  # fused kernels archscope could not see on meta
                met = ", ".join(f"{op} ×{calls}" for op, calls in run.unsupported)
                row["explanation"] += f"; its run met ops neither it nor archscope can price: {met}"
        rows.append(row)
    return {"batch": batch, "rows": rows}
