"""FLOPs of the ops torch's flop registry leaves out: normalization, activations, pooling,
elementwise arithmetic, reductions, softmax, and the ops that move or view data without arithmetic.

The per-element rates are archscope's convention and are stated beside each formula; normalization
follows fvcore's rates (affine eval batch norm: 2 per element; with statistics: 5, or 4 without affine).
"""

from __future__ import annotations

from math import prod

import torch

from archscope.formulas.registry import Cost, elementwise, first_shape, register_formula
from archscope.units import Category

aten = torch.ops.aten


@register_formula([aten.native_batch_norm, aten._native_batch_norm_legit, aten._native_batch_norm_legit_no_training],
                  Category.NORMALIZATION)
def batch_norm(x_shape, weight_shape, *args, out_shape=None, **kwargs) -> Cost:
    """Eval: statistics fold into one scale and shift (2/element, 1 without affine).
    Training: mean, variance, normalize (4/element), + 1 for the affine scale and shift."""
    training = next((a for a in args if isinstance(a, bool)), False)
    affine = weight_shape is not None
    per_element = (5 if affine else 4) if training else (2 if affine else 1)
    return elementwise(x_shape, per_element)


def _with_statistics(x_shape, weight_shape) -> Cost:
    """Statistics are always computed: 5 per element, 4 without affine (as in fvcore)."""
    return elementwise(x_shape, 5 if weight_shape is not None else 4)


@register_formula(aten.native_layer_norm, Category.NORMALIZATION)
def layer_norm(x_shape, normalized_shape, weight_shape, *args, out_shape=None, **kwargs) -> Cost:
    return _with_statistics(x_shape, weight_shape)


@register_formula(aten.native_group_norm, Category.NORMALIZATION)
def group_norm(x_shape, weight_shape, *args, out_shape=None, **kwargs) -> Cost:
    return _with_statistics(x_shape, weight_shape)


@register_formula([aten.relu, aten.relu_, aten.hardtanh, aten.hardtanh_, aten.leaky_relu, aten.leaky_relu_,
                   aten.sigmoid, aten.sigmoid_, aten.tanh, aten.tanh_, aten.gelu, aten.gelu_, aten.silu,
                   aten.silu_, aten.elu, aten.elu_, aten.hardswish, aten.hardswish_, aten.hardsigmoid,
                   aten.hardsigmoid_, aten.threshold, aten.threshold_, aten.softplus, aten.mish, aten.mish_,
                   aten._prelu_kernel, aten.log_sigmoid_forward],
                  Category.ACTIVATION)
def activation(x_shape, *args, out_shape=None, **kwargs) -> Cost:
    """One FLOP per element, whatever the function (a rate, not a cycle count)."""
    return elementwise(x_shape)


def _pool(spatial_dims: int):
    """The pooling formula of a 1-, 2- or 3-d op: its dimensionality, not the output's rank (an unbatched
    input has one dimension less), says how far a one-int kernel size repeats."""

    def pool(x_shape, kernel_size, *args, out_shape=None, **kwargs) -> Cost:
        """One FLOP per kernel element per output element (comparisons for max, adds and a divide for avg)."""
        sizes = list(kernel_size)
        return elementwise(first_shape(out_shape), prod(sizes * spatial_dims if len(sizes) == 1 else sizes))

    return pool


register_formula([aten.max_pool1d, aten.avg_pool1d], Category.POOLING)(_pool(1))
register_formula([aten.max_pool2d_with_indices, aten.max_pool2d, aten.avg_pool2d], Category.POOLING)(_pool(2))
register_formula([aten.max_pool3d_with_indices, aten.max_pool3d, aten.avg_pool3d], Category.POOLING)(_pool(3))


@register_formula([aten._adaptive_avg_pool2d, aten.adaptive_max_pool2d, aten._adaptive_avg_pool3d,
                   aten.adaptive_max_pool3d, aten.adaptive_avg_pool1d, aten.adaptive_max_pool1d],
                  Category.POOLING)
def adaptive_pool(x_shape, *args, out_shape=None, **kwargs) -> Cost:
    """Every input element is read into one window: one FLOP per input element."""
    return elementwise(x_shape)


@register_formula([aten.add, aten.add_, aten.sub, aten.sub_, aten.mul, aten.mul_, aten.div, aten.div_,
                   aten.neg, aten.pow, aten.pow_, aten.sqrt, aten.rsqrt, aten.exp, aten.log, aten.abs,
                   aten.clamp, aten.clamp_, aten.clamp_min, aten.clamp_min_, aten.clamp_max, aten.where,
                   aten.maximum, aten.minimum, aten.addcmul, aten.addcdiv, aten.reciprocal, aten.native_dropout,
                   aten.bernoulli_, aten.lerp, aten.sign, aten.eq, aten.ne, aten.gt, aten.lt, aten.ge, aten.le],
                  Category.ELEMENTWISE)
def arithmetic(*args, out_shape=None, **kwargs) -> Cost:
    """One FLOP per output element."""
    return elementwise(first_shape(out_shape))


@register_formula([aten.sum, aten.mean, aten.amax, aten.amin, aten.max, aten.min, aten.var, aten.std,
                   aten.var_mean, aten.argmax, aten.argmin, aten.norm, aten.linalg_vector_norm, aten.logsumexp],
                  Category.REDUCTION)
def reduction(x_shape, *args, out_shape=None, **kwargs) -> Cost:
    """One FLOP per input element."""
    return elementwise(x_shape)


@register_formula([aten._softmax, aten._log_softmax, aten._safe_softmax], Category.SOFTMAX)
def softmax(x_shape, *args, out_shape=None, **kwargs) -> Cost:
    """Safe softmax: max, subtract, exp, sum, divide: 5 per element."""
    return elementwise(x_shape, 5)


def _nothing(*args, **kwargs) -> Cost:
    return Cost(0, 0)


register_formula([aten.cat, aten.stack, aten.clone, aten.copy_, aten._to_copy, aten.constant_pad_nd,
                  aten.repeat, aten.index_select, aten.reflection_pad2d, aten.replication_pad2d,
                  aten.pixel_shuffle, aten.pixel_unshuffle, aten.roll, aten.flip, aten.gather,
                  aten.upsample_nearest2d, aten.index, aten.expand_copy, aten.channel_shuffle],
                 Category.CONCAT_COPY, get_raw=True)(_nothing)
register_formula([aten.view, aten._unsafe_view, aten.reshape, aten._reshape_alias, aten.t, aten.transpose,
                  aten.permute, aten.expand, aten.squeeze, aten.unsqueeze, aten.slice, aten.select, aten.split,
                  aten.split_with_sizes, aten.unbind, aten.detach, aten.alias, aten.as_strided, aten.empty,
                  aten.empty_like, aten.empty_strided, aten.zeros, aten.ones, aten.full, aten.zeros_like,
                  aten.ones_like, aten.full_like, aten.new_empty, aten.new_zeros, aten.new_ones, aten.fill_,
                  aten.zero_, aten.lift_fresh, aten.scalar_tensor, aten.arange, aten.unfold, aten.narrow,
                  aten.diagonal, aten.rand, aten.randn, aten.rand_like, aten.randn_like, aten.normal_, aten.uniform_,
                  aten._local_scalar_dense, aten.set_, aten.resize_],
                 Category.FREE, get_raw=True)(_nothing)
