"""Properties of ``archscope.analyze`` on random small CNNs, checked with hypothesis (issue 9).

A model is drawn as a ``NetSpec`` (plain frozen data, so a failing case prints as something to paste
back into ``@example``) and built into a real ``nn.Module``: a stem convolution, one to five stages
drawn from convolution, batch norm, ReLU, max and average pooling, a block of branches concatenated on
channels and a residual add (whose convolution may be applied twice, and which a later stage may reuse
as the same instance or tie its weight to), then global average pooling, flatten and a linear head.
The spatial size is tracked while drawing, so every drawn model runs (no ``assume``).

Expected numbers come from torch alone — ``numel`` of the unique parameters, a plain cpu forward with
hooks, ``torch.utils.flop_counter.FlopCounterMode`` — never from archscope.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.modules.module as module_globals
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode
from torch.utils.flop_counter import FlopCounterMode

import archscope

# derandomize and no database: every run draws the same examples, on any machine (10-35 s here, with load)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
MAX_CHANNELS = 12


# -- the spec: plain data --------------------------------------------------------------------------


@dataclass(frozen=True)
class Conv:
    out: int
    kernel: tuple[int, int]
    stride: int = 1
    padding: tuple[int, int] = (0, 0)
    dilation: int = 1
    groups: int = 1
    bias: bool = True


@dataclass(frozen=True)
class BN:
    pass


@dataclass(frozen=True)
class ReLU:
    inplace: bool = False


@dataclass(frozen=True)
class Pool:
    kind: str  # "max" or "avg"
    kernel: int
    stride: int
    padding: int = 0
    ceil_mode: bool = False
    count_include_pad: bool = True  # avg only


@dataclass(frozen=True)
class Branches:
    """Each branch a sequence of layers keeping the spatial size; outputs concatenated on channels."""
    branches: tuple[tuple, ...]


@dataclass(frozen=True)
class Residual:
    """``x + body(x)``; body: conv (same padding) [→ BN] → ReLU, then with ``twice`` the *same* conv again."""
    kernel: int
    dilation: int = 1
    groups: int = 1
    bias: bool = True
    bn: bool = False
    twice: bool = False


@dataclass(frozen=True)
class Reuse:
    """Stage ``of`` (a Residual) again: the same instance, or with ``tie`` a new one sharing its conv weight."""
    of: int
    tie: bool = False


@dataclass(frozen=True)
class NetSpec:
    input_size: tuple[int, int, int, int]
    stem: Conv
    stages: tuple
    classes: int


# -- building the module ---------------------------------------------------------------------------


def _conv(c_in: int, spec: Conv) -> nn.Conv2d:
    return nn.Conv2d(c_in, spec.out, spec.kernel, stride=spec.stride, padding=spec.padding,
                     dilation=spec.dilation, groups=spec.groups, bias=spec.bias)


class Concat(nn.Module):
    def __init__(self, branches: list[nn.Module]):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], 1)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int, spec: Residual):
        super().__init__()
        padding = spec.dilation * (spec.kernel - 1) // 2
        self.conv = nn.Conv2d(channels, channels, spec.kernel, padding=padding, dilation=spec.dilation,
                              groups=spec.groups, bias=spec.bias)
        self.bn = nn.BatchNorm2d(channels) if spec.bn else nn.Identity()
        self.act = nn.ReLU()
        self.twice = spec.twice

    def forward(self, x):
        y = self.act(self.bn(self.conv(x)))
        if self.twice:
            y = self.conv(y)
        return x + y


class RandomCNN(nn.Module):
    def __init__(self, stem: nn.Module, stages: list[nn.Module], features: int, classes: int):
        super().__init__()
        self.stem = stem
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(features, classes)

    def forward(self, x):
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.fc(self.flatten(self.pool(x)))


def _layer(c: int, spec) -> tuple[nn.Module, int]:
    """A module for ``spec`` taking ``c`` channels, and its output channels."""
    if isinstance(spec, Conv):
        return _conv(c, spec), spec.out
    if isinstance(spec, BN):
        return nn.BatchNorm2d(c), c
    if isinstance(spec, ReLU):
        return nn.ReLU(inplace=spec.inplace), c
    if isinstance(spec, Pool):
        if spec.kind == "max":
            return nn.MaxPool2d(spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode), c
        return nn.AvgPool2d(spec.kernel, spec.stride, spec.padding, ceil_mode=spec.ceil_mode,
                            count_include_pad=spec.count_include_pad), c
    if isinstance(spec, Branches):
        branches, total = [], 0
        for layers in spec.branches:
            modules, out = [], c
            for layer in layers:
                module, out = _layer(out, layer)
                modules.append(module)
            branches.append(nn.Sequential(*modules))
            total += out
        return Concat(branches), total
    if isinstance(spec, Residual):
        return ResidualBlock(c, spec), c
    raise TypeError(spec)


def build(net: NetSpec) -> RandomCNN:
    torch.manual_seed(0)
    stem = _conv(net.input_size[1], net.stem)
    c, stages = net.stem.out, []
    for spec in net.stages:
        if isinstance(spec, Reuse):
            if spec.tie:
                fresh = ResidualBlock(c, net.stages[spec.of])
                fresh.conv.weight = stages[spec.of].conv.weight  # one Parameter in two modules
                stages.append(fresh)
            else:
                stages.append(stages[spec.of])  # one module under two names
            continue
        module, c = _layer(c, spec)
        stages.append(module)
    return RandomCNN(stem, stages, c, net.classes)


# -- the strategy: spatial size tracked while drawing ----------------------------------------------


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _conv_out(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _pool_out(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool) -> int:
    """torch's ``pooling_output_shape``: with ceil_mode, a last window must start inside the input or left padding."""
    out = (size + 2 * padding - kernel + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


@st.composite
def stage_convs(draw, c: int, h: int, w: int):
    groups = draw(st.sampled_from(_divisors(c)))
    out = groups * draw(st.integers(1, max(1, MAX_CHANNELS // groups)))
    padding, dilation, stride = draw(st.integers(0, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    # the dilated kernel fits the padded input: d·(k−1) + 1 ≤ size + 2p
    largest = min(5, (min(h, w) + 2 * padding - 1) // dilation + 1)
    kernel = draw(st.integers(1, largest))
    spec = Conv(out, (kernel, kernel), stride, (padding, padding), dilation, groups, draw(st.booleans()))
    return spec, out, _conv_out(h, kernel, stride, padding, dilation), _conv_out(w, kernel, stride, padding, dilation)


@st.composite
def pools(draw, h: int, w: int):
    kind = draw(st.sampled_from(["max", "avg"]))
    padding = draw(st.integers(0, 1))  # torch allows at most half the kernel
    kernel = draw(st.integers(2, min(3, min(h, w) + 2 * padding)))
    stride, ceil_mode = draw(st.integers(1, 3)), draw(st.booleans())
    spec = Pool(kind, kernel, stride, padding, ceil_mode, draw(st.booleans()) if kind == "avg" else True)
    return spec, _pool_out(h, kernel, stride, padding, ceil_mode), _pool_out(w, kernel, stride, padding, ceil_mode)


@st.composite
def branch_layers(draw, c: int, with_bn: bool):
    """One branch keeping the spatial size: 1×1; 1×1 → k×k; 1×3 → 3×1; pool → 1×1; or the pool alone."""
    def out():
        return draw(st.integers(1, MAX_CHANNELS // 2))

    def act(spec):
        after = [BN()] if with_bn and draw(st.booleans()) else []
        return [spec, *after, ReLU(draw(st.booleans()))] if draw(st.booleans()) else [spec, *after]

    shape = draw(st.sampled_from(["1x1", "reduce-kxk", "1x3-3x1", "pool-1x1", "pool"]))
    if shape == "1x1":
        return tuple(act(Conv(out(), (1, 1), bias=draw(st.booleans()))))
    if shape == "reduce-kxk":
        k, d = draw(st.sampled_from([3, 5])), draw(st.integers(1, 2))
        p = d * (k - 1) // 2
        return (*act(Conv(out(), (1, 1))), *act(Conv(out(), (k, k), 1, (p, p), d, bias=draw(st.booleans()))))
    if shape == "1x3-3x1":
        return (Conv(out(), (1, 3), padding=(0, 1)), *act(Conv(out(), (3, 1), padding=(1, 0))))
    pool = Pool(draw(st.sampled_from(["max", "avg"])), 3, 1, 1, draw(st.booleans()))
    return (pool,) if shape == "pool" else (pool, *act(Conv(out(), (1, 1))))


@st.composite
def nets(draw) -> NetSpec:
    size = (draw(st.integers(1, 3)), 3, draw(st.integers(8, 32)), draw(st.integers(8, 32)))
    stem, c, h, w = draw(stage_convs(3, size[2], size[3]))
    stages, residuals = [], {}  # residuals: stage index → (channels, spec)
    for _ in range(draw(st.integers(1, 5))):
        with_bn = h * w >= 2  # batch norm in train mode needs more than one value per channel
        kinds = ["conv", "relu", "residual", "branches"] + (["bn"] if with_bn else [])
        kinds += ["pool"] if min(h, w) >= 2 else []
        reusable = [i for i, (channels, _) in residuals.items() if channels == c]
        kind = "reuse" if reusable and draw(st.booleans()) else draw(st.sampled_from(kinds))
        if kind == "conv":
            spec, c, h, w = draw(stage_convs(c, h, w))
        elif kind == "bn":
            spec = BN()
        elif kind == "relu":
            spec = ReLU(draw(st.booleans()))
        elif kind == "pool":
            spec, h, w = draw(pools(h, w))
        elif kind == "branches":
            layers = draw(st.lists(branch_layers(c, with_bn), min_size=2, max_size=3))
            spec = Branches(tuple(layers))
            c = sum(next((l.out for l in reversed(branch) if isinstance(l, Conv)), c) for branch in layers)
        elif kind == "residual":
            spec = Residual(draw(st.sampled_from([1, 3, 5])), draw(st.integers(1, 2)),
                            draw(st.sampled_from(_divisors(c))), draw(st.booleans()), with_bn and draw(st.booleans()),
                            draw(st.booleans()))
            residuals[len(stages)] = (c, spec)
        else:
            spec = Reuse(draw(st.sampled_from(reusable)), draw(st.booleans()))
        stages.append(spec)
    return NetSpec(size, stem, tuple(stages), draw(st.integers(1, 10)))


# one conv applied twice in a block, that block reused under a second name, and a weight tied across modules
SHARED = NetSpec(
    input_size=(2, 3, 12, 10),
    stem=Conv(4, (3, 3), padding=(1, 1)),
    stages=(Residual(3, twice=True, bn=True), Reuse(0), ReLU(inplace=True), Reuse(0, tie=True),
            Branches(((Conv(2, (1, 1)), BN(), ReLU(True)), (Pool("max", 3, 1, 1, True), Conv(3, (1, 1))),
                      (Conv(2, (1, 3), padding=(0, 1)), Conv(3, (3, 1), padding=(1, 0))))),
            Pool("avg", 3, 2, 1, True, False), Conv(4, (3, 3), 2, (1, 1), 2, groups=4, bias=False)),
    classes=5,
)


# -- what torch says, by itself --------------------------------------------------------------------


def real_shapes(model: nn.Module, x: torch.Tensor) -> dict[tuple[str, int], list[list[int]]]:
    """Each module call's output shape from a plain cpu forward: ``{(path, call): [shape]}``."""
    shapes: dict[tuple[str, int], list[list[int]]] = {}
    calls: dict[str, int] = {}

    def keep(path):
        def hook(module, args, output):
            shapes[path, calls.get(path, 0)] = [list(output.shape)]
            calls[path] = calls.get(path, 0) + 1
        return hook

    handles = [module.register_forward_hook(keep(path)) for path, module in model.named_modules()]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def unique_params(model: nn.Module) -> dict[int, torch.nn.Parameter]:
    """Every parameter slot of every module (duplicates included), kept once per tensor."""
    return {id(p): p for m in model.modules() for _, p in m.named_parameters(recurse=False, remove_duplicate=False)}


# -- 1. meta and cpu give the real shapes ----------------------------------------------------------


@SETTINGS
@given(net=nets())
@example(net=SHARED)
def test_meta_and_cpu_shapes_are_the_real_forward_shapes(net):
    model = build(net).eval()
    expected = real_shapes(model, torch.rand(net.input_size))
    for device in ("meta", "cpu"):
        analysis = archscope.analyze(model, net.input_size, device=device)
        assert analysis.trace.device == device
        assert {(row["path"], row["call"]): row["output_shapes"] for row in analysis.rows} == expected, device


# -- 2. params are the unique parameters' numel ----------------------------------------------------


@SETTINGS
@given(net=nets(), frozen=st.sets(st.integers(0, 40), max_size=6))
@example(net=SHARED, frozen={0, 3})
def test_params_are_the_numel_of_unique_parameters(net, frozen):
    """``frozen``: positions, among the unique parameters, set to ``requires_grad=False``."""
    model = build(net)
    params = list(unique_params(model).values())
    for i in frozen & set(range(len(params))):
        params[i].requires_grad_(False)
    totals = archscope.analyze(model, net.input_size).totals
    assert totals["params"] == sum(p.numel() for p in params)
    assert totals["trainable_params"] == sum(p.numel() for p in params if p.requires_grad)
    assert totals["frozen_params"] == sum(p.numel() for p in params if not p.requires_grad)
    if net == SHARED:  # the example really shares: counting every slot would give more
        slots = [p for m in model.modules() for _, p in m.named_parameters(recurse=False, remove_duplicate=False)]
        assert sum(p.numel() for p in slots) > totals["params"]


# -- 3. mult-adds are half of FlopCounterMode's total ----------------------------------------------


@SETTINGS
@given(net=nets())
@example(net=SHARED)
def test_mult_adds_are_half_of_flop_counter_mode(net):
    """The models use only ops both count the same way: FlopCounterMode counts convolution and
    addmm (the Linear head), 2 per multiply-accumulate, bias excluded, as archscope's mult-adds do;
    neither counts batch norm, ReLU, pooling, adaptive pooling, add, cat or flatten as mult-adds.
    Per module too: FlopCounterMode sums a module's calls under its first name, so archscope's rows are
    summed over calls."""
    model = build(net).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.rand(net.input_size))
    per_module = counter.get_flop_counts()
    analysis = archscope.analyze(model, net.input_size)
    assert 2 * analysis.totals["mult_adds"] == counter.get_total_flops()
    for path, _ in model.named_modules():
        key = "RandomCNN" + (f".{path}" if path else "")
        ours = sum(row["mult_adds"] for row in analysis.rows if row["path"] == path)
        assert 2 * ours == sum(per_module.get(key, {}).values()), key


# -- 4. the model is left bit for bit as it was ----------------------------------------------------

HOOK_DICTS = ["_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
              "_forward_pre_hooks_with_kwargs", "_backward_hooks", "_backward_pre_hooks"]
GLOBAL_HOOKS = ["_global_forward_hooks", "_global_forward_pre_hooks", "_global_forward_hooks_with_kwargs",
                "_global_forward_hooks_always_called", "_global_backward_hooks", "_global_backward_pre_hooks"]


def prepare(model: nn.Module, seed: int) -> nn.Module:
    """Mixed training flags, some frozen parameters, gradients present, batch-norm statistics not the defaults."""
    generator = torch.Generator().manual_seed(seed)

    def coin():
        return bool(torch.rand((), generator=generator) < 0.5)

    with torch.no_grad():
        for module in model.modules():
            module.training = coin()
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.normal_(generator=generator)
                module.running_var.uniform_(0.5, 2.0, generator=generator)
                module.num_batches_tracked.fill_(int(torch.randint(0, 100, (), generator=generator)))
        for p in unique_params(model).values():
            if coin():
                p.requires_grad_(False)
            else:
                p.grad = torch.randn(p.shape, generator=generator)
    return model


def state(model: nn.Module) -> dict:
    """Everything about the instance an analysis could change, with the tensors cloned."""
    def tensors(named):
        return [(name, id(t), t.data_ptr(), t.device, t.dtype, t.requires_grad, t.detach().clone(),
                 None if t.grad is None else t.grad.clone()) for name, t in named]

    return {
        "modules": [(path, id(m), type(m), m.training) for path, m in model.named_modules(remove_duplicate=False)],
        "params": tensors(model.named_parameters(remove_duplicate=False)),
        "buffers": tensors(model.named_buffers(remove_duplicate=False)),
        "state_dict": [(name, t.device, t.dtype, t.clone()) for name, t in model.state_dict().items()],
    }


def assert_same(after: dict, before: dict) -> None:
    def same(a, b):
        if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
            return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and torch.equal(a, b)
        if isinstance(a, (tuple, list)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        return a == b

    assert after.keys() == before.keys()
    for key in before:
        assert len(after[key]) == len(before[key]), key
        for now, then in zip(after[key], before[key]):
            assert same(now, then), (key, now[0])


@SETTINGS
@given(net=nets(), seed=st.integers(0, 2**16))
@example(net=SHARED, seed=0)
def test_model_is_left_bit_for_bit_as_it_was(net, seed):
    model = prepare(build(net), seed)
    before = state(model)
    untouched = copy.deepcopy(model)  # a second witness, not derived from the snapshot code
    for device in ("meta", "cpu"):
        for mode in ("eval", "train"):
            archscope.analyze(model, net.input_size, device=device, mode=mode)
            assert_same(state(model), before)
            for (name, now), (_, then) in zip(model.state_dict().items(), untouched.state_dict().items(), strict=True):
                assert torch.equal(now, then) and now.dtype == then.dtype, (device, mode, name)
            for path, module in model.named_modules():
                for hooks in HOOK_DICTS:
                    assert not getattr(module, hooks), (device, mode, path, hooks)
            for hooks in GLOBAL_HOOKS:
                assert not getattr(module_globals, hooks), (device, mode, hooks)
            assert _get_current_dispatch_mode() is None
            assert torch.is_grad_enabled()


def test_shared_example_shares_what_it_says():
    """The explicit example exercises sharing: a conv called twice, a block under two names, a tied weight."""
    model = build(SHARED)
    assert model.stages[1] is model.stages[0] and model.stages[3] is not model.stages[0]
    assert model.stages[3].conv.weight is model.stages[0].conv.weight
    calls = real_shapes(model, torch.rand(SHARED.input_size))
    assert ("stages.0.conv", 3) in calls  # twice per use, used twice
    assert ("stages.3.conv", 1) in calls
