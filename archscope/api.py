"""``analyze``: resolve the model, trace it once, and wrap the records in an ``Analysis``."""

from __future__ import annotations

from functools import cached_property

from archscope.analysis import flops_by_category, layer_rows, stage_table, totals, uncounted, weighted_depth
from archscope.analysis.conventions import convention_totals
from archscope.analysis.dataflow import DataFlow
from archscope.analysis.reconcile import linear_in_batch, reconcile
from archscope.errors import ArchscopeError, ForwardError, UsageError
from archscope.inputs import validate_input_size
from archscope.loading import load_model, require_input
from archscope.records import SCHEMA_VERSION, CounterRun, Trace
from archscope.units import Convention, Device, Mode, parse_enum


class Analysis:
    """A traced model's numbers: ``totals``, ``layers`` (a DataFrame), ``to_dict()``.

    ``totals`` follow ``convention`` (another tool's rules, rebuilt from the same records);
    ``own_totals`` are always archscope's.
    """

    def __init__(self, trace: Trace, convention: Convention = Convention.ARCHSCOPE) -> None:
        self.trace = trace
        self.convention = convention
        self.rows = layer_rows(trace)
        self.own_totals = totals(trace, self.rows)
        self.totals, self.convention_components = convention_totals(trace, self.own_totals, convention)
        self.flops_by_category = flops_by_category(trace)
        self.uncounted = uncounted(trace)
        self.dataflow = DataFlow(trace)  # its graph-wide answers are computed on first use
        self.stages = stage_table(self.dataflow, self.rows)
        self.depth = weighted_depth(trace)

    @property
    def complete(self) -> bool:
        """True when every op that ran has a cost formula."""
        return not self.uncounted

    @property
    def layers(self):
        return _frame(self.rows)

    # -- what the design saves (analysis/savings.py, receptive.py, heads.py): computed on first use
    @cached_property
    def savings(self) -> dict:
        """``{"bottlenecks", "factorizations", "receptive_fields", "heads"}`` as JSON-ready dicts."""
        from archscope.analysis.heads import heads
        from archscope.analysis.receptive import fields, receptive_fields
        from archscope.analysis.savings import bottlenecks, factorizations, pool_projections

        flow = self.dataflow
        found = fields(flow)
        return {
            "bottlenecks": {**bottlenecks(flow), "projections": pool_projections(flow)},
            "factorizations": factorizations(flow),
            "receptive_fields": receptive_fields(flow, found),
            "heads": heads(flow, self.rows, self.own_totals, found),
        }

    @property
    def bottlenecks(self):
        """One row per 1×1 reduction: direct k×k against 1×1 + k×k (subtotals: ``to_dict()``)."""
        return _frame(self.savings["bottlenecks"]["rows"])

    @property
    def projections(self):
        """Inception's pool → 1×1 projections and the channels they keep out of their block."""
        return _frame(self.savings["bottlenecks"]["projections"])

    @property
    def factorizations(self):
        """One row per factorized pair: the single kernel it replaces against the pair."""
        return _frame(self.savings["factorizations"]["rows"])

    @property
    def receptive_fields(self):
        """Receptive field, effective stride and padding along the main path."""
        return _frame(self.savings["receptive_fields"]["rows"])

    @property
    def heads(self):
        """The classifier against its alternative, auxiliary heads, modules that did not run."""
        from archscope.analysis.heads import head_rows

        return _frame(head_rows(self.savings["heads"], self.own_totals["params"]))

    @cached_property
    def counterfactual(self) -> dict | None:
        """The zoo entry's counterfactual (``googlenet`` → ``googlenet-naive``), traced at the same
        input: its totals beside this model's and the channels of each block, or None."""
        from archscope import zoo

        if self.trace.model not in zoo.names() or not zoo.entry(self.trace.model).counterfactual:
            return None
        name = zoo.entry(self.trace.model).counterfactual
        other = analyze(name, [spec.shape for spec in self.trace.inputs], device=self.trace.device,
                        mode=self.trace.mode)
        theirs = {call.path: call for call in other.dataflow.main_calls}
        blocks = [
            {"path": call.path, "channels": call.outputs[0].shape[1], "counterfactual": theirs[call.path].outputs[0].shape[1]}
            for call in self.dataflow.main_calls
            if call.path in theirs and call.index in self.dataflow.children and len(call.outputs[0].shape) > 1
        ]
        keys = ("params", "mult_adds", "forward_backward_bytes", "params_bytes")
        return {"model": name, "description": zoo.entry(name).description,
                "totals": {key: self.own_totals[key] for key in keys},
                "counterfactual_totals": {key: other.own_totals[key] for key in keys}, "blocks": blocks}

    def to_dict(self, counterfactual: bool = False) -> dict:
        """The ``summary --format json`` document; ``counterfactual=True`` adds ``counterfactual``
        (it traces a second model)."""
        extra = {"counterfactual": self.counterfactual} if counterfactual else {}
        return {
            "schema_version": SCHEMA_VERSION,
            "model": self.trace.model,
            "input": [list(spec.shape) for spec in self.trace.inputs],
            "device": self.trace.device,
            "mode": self.trace.mode,
            "convention": self.convention.value,
            "totals": self.totals,
            "depth": self.depth,
            "flops_by_category": self.flops_by_category,
            "complete": self.complete,
            "uncounted": self.uncounted,
            "notices": list(self.trace.notices),
            "stages": self.stages,
            **self.savings,
            **extra,
            "layers": self.rows,
        }

    def _repr_html_(self) -> str:
        """In Jupyter: the HTML report's summary part (header, totals, stage table)."""
        from archscope import zoo
        from archscope.render.report import summary_html

        name = self.trace.model
        entry = zoo.entry(name).to_dict() if name in zoo.names() else None
        return summary_html(self.to_dict(), entry, versions())

    def __repr__(self) -> str:
        return f"<Analysis {self.trace.model} {self.totals['params']:,} params {self.totals['mult_adds']:,} mult-adds>"


