"""Convolution, linear and the matmul family: torch's own formulas, halved into mult-adds.

torch's ``flop_registry`` counts 2 FLOPs per multiply-accumulate and ignores the bias; archscope takes
its count as the mult-adds (``flops // 2``) and adds one FLOP per output element for a bias.
"""

from __future__ import annotations

from math import prod

import torch
from torch.utils.flop_counter import flop_registry

from archscope.formulas.registry import Cost, register_formula
from archscope.units import Category, flops_from_mult_adds

aten = torch.ops.aten

# Where the packet takes its bias (or the added matrix of addmm/baddbmm), if it has one.
BIAS_ARGUMENT = {
    aten.addmm: 0,
    aten.baddbmm: 0,
    aten.convolution: 2,
    aten._convolution: 2,
    aten.convolution_overrideable: 2,
    aten._slow_conv2d_forward: 3,
}


def _adapt(packet, torch_formula):
    bias_position = BIAS_ARGUMENT.get(packet)

    def count(*args, out_val=None, **kwargs) -> Cost:
        mult_adds = torch_formula(*args, out_val=out_val, **kwargs) // 2
        has_bias = bias_position is not None and len(args) > bias_position and args[bias_position] is not None
        bias_adds = prod(out_val.shape) if has_bias else 0
        return Cost(mult_adds, flops_from_mult_adds(mult_adds) + bias_adds)

    return count


for _packet, _formula in flop_registry.items():
    if "backward" not in str(_packet):  # archscope counts forward passes
        register_formula(_packet, Category.CONV_LINEAR, get_raw=True)(_adapt(_packet, _formula))
