"""Every zoo entry pinned by the regression kit: a lock per entry under tests/locks/, compared on every
run through the pytest plugin's ``archscope_lock`` fixture (a refactor that moves a parameter or a
mult-add fails here with the layer that moved). `pytest --archscope-update` rewrites them.

The committed locks are archscope's own output, so their totals are also checked against counts
made without archscope: ``sum(p.numel())`` over the built model's parameters and FlopCounterMode's
total ÷ 2, both on the meta device.
"""

import json
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from archscope import zoo

LOCKS = Path(__file__).parent / "locks"


def lock_of(name: str) -> dict:
    return json.loads((LOCKS / f"test_locks.test_zoo_entry-{name}.lock.json").read_text())


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_entry(archscope_lock, name):
    analysis = archscope_lock(name)  # at the entry's own input
    assert analysis.trace.model == name


def test_every_lock_belongs_to_a_zoo_entry():
    assert sorted(path.name for path in LOCKS.glob("test_locks.*.lock.json")) == sorted(
        f"test_locks.test_zoo_entry-{name}.lock.json" for name in zoo.names())


@pytest.mark.parametrize("name", zoo.names())
def test_lock_totals_agree_with_torch(name):
    lock = lock_of(name)
    model = zoo.build(name, device="meta").eval()
    assert lock["totals"]["params"] == sum(p.numel() for p in model.parameters())
    assert lock["totals"]["params"] == zoo.entry(name).params  # the catalog's figure, from each source
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(*(torch.empty(shape, device="meta") for shape in lock["input"]))
    assert lock["totals"]["mult_adds"] * 2 == counter.get_total_flops()
    assert lock["layers"][0]["params"] == lock["totals"]["params"]
    assert lock["layers"][0]["mult_adds"] == lock["totals"]["mult_adds"]
