"""Output shapes for the ops whose meta kernels are slow on first use.

Many meta kernels are Python functions, and the first one a process calls imports torch._refs,
torch._decomp and sympy: about a second, for shape rules a few lines long. On meta inputs the tracer answers these
ops here (outputs are made with ``torch.empty``: even ``empty_like`` has a Python meta kernel).
Anything unusual (transposed convolutions, mismatched channels, a collapsed spatial size)
returns None, and the real meta kernel runs and raises torch's own error.
"""

from __future__ import annotations

import torch

aten = torch.ops.aten


def _conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def convolution(x, weight, bias, stride, padding, dilation, transposed, output_padding, groups):
    spatial = x.dim() - 2
    if transposed or spatial < 1 or weight.dim() != x.dim():
        return None
    if x.shape[1] != weight.shape[1] * groups:
        # torch's meta kernel only says "Invalid channel dimensions"; its cpu kernel's words say which
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {weight.shape[1] * groups} channels, but got {x.shape[1]} "
                           f"channels instead")
    if weight.shape[0] % groups or (bias is not None and tuple(bias.shape) != (weight.shape[0],)):
        return None
    if not (len(stride) == len(padding) == len(dilation) == spatial) or min(stride) < 1:
        return None
    if x.shape[1] == 0:  # torch's meta kernel then gives 0 output channels, whatever the weight says
        return None
    sizes = [_conv_out_size(*args) for args in zip(x.shape[2:], weight.shape[2:], stride, padding, dilation)]
    if min(sizes) < 1 or x.dtype != weight.dtype:
        return None
    return _empty((x.shape[0], weight.shape[0], *sizes), x.dtype)


def batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps):
    if x.dim() < 2 or not x.dtype.is_floating_point:
        return None
    if not training and (running_mean is None or running_var is None):
        return None  # torch refuses eval without running statistics
    if training and x.numel() <= x.shape[1]:
        return None  # at most one value per channel: torch's meta and cpu kernels each raise their own way
    channels = (x.shape[1],)
    if any(t is not None and tuple(t.shape) != channels for t in (weight, bias, running_mean, running_var)):
        return None
    like_input = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")
    # Saved mean and inverse std are kept in the compute dtype: float32 for half-precision inputs.
    stats = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    return like_input, _empty(channels, stats), _empty(channels, stats)


def cat(tensors, dim=0):
    tensors = [t for t in tensors if not (t.dim() == 1 and t.shape[0] == 0)]  # torch skips legacy empties
    if not tensors or not all(t.is_contiguous() for t in tensors):
        return None  # channels-last inputs give a channels-last result: the real kernel knows the layout
    first = tensors[0]
    rank = first.dim()
    if rank == 0 or not -rank <= dim < rank:
        return None
    dim %= rank
    for t in tensors:
        if t.dim() != rank or t.dtype != first.dtype or not t.is_meta:
            return None
        if any(a != b for axis, (a, b) in enumerate(zip(t.shape, first.shape)) if axis != dim):
            return None
    shape = list(first.shape)
    shape[dim] = sum(t.shape[dim] for t in tensors)
    return _empty(shape, first.dtype)


def _pool_out_size(size, kernel, stride, padding, dilation, ceil_mode) -> int:
    """torch's pooling_output_shape: floor or ceil, and a last window must start inside the input."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = span // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pool_shape(x, kernel_size, stride, padding, dilation, ceil_mode):
    """Output shape of a 2-d pooling, or None where torch would refuse the arguments.

    A non-contiguous (channels-last) input keeps its layout in torch's output: the real kernel answers it.
    """
    if x.dim() not in (3, 4) or 0 in x.shape[-3:] or not x.is_contiguous():
        return None

    def pair(value):
        value = list(value) if isinstance(value, (list, tuple)) else [value]
        return value * 2 if len(value) == 1 else value

    kernel, stride, padding, dilation = (pair(v) for v in (kernel_size, stride or kernel_size, padding, dilation))
    if any(len(v) != 2 for v in (kernel, stride, padding, dilation)):
        return None  # torch takes one int or two per argument
    sizes = []
    for size, k, st, p, d in zip(x.shape[-2:], kernel, stride, padding, dilation):
        if k < 1 or st < 1 or d < 1 or p < 0 or p > k // 2:  # half the kernel, dilated or not (pool2d_shape_check)
            return None
        sizes.append(_pool_out_size(size, k, st, p, d, ceil_mode))
    if min(sizes) < 1:
        return None
    return (*x.shape[:-2], *sizes)


def max_pool2d_with_indices(x, kernel_size, stride=(), padding=0, dilation=1, ceil_mode=False):
    shape = _pool_shape(x, kernel_size, stride, padding, dilation, ceil_mode)
    return None if shape is None else (_empty(shape, x.dtype), _empty(shape, torch.int64))


def avg_pool2d(x, kernel_size, stride=(), padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    if divisor_override == 0:
        return None
    shape = _pool_shape(x, kernel_size, stride, padding, 1, ceil_mode)
    return None if shape is None else _empty(shape, x.dtype)


def addmm(bias, m1, m2, beta=1, alpha=1):
    if m1.dim() != 2 or m2.dim() != 2 or m1.shape[1] != m2.shape[0] or bias.dim() > 2:
        return None
    rows, cols = m1.shape[0], m2.shape[1]
    if any(b not in (1, n) for b, n in zip(reversed(bias.shape), (cols, rows))):
        return None
    if not (m1.dtype == m2.dtype == bias.dtype):
        return None
    return _empty((rows, cols), m1.dtype)


def mean_dim(x, dim, keepdim=False, dtype=None):
    if dtype is not None or not x.dtype.is_floating_point or x.dim() == 0:
        return None
    dims = [dim] if isinstance(dim, int) else list(dim or range(x.dim()))
    if any(not -x.dim() <= d < x.dim() for d in dims):
        return None
    reduced = {d % x.dim() for d in dims}
    if len(reduced) != len(dims):
        return None  # torch refuses a dim listed twice
    shape = [1 if axis in reduced else size for axis, size in enumerate(x.shape) if keepdim or axis not in reduced]
    return _empty(shape, x.dtype)


def _empty(shape, dtype):
    return torch.empty(shape, dtype=dtype, device="meta")


SHAPE_RULES = {
    aten.convolution.default: convolution,
    aten.native_batch_norm.default: batch_norm,
    aten.cat.default: cat,
    aten.max_pool2d_with_indices.default: max_pool2d_with_indices,
    aten.avg_pool2d.default: avg_pool2d,
    aten.addmm.default: addmm,
    aten.mean.dim: mean_dim,
}


def meta_output(func, args, kwargs):
    """The op's output computed from shapes alone, or None when the real kernel must run."""
    rule = SHAPE_RULES.get(func)
    if rule is None or kwargs:
        return None
    first = args[0][0] if isinstance(args[0], (list, tuple)) and args[0] else args[0]
    if not isinstance(first, torch.Tensor) or not first.is_meta:
        return None
    return rule(*args)
