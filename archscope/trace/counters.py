"""Run the tools archscope is reconciled with — torchinfo, fvcore, torch's FlopCounterMode — for real,
on the cpu, and keep what each of them prints. A tool that cannot run the model gives a record with
its one-line reason, never an exception.

How each is called (the way its own documentation shows it):

- ``torchinfo.summary(model, input_data=..., verbose=0, device="cpu", mode=...)``: it runs the
  forward under ``torch.no_grad()`` itself (torchinfo.py forward_pass) and prints nothing at verbose 0.
- ``fvcore.nn.FlopCountAnalysis(model, inputs).total()``: torch.jit traces the model; its warnings
  (unsupported ops, uncalled modules, the tracer's own) are silenced and its unsupported ops kept as
  data (``CounterRun.unsupported``).
- ``with FlopCounterMode(display=False): model(*inputs)``, gradients enabled as in torch's docstring:
  under ``no_grad`` nn.MultiheadAttention and nn.TransformerEncoderLayer take their fused fast path
  (one aten op with no formula), which a model that trains never runs. The ops it met without a
  formula that archscope cannot price either (fused kernels) are kept in ``unsupported``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import logging
import warnings
from collections import Counter
from importlib.metadata import version

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from archscope.records import CounterRun
from archscope.units import Mode


def _one_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0][:300]


def _torchinfo(model: nn.Module, inputs: tuple, mode: Mode) -> tuple[dict[str, int], Counter]:
    import torchinfo

    stats = torchinfo.summary(model, input_data=list(inputs), verbose=0, device="cpu", mode=mode.value)
    return {"params": stats.total_params, "trainable_params": stats.trainable_params,
            "mult_adds": stats.total_mult_adds, "input_bytes": stats.total_input,
            "forward_backward_bytes": stats.total_output_bytes, "params_bytes": stats.total_param_bytes}, Counter()


@contextlib.contextmanager
def _quiet():
    """fvcore warns through the warnings module, its loggers and the jit tracer: silence all three."""
    logger = logging.getLogger("fvcore")
    level = logger.level
    try:
        logger.setLevel(logging.CRITICAL)
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _fvcore(model: nn.Module, inputs: tuple, mode: Mode) -> tuple[dict[str, int], Counter]:
    from fvcore.nn import FlopCountAnalysis

    model.train(mode is Mode.TRAIN)
    analysis = FlopCountAnalysis(model, inputs)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    with _quiet():
        total = analysis.total()
        unsupported = analysis.unsupported_ops()
    return {"flops": int(total)}, Counter(unsupported)


class _OpsSeen(TorchDispatchMode):
    """Counts the aten ops a run dispatches (nested inside FlopCounterMode: it sees the same ops)."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # as trace/recorder.py: no torch._dynamo import for a mode that never compiles

    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[func._overloadpacket] += 1
        return func(*args, **(kwargs or {}))


def _flopcounter(model: nn.Module, inputs: tuple, mode: Mode) -> tuple[dict[str, int], Counter]:
    from torch.utils.flop_counter import FlopCounterMode, flop_registry

    from archscope.formulas import lookup

    model.train(mode is Mode.TRAIN)
    with FlopCounterMode(display=False) as counter, _OpsSeen() as seen:
        model(*inputs)
    unpriced = Counter({str(packet): calls for packet, calls in seen.ops.items()
                        if packet not in flop_registry and lookup(packet) is None})
    return {"flops": counter.get_total_flops()}, unpriced


TOOLS = {"torchinfo": (_torchinfo, "torchinfo"), "fvcore": (_fvcore, "fvcore"), "flopcounter": (_flopcounter, "torch")}


def run_counters(model: nn.Module, shapes: list[tuple[int, ...]], mode: Mode = Mode.EVAL,
                 scale: int = 1) -> tuple[CounterRun, ...]:
    """Each tool on ``model`` with seeded random float32 inputs of ``shapes``, in ``mode``. The tools
    run on a copy: the user's model keeps its parameters, buffers and training flag. ``scale`` is what
    their batch-proportional figures are multiplied by (the caller checked the model is linear in batch)."""
    batch = shapes[0][0] if shapes and shapes[0] else 1
    if any(tensor.is_meta for tensor in [*model.parameters(), *model.buffers()]):
        reason = "the model's parameters are on the meta device; counters need real ones"
        return tuple(CounterRun(tool, version(package), "skipped", reason, batch, scale=scale)
                     for tool, (_, package) in TOOLS.items())
    model = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(0)
    inputs = tuple(torch.rand(shape, generator=generator) for shape in shapes)
    runs = []
    for tool, (run, package) in TOOLS.items():
        try:
            with warnings.catch_warnings():  # torch's own notes ("LSTM with projections is not supported with oneDNN")
                warnings.simplefilter("ignore")
                figures, unsupported = run(model, inputs, mode)
        except Exception as error:  # a counter that cannot run the model is a finding, not a crash
            runs.append(CounterRun(tool, version(package), "failed", _one_line(error), batch, scale=scale))
            continue
        runs.append(CounterRun(tool, version(package), "ok", "", batch, tuple(sorted(figures.items())), scale,
                               tuple(sorted(unsupported.items()))))
    return tuple(runs)