def _frame(rows: list[dict]):
    import pandas  # imported on demand: 0.3 s that summary's text and JSON do not need

    return pandas.DataFrame(rows)


def versions() -> dict[str, str]:
    """What a report names as having made it."""
    import torch

    from archscope import __version__

    return {"archscope": __version__, "torch": torch.__version__}


def _needs_real_tensors(error: ForwardError) -> bool:
    """A forward that failed only because meta tensors hold no data (``.item()``, ``nonzero``, ...)."""
    return "meta" in f"{error.reason} {error.__cause__}".lower()


def analyze(model, input_size=None, *, input_data=None, device="meta", mode="eval", name: str | None = None,
            convention="archscope", weights=None) -> Analysis:
    """Trace ``model`` (zoo name, MODEL spec, ``nn.Module`` or factory) once and analyse it.

    ``input_size`` is one shape or a list of shapes (float32 inputs); ``input_data`` is a tensor, a
    tuple of positional arguments, or a dict of keyword arguments. On ``device="meta"`` no arithmetic
    runs; a model that needs real values falls back to the cpu, with a notice in ``trace.notices``.
    ``convention`` ("archscope", "torchinfo", "fvcore", "flopcounter"): whose rules ``totals`` follow.
    ``weights``: a checkpoint file (read with ``weights_only=True``) or a state dict, checked against
    the model and run in place of its tensors on the cpu; the model is not changed.
    """
    from archscope.trace import make_inputs, trace
    from archscope.weights import check_weights, load_weights

    device = parse_enum(Device, device, "device")
    mode = parse_enum(Mode, mode, "mode")
    convention = parse_enum(Convention, convention, "convention")
    label, module, entry = load_model(model, device)
    input_size = require_input(entry, input_size, input_data)
    shapes = validate_input_size(input_size) if input_data is None else None
    if weights is not None:
        weights, source = load_weights(weights)
        check_weights(module, weights, source)

    def run(on: Device) -> Trace:
        if shapes is not None:
            args, kwargs = make_inputs(shapes, on), {}
        elif isinstance(input_data, dict):
            args, kwargs = (), dict(input_data)
        else:
            args, kwargs = (tuple(input_data) if isinstance(input_data, (tuple, list)) else (input_data,)), {}
        return trace(module, args, kwargs, name=name or label, device=on, mode=mode, weights=weights)

    try:
        return Analysis(run(device), convention)
    except ForwardError as error:
        if device is not Device.META or not _needs_real_tensors(error):
            raise
        notice = f"meta tensors cannot run this model ({error.reason}); ran it on cpu instead"
    fallback = run(Device.CPU)
    return Analysis(Trace(**{**fallback.__dict__, "notices": fallback.notices + (notice,)}), convention)


# A counter that cannot run at batch 1 runs at the full batch, unless the outputs of its leaf layers
# alone would take more than this many bytes of real memory.
FULL_BATCH_BYTES = 4 * 10**9


