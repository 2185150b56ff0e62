"""Shape rules and cost formulas against torch's own kernels, hand formulas, FlopCounterMode and fvcore.

Expected values never come from archscope: a shape rule is compared with the aten op it stands in for
(called on meta tensors, no dispatch mode active), a cost with a formula written out here or with an
independent counter.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from fvcore.nn import FlopCountAnalysis
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archscope
from archscope.formulas import Cost, lookup, register_formula
from archscope.formulas import registry
from archscope.trace.meta_shapes import SHAPE_RULES, meta_output
from archscope.units import Category

aten = torch.ops.aten
SETTINGS = settings(max_examples=50, deadline=None)
FLOATS = [torch.float32, torch.float16, torch.bfloat16, torch.float64]


def meta(*shape, dtype=torch.float32):
    return torch.empty(shape, dtype=dtype, device="meta")


def describe(out):
    """Everything a later op can see of an output: shape, dtype, device and layout, element by element."""
    if isinstance(out, torch.Tensor):
        return tuple(out.shape), out.dtype, out.device.type, out.stride()
    assert isinstance(out, tuple), type(out)
    return tuple(describe(element) for element in out)


def run_real(op, args):
    try:
        return op(*args), None
    except Exception as error:  # noqa: BLE001  (whatever torch raises is torch's own error)
        return None, error


def check_rule(op, *args, must_answer=True):
    """The rule agrees with the real meta kernel, or declines (None) so that the kernel runs.

    Where the kernel raises, the rule must decline: torch's own error reaches the user.
    """
    real, error = run_real(op, args)
    rule = SHAPE_RULES[op](*args)
    if error is not None:
        assert rule is None, f"rule answered {describe(rule)} where torch raises {error!r}"
        return None
    if must_answer:
        assert rule is not None, "rule declined valid arguments"
    if rule is not None:
        assert describe(rule) == describe(real)
        assert describe(meta_output(op, args, {})) == describe(real)  # the recorder's entry point
    return real


def check_declines(op, *args, real_raises=True):
    assert SHAPE_RULES[op](*args) is None
    assert meta_output(op, args, {}) is None
    if real_raises:
        with pytest.raises(Exception):
            op(*args)


# ---------------------------------------------------------------------------------------------------
# 1. Shape rules
# ---------------------------------------------------------------------------------------------------

TESTED_RULES = {aten.convolution.default, aten.native_batch_norm.default, aten.cat.default,
                aten.max_pool2d_with_indices.default, aten.avg_pool2d.default, aten.addmm.default, aten.mean.dim}


def test_every_shape_rule_is_tested_here():
    assert set(SHAPE_RULES) == TESTED_RULES


@st.composite
def conv_arguments(draw):
    spatial = draw(st.integers(1, 3))
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 3)), groups * draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 3)) for _ in range(spatial)]
    stride = [draw(st.integers(1, 3)) for _ in range(spatial)]
    padding = [draw(st.integers(0, 2)) for _ in range(spatial)]
    dilation = [draw(st.integers(1, 2)) for _ in range(spatial)]
    sizes = [draw(st.integers(1, 9)) for _ in range(spatial)]
    dtype = draw(st.sampled_from(FLOATS))
    bias = meta(c_out, dtype=dtype) if draw(st.booleans()) else None
    x = meta(draw(st.integers(0, 2)), c_in, *sizes, dtype=dtype)
    weight = meta(c_out, c_in // groups, *kernel, dtype=dtype)
    return x, weight, bias, stride, padding, dilation, False, [0] * spatial, groups


@SETTINGS
@given(conv_arguments())
def test_convolution_rule_matches_meta_kernel(args):
    """Conv 1d/2d/3d, stride, padding, dilation, groups, bias, batch 0; sizes that collapse are refused."""
    x, weight, _, stride, padding, dilation, *_ = args
    out = check_rule(aten.convolution.default, *args)
    collapses = any((size + 2 * p - d * (k - 1) - 1) // s + 1 < 1
                    for size, k, s, p, d in zip(x.shape[2:], weight.shape[2:], stride, padding, dilation))
    assert (out is None) == collapses


@pytest.mark.parametrize("case", ["collapsed size", "dilated kernel too big",
                                  "zero stride", "unbatched"])
def test_convolution_rule_declines_invalid_arguments(case):
    x, weight, stride, dilation, groups = meta(2, 3, 5, 5), meta(4, 3, 3, 3), [1, 1], [1, 1], 1
    if case == "collapsed size":
        x = meta(2, 3, 2, 5)
    elif case == "dilated kernel too big":
        dilation = [3, 3]
    elif case == "zero stride":
        stride = [0, 1]
    else:
        x = meta(3, 5, 5)
    check_declines(aten.convolution.default, x, weight, None, stride, [0, 0], dilation, False, [0, 0], groups)


@pytest.mark.parametrize("weight_shape, groups", [((4, 2, 3, 3), 1), ((4, 3, 3, 3), 2)])
def test_convolution_rule_words_a_channel_mismatch_as_the_cpu_kernel_does(weight_shape, groups):
    """torch's meta kernel says only "Invalid channel dimensions"; the cpu kernel's words name the shapes."""
    args = (None, [1, 1], [0, 0], [1, 1], False, [0, 0], groups)
    with pytest.raises(RuntimeError) as cpu:
        aten.convolution.default(torch.zeros(2, 3, 5, 5), torch.zeros(weight_shape), *args)
    with pytest.raises(RuntimeError) as rule:
        SHAPE_RULES[aten.convolution.default](meta(2, 3, 5, 5), meta(*weight_shape), *args)
    assert str(rule.value) == str(cpu.value)


def test_convolution_rule_leaves_dtype_mismatch_and_transposed_to_torch():
    # torch's meta kernel accepts mixed dtypes; the cpu kernel refuses them: the rule must not decide.
    args = (meta(2, 3, 5, 5), meta(4, 3, 3, 3, dtype=torch.float64), None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1)
    check_declines(aten.convolution.default, *args, real_raises=False)
    with pytest.raises(RuntimeError):
        aten.convolution.default(*[torch.zeros(a.shape, dtype=a.dtype) if isinstance(a, torch.Tensor) else a
                                   for a in args])
    # Transposed convolutions are valid, but their shape rule is torch's, not ours.
    transposed = (meta(2, 3, 5, 5), meta(3, 4, 3, 3), None, [2, 2], [1, 1], [1, 1], True, [1, 1], 1)
    check_declines(aten.convolution.default, *transposed, real_raises=False)
    assert aten.convolution.default(*transposed).shape == (2, 4, 10, 10)  # (5-1)*2 - 2 + 3 + 1
    # Zero input channels: torch's meta kernel answers 0 output channels; the rule leaves it the case.
    check_declines(aten.convolution.default, meta(2, 0, 5, 5), meta(4, 0, 3, 3), None, [1, 1], [0, 0], [1, 1],
                   False, [0, 0], 1, real_raises=False)


@SETTINGS
@given(rank=st.integers(2, 5), channels=st.integers(1, 4), training=st.booleans(), affine=st.booleans(),
       running=st.booleans(), dtype=st.sampled_from(FLOATS), float32_params=st.booleans(), data=st.data())
def test_batch_norm_rule_matches_meta_kernel(rank, channels, training, affine, running, dtype, float32_params, data):
    """Train/eval, with and without affine and running stats, half inputs (float32 statistics)."""
    x = meta(data.draw(st.integers(1, 3)), channels, *[data.draw(st.integers(1, 4)) for _ in range(rank - 2)],
             dtype=dtype)
    param_dtype = torch.float32 if float32_params else dtype
    weight, bias = (meta(channels, dtype=param_dtype), meta(channels, dtype=param_dtype)) if affine else (None, None)
    mean, var = (meta(channels, dtype=param_dtype), meta(channels, dtype=param_dtype)) if running else (None, None)
    out = check_rule(aten.native_batch_norm.default, x, weight, bias, mean, var, training, 0.1, 1e-5,
                     must_answer=not (training and x.numel() == channels))
    if not training and not running:
        assert out is None  # eval needs running statistics


def test_batch_norm_rule_leaves_one_value_per_channel_to_torch():
    """Training on one value per channel: the meta kernel divides by n - 1 = 0, the cpu kernel answers."""
    args = (meta(1, 2), None, None, meta(2), meta(2), True, 0.1, 1e-5)
    check_declines(aten.native_batch_norm.default, *args)
    cpu = [torch.ones(a.shape) if isinstance(a, torch.Tensor) else a for a in args]
    assert aten.native_batch_norm.default(*cpu)[0].shape == (1, 2)


def test_batch_norm_rule_declines_invalid_arguments():
    bn = aten.native_batch_norm.default
    check_declines(bn, meta(2, 3, 4), None, None, None, None, False, 0.1, 1e-5)  # eval without statistics
    check_declines(bn, meta(2, 3, 4), meta(4), meta(4), meta(4), meta(4), False, 0.1, 1e-5)  # channel mismatch
    check_declines(bn, meta(2, 3, 4), None, None, meta(3), None, False, 0.1, 1e-5)  # half the statistics
    x = torch.empty(2, 3, 5, 5, device="meta").to(memory_format=torch.channels_last)
    check_rule(bn, x, meta(3), meta(3), meta(3), meta(3), False, 0.1, 1e-5)  # the input's layout is kept


@st.composite
def cat_arguments(draw):
    rank = draw(st.integers(1, 4))
    dim = draw(st.integers(-rank, rank - 1))
    shape = [draw(st.integers(1, 3)) for _ in range(rank)]
    dtype = draw(st.sampled_from(FLOATS + [torch.int64]))
    tensors = []
    for _ in range(draw(st.integers(1, 4))):
        shape[dim] = draw(st.integers(0, 3))
        tensors.append(meta(*shape, dtype=dtype))
    return tensors, dim


@SETTINGS
@given(cat_arguments())
def test_cat_rule_matches_meta_kernel(args):
    """Any rank, positive and negative dims, empty pieces along the dim."""
    tensors, dim = args
    only_legacy_empties = all(t.shape == (0,) for t in tensors)  # the rule leaves those to torch
    out = check_rule(aten.cat.default, tensors, dim, must_answer=not only_legacy_empties)
    assert out.shape[dim] == sum(t.shape[dim] for t in tensors)


@pytest.mark.parametrize("tensors, dim", [
    ([meta(2, 3), meta(2, 4)], 0),  # sizes differ off the cat dim
    ([meta(2, 3), meta(2)], 0),  # ranks differ
    ([meta(2, 3), meta(2, 3)], 2),  # dim out of range
    ([meta(2, 3), meta(2, 3)], -3),
    ([meta(2, 3), torch.empty(2, 3)], 0),  # devices differ
    ([meta(), meta()], 0),  # zero-dimensional pieces
], ids=["size", "rank", "dim", "negative dim", "device", "scalars"])
def test_cat_rule_declines_invalid_arguments(tensors, dim):
    check_declines(aten.cat.default, tensors, dim)


def test_cat_rule_declines_what_torch_resolves_itself():
    cat = aten.cat.default
    check_declines(cat, [meta(2, 3), meta(2, 3, dtype=torch.float64)], 0, real_raises=False)  # type promotion
    check_declines(cat, [meta(0), meta(0)], 0, real_raises=False)  # only legacy empties
    check_rule(cat, [meta(2, 3), meta(0)], 0)  # a legacy empty piece is skipped
    last = [torch.empty(1, 2, 3, 4, device="meta").to(memory_format=torch.channels_last)] * 2
    check_rule(cat, last, 1, must_answer=False)  # channels-last in, channels-last out


def pool_window(draw, dilated):
    kernel = draw(st.lists(st.integers(1, 4), min_size=1, max_size=2))
    stride = draw(st.one_of(st.just([]), st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    padding = draw(st.lists(st.integers(0, 2), min_size=1, max_size=2))
    dilation = draw(st.lists(st.integers(1, 2), min_size=1, max_size=2)) if dilated else [1]
    shape = [draw(st.integers(1, 12)), draw(st.integers(1, 12))]
    leading = [draw(st.integers(1, 3))] if draw(st.booleans()) else []
    x = meta(*leading, draw(st.integers(1, 3)), *shape, dtype=draw(st.sampled_from(FLOATS)))
    return x, kernel, stride, padding, dilation, draw(st.booleans())


def torch_pool_size(size, k, s, p, d, ceil_mode):
    """torch's pooling_output_shape, written out: ceil adds stride - 1, and a last window must start
    inside the input or its left padding."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def expected_pool_shape(x, kernel, stride, padding, dilation, ceil_mode):
    two = lambda v: v * 2 if len(v) == 1 else v  # noqa: E731
    kernel, padding, dilation = two(kernel), two(padding), two(dilation)
    stride = two(stride) if stride else kernel
    # torch checks padding twice: against half the dilated kernel, and (pool2d_shape_check) half the kernel.
    if any(p > ((k - 1) * d + 1) // 2 or p > k // 2 for k, p, d in zip(kernel, padding, dilation)):
        return None
    sizes = [torch_pool_size(*a, ceil_mode) for a in zip(x.shape[-2:], kernel, stride, padding, dilation)]
    return (*x.shape[:-2], *sizes) if min(sizes) >= 1 else None


@SETTINGS
@given(st.data())
def test_max_pool_rule_matches_meta_kernel(data):
    x, kernel, stride, padding, dilation, ceil_mode = pool_window(data.draw, dilated=True)
    out = check_rule(aten.max_pool2d_with_indices.default, x, kernel, stride, padding, dilation, ceil_mode)
    expected = expected_pool_shape(x, kernel, stride, padding, dilation, ceil_mode)
    assert (None if out is None else tuple(out[0].shape)) == expected
    if out is not None:
        assert out[1].dtype == torch.int64  # indices


@SETTINGS
@given(st.data(), st.booleans(), st.sampled_from([None, 1, 3, 7]))
def test_avg_pool_rule_matches_meta_kernel(data, count_include_pad, divisor_override):
    x, kernel, stride, padding, _, ceil_mode = pool_window(data.draw, dilated=False)
    out = check_rule(aten.avg_pool2d.default, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    expected = expected_pool_shape(x, kernel, stride, padding, [1], ceil_mode)
    assert (None if out is None else tuple(out.shape)) == expected


# (size, kernel, stride, padding, ceil_mode, output size by hand)
CEIL_EDGES = [
    (112, 3, 2, 0, True, 56),  # GoogLeNet's stem: ceil((112 - 3) / 2) + 1
    (112, 3, 2, 0, False, 55),
    (56, 3, 2, 0, True, 28),
    (14, 2, 2, 0, True, 7),
    (5, 2, 2, 1, True, 3),  # ceil gives 4 windows, the 4th would start at 6 >= 5 + 1: dropped
    (6, 2, 2, 1, True, 4),  # the 4th window starts at 6 < 6 + 1: kept
    (4, 1, 2, 0, True, 2),  # ceil((4 - 1) / 2) + 1 = 3, the 3rd would start at 4 >= 4: dropped
    (5, 1, 2, 0, True, 3),
    (1, 3, 1, 1, True, 1),
    (7, 3, 3, 1, True, 3),  # ceil(6 / 3) + 1 = 3, the 3rd starts at 6 < 8: kept
]


@pytest.mark.parametrize("size, k, s, p, ceil_mode, expected", CEIL_EDGES)
def test_pool_rules_ceil_mode_edges(size, k, s, p, ceil_mode, expected):
    x = meta(1, 2, size, size + 1)
    out = check_rule(aten.max_pool2d_with_indices.default, x, [k, k], [s, s], [p, p], [1, 1], ceil_mode)
    assert out[0].shape[-2] == expected
    out = check_rule(aten.avg_pool2d.default, x, [k, k], [s, s], [p, p], ceil_mode, True, None)
    assert out.shape[-2] == expected


@pytest.mark.parametrize("x, kernel, stride, padding, dilation", [
    (meta(1, 2, 6, 6), [2, 2], [], [2, 2], [1, 1]),  # padding over half the kernel
    (meta(1, 2, 9, 9), [3, 3], [], [2, 2], [2, 2]),  # within half the dilated kernel, over half the kernel
    (meta(1, 2, 2, 2), [3, 3], [1, 1], [0, 0], [1, 1]),  # output collapses to 0
    (meta(1, 2, 6, 6), [2, 2], [0, 0], [0, 0], [1, 1]),  # zero stride
    (meta(1, 2, 6, 6), [2, 2, 2], [], [0], [1]),  # three kernel sizes for a 2-d pool
    (meta(1, 2, 6, 6), [2, 2], [], [0], [1, 1, 1]),  # three dilations
    (meta(2, 0, 6, 6), [2, 2], [], [0], [1]),  # empty channel dimension
    (meta(6, 6), [2, 2], [], [0], [1]),  # no channel dimension
], ids=["padding", "dilated-padding", "collapse", "stride", "kernel", "dilation", "channels", "rank"])
def test_pool_rules_decline_invalid_arguments(x, kernel, stride, padding, dilation):
    check_declines(aten.max_pool2d_with_indices.default, x, kernel, stride, padding, dilation, False)
    if dilation in ([1], [1, 1]):
        check_declines(aten.avg_pool2d.default, x, kernel, stride, padding, False, True, None)


def test_pool_rules_decline_zero_divisor_and_keep_channels_last():
    check_declines(aten.avg_pool2d.default, meta(1, 2, 6, 6), [2, 2], [], [0], False, True, 0)
    x = torch.empty(2, 3, 6, 6, device="meta").to(memory_format=torch.channels_last)
    check_rule(aten.max_pool2d_with_indices.default, x, [2, 2], [], [0], [1], False, must_answer=False)
    check_rule(aten.avg_pool2d.default, x, [2, 2], [], [0], False, True, None, must_answer=False)


@SETTINGS
@given(n=st.integers(1, 5), k=st.integers(1, 5), m=st.integers(1, 5), dtype=st.sampled_from(FLOATS + [torch.int64]),
       bias_form=st.sampled_from(["m", "1m", "n1", "nm", "11", "scalar", "1"]))
def test_addmm_rule_matches_meta_kernel(n, k, m, dtype, bias_form):
    bias_shape = {"m": (m,), "1m": (1, m), "n1": (n, 1), "nm": (n, m), "11": (1, 1), "scalar": (), "1": (1,)}[bias_form]
    args = (meta(*bias_shape, dtype=dtype), meta(n, k, dtype=dtype), meta(k, m, dtype=dtype))
    out = check_rule(aten.addmm.default, *args)
    assert out.shape == (n, m)
    assert meta_output(aten.addmm.default, args, {"alpha": 0.5}) is None  # beta, alpha: keyword-only, torch's


def test_addmm_rule_declines_invalid_arguments():
    addmm = aten.addmm.default
    check_declines(addmm, meta(4), meta(3, 5), meta(6, 4))  # inner sizes differ
    check_declines(addmm, meta(3), meta(3, 5), meta(5, 4))  # bias does not broadcast to (3, 4)
    check_declines(addmm, meta(4), meta(3, 5, 1), meta(5, 4))  # a 3-d matrix
    # Mixed dtypes: the meta kernel promotes, the cpu kernel raises; the rule leaves both to torch.
    check_declines(addmm, meta(4), meta(3, 5), meta(5, 4, dtype=torch.float16), real_raises=False)
    with pytest.raises(RuntimeError):
        addmm(torch.zeros(4), torch.zeros(3, 5), torch.zeros(5, 4, dtype=torch.float64))
    check_declines(addmm, meta(2, 3, 4), meta(3, 5), meta(5, 4), real_raises=False)  # 3-d bias: torch's call


@SETTINGS
@given(rank=st.integers(1, 4), keepdim=st.booleans(), dtype=st.sampled_from(FLOATS), data=st.data())
def test_mean_dim_rule_matches_meta_kernel(rank, keepdim, dtype, data):
    x = meta(*[data.draw(st.integers(1, 4)) for _ in range(rank)], dtype=dtype)
    axes = data.draw(st.lists(st.integers(0, rank - 1), unique=True, max_size=rank))
    dims = [axis - rank if data.draw(st.booleans()) else axis for axis in axes]  # some negative
    out = check_rule(aten.mean.dim, x, dims, keepdim)
    reduced = set(axes) or set(range(rank))  # an empty list reduces every dim
    expected = [1 if a in reduced else s for a, s in enumerate(x.shape) if keepdim or a not in reduced]
    assert list(out.shape) == expected


def test_mean_dim_rule_declines_invalid_arguments():
    check_declines(aten.mean.dim, meta(2, 3, 4), [0, 0], True)  # a dim twice
    check_declines(aten.mean.dim, meta(2, 3, 4), [0, -3], False)  # the same dim, spelled twice
    check_declines(aten.mean.dim, meta(2, 3, 4), [3], False)  # out of range
    check_declines(aten.mean.dim, meta(2, 3, 4, dtype=torch.int64), [0], False)  # integers have no mean
    check_rule(aten.mean.dim, meta(), [0], False, must_answer=False)  # 0-d: torch's own rule


def test_meta_output_only_answers_meta_inputs_without_kwargs():
    args = (meta(2, 3, 4), [1], False)
    assert meta_output(aten.mean.dim, args, {"dtype": torch.float64}) is None
    assert meta_output(aten.mean.dim, (torch.zeros(2, 3, 4), [1], False), {}) is None
    assert meta_output(aten.sum.dim_IntList, args, {}) is None  # no rule


# ---------------------------------------------------------------------------------------------------
# 2. Formulas, one category at a time
# ---------------------------------------------------------------------------------------------------

class Lambda(nn.Module):
    def __init__(self, fn, *params):
        super().__init__()
        self.fn = fn
        self.params = nn.ParameterList(params)

    def forward(self, *args):
        return self.fn(*args, *self.params)


def by_category(module, input_size, mode="eval"):
    analysis = archscope.analyze(module, input_size, mode=mode)
    assert analysis.complete, analysis.uncounted
    return analysis.flops_by_category


def only(categories, **expected):
    """Every category is zero except those named."""
    assert categories == {**dict.fromkeys(categories, 0), **expected}


def cost(packet, *args, **kwargs):
    """A formula called as the recorder calls it, on the output of the real meta kernel."""
    op = getattr(packet, "default", packet)
    return lookup(op._overloadpacket).count(*args, out_val=op(*args, **kwargs), **kwargs)


@pytest.mark.parametrize("bias", [False, True])
def test_conv_mult_adds_by_hand(bias):
    n, c_in, c_out, groups, k, size, stride, pad = 2, 4, 6, 2, 3, 9, 2, 1
    out = (size + 2 * pad - k) // stride + 1
    analysis = archscope.analyze(nn.Conv2d(c_in, c_out, k, stride, pad, groups=groups, bias=bias), (n, c_in, size, size))
    mult_adds = n * c_out * out * out * (c_in // groups) * k * k
    assert analysis.totals["mult_adds"] == mult_adds == 5400
    only(analysis.flops_by_category, conv_linear=2 * mult_adds + (n * c_out * out * out if bias else 0))
    assert analysis.rows[0]["flops_conv_linear"] == analysis.flops_by_category["conv_linear"]


def test_linear_excludes_bias_from_mult_adds_and_adds_it_to_flops():
    """matmul.py: mult-adds are torch's count halved (no bias); FLOPs add one per output element for a bias."""
    analysis = archscope.analyze(nn.Linear(5, 7), (2, 3, 5))
    assert analysis.totals["mult_adds"] == 2 * 3 * 5 * 7
    only(analysis.flops_by_category, conv_linear=2 * (2 * 3 * 5 * 7) + 2 * 3 * 7)
    no_bias = archscope.analyze(nn.Linear(5, 7, bias=False), (2, 3, 5))
    assert no_bias.totals["mult_adds"] == 2 * 3 * 5 * 7
    only(no_bias.flops_by_category, conv_linear=2 * (2 * 3 * 5 * 7))
    assert cost(aten.addmm, meta(7), meta(6, 5), meta(5, 7)) == Cost(6 * 5 * 7, 2 * 6 * 5 * 7 + 6 * 7)
    assert cost(aten.mm, meta(6, 5), meta(5, 7)) == Cost(6 * 5 * 7, 2 * 6 * 5 * 7)
    assert cost(aten.baddbmm, meta(3, 4, 6), meta(3, 4, 5), meta(3, 5, 6)) == Cost(360, 720 + 3 * 4 * 6)


def test_bmm_and_broadcast_matmul_by_hand():
    assert cost(aten.bmm, meta(3, 4, 5), meta(3, 5, 6)) == Cost(3 * 4 * 5 * 6, 2 * 3 * 4 * 5 * 6)
    analysis = archscope.analyze(Lambda(torch.matmul), [(2, 1, 4, 5), (3, 5, 6)])
    assert analysis.totals["mult_adds"] == 2 * 3 * 4 * 6 * 5  # output (2, 3, 4, 6), 5 products each
    only(analysis.flops_by_category, conv_linear=2 * 2 * 3 * 4 * 6 * 5)


def fvcore_by_operator(module, *shapes):
    """fvcore's count per operator, on a real cpu forward of ``module`` in its current mode."""
    counter = FlopCountAnalysis(module, tuple(torch.rand(s) for s in shapes))
    return dict(counter.unsupported_ops_warnings(False).uncalled_modules_warnings(False).by_operator())


@pytest.mark.parametrize("affine, mode, per_element", [(True, "eval", 2), (False, "eval", 1),
                                                       (True, "train", 5), (False, "train", 4)])
def test_batch_norm_rates(affine, mode, per_element):
    """elementwise.py's rates, which follow fvcore: eval folds into scale and shift, train computes statistics."""
    shape = (2, 3, 4, 4)
    elements = math.prod(shape)
    module = nn.BatchNorm2d(3, affine=affine)
    categories = by_category(module, shape, mode)
    # Training also bumps num_batches_tracked: one add, an elementwise FLOP.
    only(categories, normalization=per_element * elements, elementwise=1 if mode == "train" else 0)
    module.train(mode == "train")
    assert fvcore_by_operator(module, shape) == {"batch_norm": per_element * elements}


def test_batch_norm_without_running_stats_computes_statistics_in_eval():
    shape = (2, 3, 4, 4)
    only(by_category(nn.BatchNorm2d(3, track_running_stats=False), shape), normalization=5 * math.prod(shape))


@pytest.mark.parametrize("module, name", [
    (nn.LayerNorm(4), "layer_norm"), (nn.LayerNorm(4, elementwise_affine=False), "layer_norm"),
    (nn.GroupNorm(1, 3), "group_norm"), (nn.GroupNorm(3, 3, affine=False), "group_norm"),
    (nn.InstanceNorm1d(3), "instance_norm"), (nn.InstanceNorm1d(3, affine=True), "instance_norm"),
])
def test_layer_group_instance_norm_rates_as_fvcore(module, name):
    shape = (2, 3, 4)
    per_element = 5 if module.weight is not None else 4
    only(by_category(module, shape), normalization=per_element * math.prod(shape))
    assert fvcore_by_operator(module, shape) == {name: per_element * math.prod(shape)}


@pytest.mark.parametrize("module", [nn.ReLU(), nn.ReLU6(), nn.GELU(), nn.Sigmoid(), nn.Tanh(), nn.SiLU(),
                                    nn.Hardswish(), nn.Hardsigmoid(), nn.LeakyReLU(), nn.ELU(), nn.Softplus(),
                                    nn.Mish(), nn.PReLU(), nn.LogSigmoid(), nn.Threshold(0.1, 0.0)],
                         ids=lambda m: type(m).__name__)
def test_activations_one_flop_per_element(module):
    only(by_category(module, (2, 3, 5)), activation=2 * 3 * 5)


@pytest.mark.parametrize("module, shape, out_elements, area", [
    (nn.MaxPool2d(3, 2, ceil_mode=True), (1, 2, 9, 9), 2 * 4 * 4, 9),
    (nn.MaxPool2d(3, 2, padding=1), (2, 2, 8, 8), 2 * 2 * 4 * 4, 9),
    (nn.AvgPool2d(2), (1, 2, 8, 8), 2 * 4 * 4, 4),
    (nn.AvgPool2d((2, 3), stride=1), (1, 2, 5, 5), 2 * 4 * 3, 6),
    (nn.MaxPool1d(3), (2, 3, 10), 2 * 3 * 3, 3),
    (nn.AvgPool1d(3), (2, 3, 10), 2 * 3 * 3, 3),
    (nn.MaxPool3d(2), (1, 2, 4, 4, 4), 2 * 2 * 2 * 2, 8),
    (nn.AvgPool3d(2), (1, 2, 4, 4, 4), 2 * 2 * 2 * 2, 8),
    (nn.MaxPool2d(3, 1), (2, 7, 7), 2 * 5 * 5, 9),  # unbatched
    (Lambda(lambda x: F.max_pool2d(x, (3,), 1)), (2, 7, 7), 2 * 5 * 5, 9),  # unbatched, one kernel size
    (Lambda(lambda x: F.avg_pool2d(x, (3,), 1)), (2, 7, 7), 2 * 5 * 5, 9),
], ids=["max-ceil", "max-pad", "avg", "avg-rect", "max1d", "avg1d", "max3d", "avg3d", "unbatched", "unbatched-k1",
        "unbatched-avg-k1"])
def test_pooling_kernel_area_per_output_element(module, shape, out_elements, area):
    only(by_category(module, shape), pooling=out_elements * area)


def test_adaptive_avg_pool_one_flop_per_input_element():
    shape = (2, 3, 8, 8)
    only(by_category(nn.AdaptiveAvgPool2d(2), shape), pooling=math.prod(shape))
    assert fvcore_by_operator(nn.AdaptiveAvgPool2d(2), shape) == {"adaptive_avg_pool2d": math.prod(shape)}
    # A 1x1 output is lowered by torch to mean(-1, -2): the same count, filed under reduction.
    only(by_category(nn.AdaptiveAvgPool2d(1), shape), reduction=math.prod(shape))
    assert cost(aten._adaptive_avg_pool2d, meta(*shape), [3, 3]) == Cost(0, math.prod(shape))


@pytest.mark.parametrize("fn", [torch.add, torch.mul, torch.sub, torch.maximum], ids=lambda f: f.__name__)
def test_binary_elementwise_counts_broadcast_output(fn):
    """One FLOP per output element: (2, 3, 1) with (4,) makes 24, not 6 or 4."""
    only(by_category(Lambda(fn), [(2, 3, 1), (4,)]), elementwise=2 * 3 * 4)


def test_softmax_five_per_element():
    only(by_category(nn.Softmax(-1), (2, 5)), softmax=5 * 10)
    only(by_category(nn.LogSoftmax(1), (2, 5, 3)), softmax=5 * 30)


def test_scaled_dot_product_attention_fully_counted():
    """On meta, SDPA runs its math form: two bmm and a _safe_softmax over the (L, S) scores."""
    b, h, length, e = 2, 3, 5, 8
    analysis = archscope.analyze(Lambda(F.scaled_dot_product_attention), [(b, h, length, e)] * 3)
    assert analysis.complete, analysis.uncounted
    assert analysis.totals["mult_adds"] == 2 * b * h * length * length * e
    assert analysis.flops_by_category["softmax"] == 5 * b * h * length * length
    with FlopCounterMode(display=False) as counter:  # on cpu torch's flash kernel has no formula: meta here
        F.scaled_dot_product_attention(*[meta(b, h, length, e)] * 3)
    assert analysis.totals["mult_adds"] * 2 == counter.get_total_flops()


def test_cat_and_views_cost_nothing_but_are_counted():
    module = Lambda(lambda x, y: torch.cat([x, y], 1).view(2, -1).transpose(0, 1).reshape(-1))
    analysis = archscope.analyze(module, [(2, 3, 4), (2, 5, 4)])
    assert analysis.complete
    only(analysis.flops_by_category)
    assert analysis.totals["flops"] == 0
    assert {op.category for op in analysis.trace.ops} == {"concat_copy", "free"}


def test_row_columns_add_up_to_totals():
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 3 * 3, 5), nn.Softmax(-1))
    analysis = archscope.analyze(model, (2, 3, 8, 8))
    root = analysis.rows[0]
    assert {c: root[f"flops_{c}"] for c in analysis.flops_by_category} == analysis.flops_by_category
    assert sum(analysis.flops_by_category.values()) == analysis.totals["flops"] == root["flops"]
    assert sum(row["flops"] for row in analysis.rows[1:]) == root["flops"]  # children are leaves
    conv = 2 * 4 * 6 * 6 * 3 * 9
    assert analysis.rows[1]["mult_adds"] == conv and analysis.rows[1]["flops"] == 2 * conv + 2 * 4 * 6 * 6
    assert analysis.rows[3]["flops_activation"] == 2 * 4 * 6 * 6


# ---------------------------------------------------------------------------------------------------
# 3. Mult-adds against FlopCounterMode and fvcore
# ---------------------------------------------------------------------------------------------------

class Products(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.w = nn.Parameter(torch.rand(6, 5))

    def forward(self, a, b):
        if self.kind == "bmm":
            return torch.bmm(a, b)
        if self.kind == "matmul":
            return a @ b @ self.w
        return torch.einsum("bij,bjk->bik", a, b)


CROSS_CHECKED = [
    ("conv1d", nn.Conv1d(4, 6, 3, stride=2, padding=1, dilation=2, groups=2), [(2, 4, 17)]),
    ("conv2d", nn.Conv2d(4, 8, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(2, 1), groups=4), [(2, 4, 13, 11)]),
    ("conv3d", nn.Conv3d(3, 6, 3, stride=2, padding=1, groups=3, bias=False), [(1, 3, 7, 8, 9)]),
    ("depthwise", nn.Conv2d(4, 4, 3, padding=2, dilation=2, groups=4), [(1, 4, 6, 6)]),
    ("linear-3d", nn.Linear(5, 7), [(2, 3, 5)]),
    ("conv-transpose", nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2), [(2, 4, 5, 5)]),
    ("bmm", Products("bmm"), [(3, 4, 5), (3, 5, 6)]),
    ("matmul", Products("matmul"), [(3, 4, 5), (3, 5, 6)]),
    ("einsum", Products("einsum"), [(3, 4, 5), (3, 5, 6)]),
    ("mha", nn.MultiheadAttention(8, 2), [(3, 2, 8)] * 3),
    ("mha-batch-first", nn.MultiheadAttention(8, 2, batch_first=True), [(2, 3, 8)] * 3),
]


@pytest.mark.parametrize("name, module, shapes", CROSS_CHECKED, ids=[c[0] for c in CROSS_CHECKED])
def test_mult_adds_are_half_of_flop_counter_mode_and_equal_fvcore(name, module, shapes):
    module.eval()
    analysis = archscope.analyze(module, shapes if len(shapes) > 1 else shapes[0])
    inputs = [torch.rand(s) for s in shapes]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    assert counter.get_total_flops() > 0 and counter.get_total_flops() % 2 == 0
    assert analysis.totals["mult_adds"] == counter.get_total_flops() // 2
    # fvcore counts one "flop" per MAC for conv, linear, matmul, bmm and einsum, bias excluded:
    # these modules do nothing else it counts (MultiheadAttention's softmax and scaling it ignores).
    assert analysis.totals["mult_adds"] == FlopCountAnalysis(module, tuple(inputs)).unsupported_ops_warnings(
        False).uncalled_modules_warnings(False).total()


def test_fvcore_total_differs_by_its_other_categories():
    """A small CNN: fvcore's total also counts batch norm and adaptive pooling; its conv + linear do not."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                          nn.Linear(32, 10)).eval()
    analysis = archscope.analyze(model, (2, 3, 10, 10))
    fvcore = fvcore_by_operator(model, (2, 3, 10, 10))
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.rand(2, 3, 10, 10))
    assert analysis.totals["mult_adds"] == counter.get_total_flops() // 2 == fvcore["conv"] + fvcore["linear"]
    assert fvcore["batch_norm"] == analysis.flops_by_category["normalization"]
    assert fvcore["adaptive_avg_pool2d"] == analysis.flops_by_category["pooling"]


# ---------------------------------------------------------------------------------------------------
# 4. Registry hygiene
# ---------------------------------------------------------------------------------------------------

@pytest.fixture
def scratch_registry(monkeypatch):
    """The registry, restored after the test whatever it registered."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))


def test_registering_a_packet_twice_raises(scratch_registry):
    before = lookup(aten.relu)
    with pytest.raises(RuntimeError, match="relu"):
        register_formula(aten.relu, Category.ACTIVATION)(lambda *a, **k: Cost(0, 0))
    assert lookup(aten.relu) is before
    assert lookup(aten.cumsum) is None
    with pytest.raises(RuntimeError, match="cumsum"):
        register_formula([aten.cumsum, aten.cumsum], Category.REDUCTION)(lambda *a, **k: Cost(0, 0))
    with pytest.raises(RuntimeError, match="relu"):  # all or nothing: cumsum is not left registered
        register_formula([aten.cumsum, aten.relu], Category.REDUCTION)(lambda *a, **k: Cost(0, 0))
    assert lookup(aten.cumsum) is None


def test_every_formula_has_a_category_and_is_keyed_by_packet():
    """The recorder looks formulas up by ``func._overloadpacket``: an overload as key would never match.
    (torch's flop registry also holds higher-order ops such as flex_attention, taken over as they are.)"""
    assert len(registry._REGISTRY) > 100
    for packet, formula in registry._REGISTRY.items():
        assert isinstance(packet, (torch._ops.OpOverloadPacket, torch._ops.HigherOrderOperator)), packet
        assert isinstance(formula.category, Category), packet
        assert callable(formula.count)


def test_an_op_without_formula_is_listed_not_zeroed():
    assert lookup(aten.cumsum) is None  # a truly unregistered op
    analysis = archscope.analyze(nn.Sequential(nn.ReLU(), Lambda(lambda x: torch.cumsum(x, 1))), (2, 3))
    assert not analysis.complete
    assert analysis.uncounted == [{"op": "aten.cumsum.default", "calls": 1, "layers": ["1"]}]
    assert analysis.to_dict()["uncounted"] == analysis.uncounted
    assert archscope.analyze(nn.ReLU(), (2, 3)).uncounted == []


# ---------------------------------------------------------------------------------------------------
# 5. Regression: elementwise formulas on single-tensor outputs (torch.Size is a tuple)
# ---------------------------------------------------------------------------------------------------

def test_elementwise_ops_with_one_output_inside_a_model():
    """``x + y`` in a forward used to crash: the formula took the output Size for a tuple of Sizes."""
    def forward(x, y):
        z = (x + y) * y
        return torch.where(z > 0, z, y).clamp(0, 1)

    analysis = archscope.analyze(Lambda(forward), [(2, 3, 4), (4,)])
    assert [op.op for op in analysis.trace.ops] == ["aten.add.Tensor", "aten.mul.Tensor", "aten.gt.Scalar",
                                                    "aten.where.self", "aten.clamp.default"]
    assert all(op.flops == 24 for op in analysis.trace.ops)
    only(analysis.flops_by_category, elementwise=5 * 24)


@pytest.mark.parametrize("packet, args, kwargs", [
    (aten.add.Tensor, (meta(2, 3, 1), meta(4)), {}),
    (aten.mul.Tensor, (meta(2, 3, 4), meta(2, 3, 4)), {}),
    (aten.where.self, (meta(2, 3, 4, dtype=torch.bool), meta(4), meta(3, 1)), {}),
    (aten.clamp.default, (meta(2, 3, 4), 0.0, 1.0), {}),
], ids=["add", "mul", "where", "clamp"])
def test_elementwise_formulas_read_a_single_output(packet, args, kwargs):
    assert cost(packet, *args, **kwargs) == Cost(0, 24)


def test_native_dropout_tuple_output_in_train_mode():
    out = aten.native_dropout.default(meta(2, 3, 4), 0.5, True)
    assert isinstance(out, tuple) and len(out) == 2
    assert cost(aten.native_dropout.default, meta(2, 3, 4), 0.5, True) == Cost(0, 24)
    module = Lambda(lambda x: torch.native_dropout(x, 0.5, True)[0])
    analysis = archscope.analyze(module, (2, 3, 4), mode="train")
    assert [op.op for op in analysis.trace.ops] == ["aten.native_dropout.default"]
    only(analysis.flops_by_category, elementwise=24)
    # nn.Dropout in train mode on meta goes through bernoulli_, div_ and mul: all counted, one per element.
    dropout = archscope.analyze(nn.Dropout(0.5), (2, 3, 4), mode="train")
    assert dropout.complete
    assert dropout.flops_by_category["elementwise"] == 3 * 24
