"""Run the tools archscope is reconciled with — torchinfo, fvcore, torch's FlopCounterMode — for real,
on the cpu, and keep what each of them prints. A tool that cannot run the model gives a record with
its one-line reason, never an exception.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from importlib.metadata import version

import torch
from torch import nn

from archscope.records import CounterRun


def _one_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def _torchinfo(model: nn.Module, inputs: tuple) -> dict[str, int]:
    import torchinfo

    stats = torchinfo.summary(model, input_data=list(inputs), verbose=0, device="cpu", mode="eval")
    return {"params": stats.total_params, "trainable_params": stats.trainable_params,
            "mult_adds": stats.total_mult_adds, "input_bytes": stats.total_input,
            "forward_backward_bytes": stats.total_output_bytes, "params_bytes": stats.total_param_bytes}


def _fvcore(model: nn.Module, inputs: tuple) -> dict[str, int]:
    from fvcore.nn import FlopCountAnalysis

    analysis = FlopCountAnalysis(model, inputs)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")  # its torch.jit.trace warns about every python-level branch
        total = analysis.total()
    return {"flops": total}


def _flopcounter(model: nn.Module, inputs: tuple) -> dict[str, int]:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as mode, torch.no_grad():
        model(*inputs)
    return {"flops": mode.get_total_flops()}


TOOLS = {"torchinfo": (_torchinfo, "torchinfo"), "fvcore": (_fvcore, "fvcore"), "flopcounter": (_flopcounter, "torch")}


def run_counters(model: nn.Module, shapes: list[tuple[int, ...]]) -> tuple[CounterRun, ...]:
    """Each tool on ``model`` (real parameters, left as they were: the runs are in eval mode on a
    copy) with seeded random float32 inputs of ``shapes``."""
    batch = shapes[0][0] if shapes and shapes[0] else 1
    if any(parameter.is_meta for parameter in model.parameters()):
        reason = "the model's parameters are on the meta device; counters need real ones"
        return tuple(CounterRun(tool, version(package), "skipped", reason, batch) for tool, (_, package) in TOOLS.items())
    import copy

    model = copy.deepcopy(model).eval()
    generator = torch.Generator().manual_seed(0)
    inputs = tuple(torch.rand(shape, generator=generator) for shape in shapes)
    runs = []
    for tool, (run, package) in TOOLS.items():
        try:
            figures = run(model, inputs)
        except Exception as error:  # a counter that cannot run the model is a finding, not a crash
            runs.append(CounterRun(tool, version(package), "failed", _one_line(error), batch))
            continue
        runs.append(CounterRun(tool, version(package), "ok", "", batch, tuple(sorted(figures.items()))))
    return tuple(runs)