def counters(model, input_size=None, *, analysis: Analysis | None = None) -> dict:
    """torchinfo, fvcore and FlopCounterMode run for real on the cpu, beside archscope's reproduction
    of each and whether they are equal (``analysis.reconcile.reconcile``: ``{"batch", "rows"}``).

    ``model``: a zoo name or spec (built on the cpu with fresh weights) or a module (copied, never
    changed). The tools run at batch 1 when archscope's trace shows the model is linear in batch
    (``linear_in_batch``; their figures are then scaled by the batch), else at the full batch. They
    run in ``analysis.mode`` (eval by default)."""
    from archscope.trace.counters import TOOLS, run_counters

    label, module, entry = load_model(model, Device.CPU)
    shapes = validate_input_size(require_input(entry, input_size, None))
    mode = Mode(analysis.trace.mode) if analysis is not None else Mode.EVAL
    analysis = analysis or analyze(module, shapes, name=label, mode=mode)
    batch = shapes[0][0]
    single = None
    if batch > 1 and all(shape and shape[0] == batch for shape in shapes):
        ones = [(1, *shape[1:]) for shape in shapes]
        candidate = analyze(module, ones, name=label, mode=mode).trace
        if linear_in_batch(analysis.trace, candidate, batch):
            single = candidate
    if single is not None:
        runs = run_counters(module, [(1, *shape[1:]) for shape in shapes], mode, scale=batch)
    else:
        leaf_bytes = sum(row["output_bytes"] for row in analysis.rows if row["is_leaf"])
        if leaf_bytes > FULL_BATCH_BYTES:
            from importlib.metadata import version

            reason = (f"not linear in batch, so it would run at batch {batch}, whose layer outputs alone take "
                      f"{leaf_bytes / 1e9:.1f} GB; give a smaller batch")
            runs = tuple(CounterRun(tool, version(package), "skipped", reason, batch)
                         for tool, (_, package) in TOOLS.items())
        else:
            runs = run_counters(module, shapes, mode)
    return reconcile(analysis.trace, analysis.own_totals, single, runs)


def check(models: list[str] | None = None, *, analysis: Analysis | None = None) -> list:
    """The verdict on every claim (archscope/claims/*.toml) about ``models`` (None: the whole zoo), in
    file order. Each model is traced once per input and options its claims name; ``analysis``, when
    it is a zoo model's analysis at default options, serves the claims made at its input."""
    from archscope import zoo
    from archscope.claims.check import judge
    from archscope.claims.load import ClaimFileError, load_all

    unknown = sorted(set(models or ()) - set(zoo.names()))
    if unknown:
        raise UsageError(f"unknown model {', '.join(map(repr, unknown))}; see archscope list")
    claims = [claim for claim in load_all() if models is None or claim.model in models]
    traced: dict[tuple, Analysis] = {}
    if analysis is not None:
        traced[(analysis.trace.model, tuple(spec.shape for spec in analysis.trace.inputs), ())] = analysis
    verdicts = []
    for claim in claims:
        shapes = claim.input or tuple(map(tuple, zoo.entry(claim.model).default_input))
        if not claim.checkable:
            verdicts.append(judge(claim, None, shapes))
            continue
        key = (claim.model, shapes, claim.options)
        if key not in traced:
            try:
                module = zoo.build(claim.model, device=Device.META.value, **dict(claim.options))
                traced[key] = analyze(module, [list(shape) for shape in shapes], name=claim.model)
            except ArchscopeError as error:  # a claim's input or options the model does not take
                raise ClaimFileError(f"{claim.at} ({claim.id}): {claim.model}: {error}") from error
        verdicts.append(judge(claim, traced[key], shapes))
    return verdicts


def diff(model_a, model_b, input_size=None, *, device="meta") -> dict:
    """Where ``model_b`` differs from ``model_a``, both traced at ``input_size`` (default: ``model_a``'s
    zoo input; a zoo ``model_b`` that cannot take it, at its own): the ``archscope diff --format json``
    document (``analysis.diff.model_diff``)."""
    from archscope.analysis.diff import model_diff
    from archscope.loading import is_zoo_name

    first = analyze(model_a, input_size, device=device)
    shapes = [list(spec.shape) for spec in first.trace.inputs]
    try:
        second = analyze(model_b, shapes, device=device)
    except ForwardError as error:
        if input_size is not None:
            raise
        if not is_zoo_name(model_b):
            raise UsageError(f"{error} (traced at the input of {first.trace.model}; give an input size that "
                             "both models take: --input, or input_size= in Python)") from error
        second = analyze(model_b, None, device=device)
    return model_diff(*((analysis.trace.model, analysis.trace, analysis.rows, analysis.own_totals)
                        for analysis in (first, second)))


__all__ = ["Analysis", "UsageError", "analyze", "check", "counters", "diff"]
