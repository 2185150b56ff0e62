"""Invariants every zoo entry must hold, checked against torchinfo and FlopCounterMode run for real."""

import pytest
import torch
import torchinfo
from torch.utils.flop_counter import FlopCounterMode

import archscope
from archscope import zoo


def small_input(name):
    """The entry's default input at batch 1: keeps the real cpu runs short."""
    return [(1, *shape[1:]) for shape in zoo.entry(name).default_input]


@pytest.mark.parametrize("name", zoo.names())
def test_entry_metadata(name):
    entry = zoo.entry(name)
    assert entry.source and entry.description and entry.default_input
    model = zoo.build(name, device="meta")
    assert isinstance(model, torch.nn.Module)
    assert all(p.is_meta for p in model.parameters())
    assert entry.params == sum(p.numel() for p in model.parameters()), "catalog params is stale"


@pytest.mark.parametrize("name", zoo.names())
def test_against_torchinfo_and_flop_counter(name):
    shapes = small_input(name)
    model = zoo.build(name).eval()
    inputs = [torch.rand(shape) for shape in shapes]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*inputs)
    stats = torchinfo.summary(model, input_data=inputs, verbose=0)
    analysis = archscope.analyze(model, shapes)
    totals = analysis.totals
    assert totals["params"] == sum(p.numel() for p in model.parameters())
    assert totals["params"] == stats.total_params and totals["trainable_params"] == stats.trainable_params
    assert totals["forward_backward_bytes"] == stats.total_output_bytes
    assert totals["params_bytes"] == stats.total_param_bytes
    assert totals["input_bytes"] == sum(x.numel() * x.element_size() for x in inputs)
    assert totals["mult_adds"] * 2 == counter.get_total_flops()
    assert analysis.complete, analysis.uncounted


@pytest.mark.parametrize("name", zoo.names())
def test_meta_shapes_equal_cpu_shapes(name):
    shapes = small_input(name)
    on_meta = archscope.analyze(name, shapes)
    on_cpu = archscope.analyze(name, shapes, device="cpu")
    assert on_cpu.trace.device == "cpu" and on_meta.trace.device == "meta"
    assert [(r["path"], r["output_shapes"]) for r in on_meta.rows] == [(r["path"], r["output_shapes"]) for r in on_cpu.rows]
    assert on_meta.totals == on_cpu.totals
