"""The tracer on small hand-written models: what it records, what it leaves behind, how it fails.

Expected numbers come from hand formulas written here, from a real cpu forward, from
``torch.utils.flop_counter.FlopCounterMode`` or from ``torchinfo`` — never from archscope itself.
"""

import copy
import json

import pytest
import torch
import torch.nn.functional as F
import torchinfo
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode
from torch.utils.flop_counter import FlopCounterMode

import archscope
from archscope.errors import ForwardError
from archscope.records import Trace


def calls_of(analysis, path):
    return [layer for layer in analysis.trace.layers if layer.path == path]


def row_of(analysis, path, call=0):
    (row,) = [r for r in analysis.rows if r["path"] == path and r["call"] == call]
    return row


def ops_named(analysis, prefix):
    return [op for op in analysis.trace.ops if op.op.startswith(prefix)]


def conv_macs(n, c_in, c_out, k, h_out, w_out, groups=1):
    return n * c_out * h_out * w_out * (c_in // groups) * k * k


# -- 1. a module called twice ----------------------------------------------------------------------


class CalledTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return self.conv(F.relu(self.conv(x)))


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_module_called_twice_gives_two_records_and_params_once(device):
    analysis = archscope.analyze(CalledTwice(), (2, 4, 6, 6), device=device)
    first, second = calls_of(analysis, "conv")
    assert (first.call, second.call) == (0, 1)
    assert first.index < second.index and first.parent == second.parent == 0
    assert [r["call"] for r in analysis.rows if r["path"] == "conv"] == [0, 1]
    assert row_of(analysis, "conv", 0)["mult_adds"] == row_of(analysis, "conv", 1)["mult_adds"] == conv_macs(2, 4, 4, 3, 6, 6)
    assert analysis.totals["params"] == 4 * 4 * 9 + 4  # once, though it ran twice
    assert analysis.totals["mult_adds"] == 2 * conv_macs(2, 4, 4, 3, 6, 6)


# -- 2. tied weights -------------------------------------------------------------------------------


class TiedLM(nn.Module):
    def __init__(self, vocab=50, dim=8):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.head = nn.Linear(dim, vocab)
        self.head.weight = self.embed.weight

    def forward(self, tokens):
        return self.head(self.embed(tokens))


class TwinBranches(nn.Module):
    """One conv registered under two names, each name used by its own branch."""

    def __init__(self):
        super().__init__()
        shared = nn.Conv2d(3, 4, 3)
        self.left = shared
        self.right = shared
        self.mix = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        return self.mix(torch.cat([self.left(x), self.right(x.flip(-1))], 1))


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_tied_embedding_and_head_count_once(device):
    model = TiedLM()
    tokens = torch.randint(0, 50, (2, 5))
    analysis = archscope.analyze(model, input_data=tokens, device=device)
    expected = 50 * 8 + 50  # the shared 50x8 matrix once, plus the head's bias
    assert analysis.totals["params"] == expected == sum(p.numel() for p in model.parameters())
    assert analysis.totals["trainable_params"] == expected
    assert row_of(analysis, "head")["output_shape"] == [2, 5, 50]
    assert analysis.totals["mult_adds"] == 2 * 5 * 8 * 50
    # torchinfo counts the shared matrix twice: once in the embedding, once in the head.
    stats = torchinfo.summary(model, input_data=tokens, verbose=0)
    assert stats.total_params == 50 * 8 * 2 + 50 == expected + 50 * 8
    # ... and its bytes twice in "Params size"; archscope keeps the one tensor's bytes once
    assert stats.total_param_bytes == 4 * (50 * 8 * 2 + 50)
    assert analysis.totals["params_bytes"] == 4 * expected


class SkipsAHead(nn.Module):
    """A head that exists but does not run (like GoogLeNet's auxiliary heads in eval)."""

    def __init__(self):
        super().__init__()
        self.used = nn.Linear(4, 4)
        self.unused = nn.Linear(4, 6)

    def forward(self, x):
        return self.used(x)


def test_params_size_counts_the_modules_that_ran_as_torchinfo_does():
    model = SkipsAHead()
    analysis = archscope.analyze(model, (1, 4))
    stats = torchinfo.summary(model, input_size=(1, 4), verbose=0)
    assert analysis.totals["params"] == stats.total_params == (4 * 4 + 4) + (4 * 6 + 6)
    assert analysis.totals["params_bytes"] == stats.total_param_bytes == 4 * (4 * 4 + 4)


def test_one_conv_under_two_names_counts_once():
    model = TwinBranches()
    analysis = archscope.analyze(model, (1, 3, 8, 8))
    conv = 3 * 4 * 9 + 4
    assert analysis.totals["params"] == conv + (8 * 2 + 2)
    # Both branches run the same module: recorded under its first name, calls 0 and 1.
    assert [(layer.path, layer.call) for layer in analysis.trace.layers] == [("", 0), ("left", 0), ("left", 1), ("mix", 0)]
    assert analysis.totals["mult_adds"] == 2 * conv_macs(1, 3, 4, 3, 6, 6) + conv_macs(1, 8, 2, 1, 6, 6)
    # the model keeps its own tensors under both names (a double swap once left meta stand-ins behind)
    assert all(t.device.type == "cpu" for _, t in model.named_parameters(remove_duplicate=False))
    assert model.left.weight is model.right.weight
    stats = torchinfo.summary(model, input_size=(1, 3, 8, 8), verbose=0)
    assert stats.total_params == analysis.totals["params"]  # a shared *module* torchinfo counts once


# -- 3. functional ops belong to the innermost module ----------------------------------------------


class FunctionalBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1, bias=False)

    def forward(self, x):
        y = F.relu(self.conv(x))
        p = F.avg_pool2d(y, 2)
        z = torch.cat([p, p * 2], 1)
        return z + z


class FunctionalNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = FunctionalBlock()

    def forward(self, x):
        return F.relu(self.block(x))


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_functional_ops_are_attributed_to_the_innermost_module(device):
    analysis = archscope.analyze(FunctionalNet(), (2, 4, 8, 8), device=device)
    index = {layer.path: layer.index for layer in analysis.trace.layers}
    assert set(index) == {"", "block", "block.conv"}
    (conv,) = ops_named(analysis, "aten.convolution")
    assert conv.layer == index["block.conv"]
    relu_block, relu_root = ops_named(analysis, "aten.relu")
    assert relu_block.layer == index["block"] and relu_root.layer == index[""]
    assert [op.layer for op in ops_named(analysis, "aten.avg_pool2d")] == [index["block"]]
    assert [op.layer for op in ops_named(analysis, "aten.cat")] == [index["block"]]
    assert [op.layer for op in ops_named(analysis, "aten.mul")] == [index["block"]]
    assert [op.layer for op in ops_named(analysis, "aten.add")] == [index["block"]]

    n, c, hw = 2, 4, 8
    block = row_of(analysis, "block")
    assert block["flops_activation"] == n * c * hw * hw  # 1 per element
    assert block["flops_pooling"] == n * c * (hw // 2) ** 2 * 4  # a 2x2 window per output element
    assert block["flops_elementwise"] == n * c * 16 + n * 2 * c * 16  # p * 2, then z + z
    assert block["flops_concat_copy"] == 0
    assert block["flops_conv_linear"] == 2 * conv_macs(n, c, c, 1, hw, hw)
    assert block["self_flops"] == block["flops"] - block["flops_conv_linear"]
    root = row_of(analysis, "")
    assert root["flops_activation"] == n * c * hw * hw + n * 2 * c * 16  # its own relu on the 8-channel output
    assert root["output_shape"] == [2, 8, 4, 4]


# -- 4. structured inputs and outputs --------------------------------------------------------------


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x), x.sum(1)


class DictInOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.fc = nn.Linear(4, 3)

    def forward(self, x, tokens=None):
        return {"logits": self.fc(x), "emb": (self.embed(tokens), x)}


def keys_shapes_dtypes(specs):
    return [(s.key, s.shape, s.dtype) for s in specs]


def test_tuple_output_keeps_positions():
    analysis = archscope.analyze(TupleOut(), (2, 4))
    assert keys_shapes_dtypes(analysis.trace.inputs) == [("[0]", (2, 4), "float32")]
    assert keys_shapes_dtypes(analysis.trace.layers[0].outputs) == [("[0]", (2, 3), "float32"), ("[1]", (2,), "float32")]
    assert analysis.rows[0]["output_shapes"] == [[2, 3], [2]]


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_dict_input_is_passed_as_keywords_and_keeps_names_and_dtypes(device):
    x, tokens = torch.rand(2, 4), torch.randint(0, 10, (2, 5))
    analysis = archscope.analyze(DictInOut(), input_data={"x": x, "tokens": tokens}, device=device)
    expected_inputs = [("['x']", (2, 4), "float32"), ("['tokens']", (2, 5), "int64")]
    assert keys_shapes_dtypes(analysis.trace.inputs) == expected_inputs
    root = analysis.trace.layers[0]
    assert keys_shapes_dtypes(root.inputs) == expected_inputs
    assert keys_shapes_dtypes(root.outputs) == [
        ("['logits']", (2, 3), "float32"), ("['emb'][0]", (2, 5, 4), "float32"), ("['emb'][1]", (2, 4), "float32")]
    assert row_of(analysis, "embed")["input_dtypes"] == ["int64"]
    assert row_of(analysis, "embed")["output_shape"] == [2, 5, 4]
    assert analysis.to_dict()["input"] == [[2, 4], [2, 5]]
    assert analysis.totals["input_bytes"] == 2 * 4 * 4 + 2 * 5 * 8


def test_tuple_of_positional_inputs():
    x, tokens = torch.rand(2, 4), torch.randint(0, 10, (2, 5))
    analysis = archscope.analyze(DictInOut(), input_data=(x, tokens))
    assert keys_shapes_dtypes(analysis.trace.inputs) == [("[0]", (2, 4), "float32"), ("[1]", (2, 5), "int64")]
    assert row_of(analysis, "embed")["input_dtypes"] == ["int64"]


def test_keyword_input_beside_a_positional_one_is_named():
    """A module called with a keyword argument: the hook sees it under its name, apart from positions."""

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = DictInOut()

        def forward(self, x, tokens):
            return self.inner(x, tokens=tokens)

    analysis = archscope.analyze(Outer(), input_data=(torch.rand(2, 4), torch.randint(0, 10, (2, 5))))
    inner = calls_of(analysis, "inner")[0]
    assert keys_shapes_dtypes(inner.inputs) == [("[0]", (2, 4), "float32"), ("['tokens']", (2, 5), "int64")]


# -- 5. mult-adds per module against FlopCounterMode -----------------------------------------------


class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.qkv = nn.Linear(dim, 3 * dim)

    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = torch.bmm(q, k.transpose(1, 2))
        return torch.matmul(scores.softmax(-1), v)


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.down = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=2)
        self.attn = Attention(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.down(F.relu(self.stem(x)))
        tokens = x.flatten(2).transpose(1, 2)
        return self.fc(self.attn(tokens).mean(1))


def test_mult_adds_are_half_of_flop_counter_mode_per_module():
    model = TinyCNN().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.rand(2, 3, 8, 8))
    per_module = counter.get_flop_counts()
    analysis = archscope.analyze(model, (2, 3, 8, 8))
    assert analysis.totals["mult_adds"] * 2 == counter.get_total_flops()
    n, t = 2, 16  # 4x4 tokens after the stride-2 conv
    by_hand = (conv_macs(n, 3, 8, 3, 8, 8) + conv_macs(n, 8, 16, 3, 4, 4, groups=2)
               + n * t * 16 * 48 + n * t * t * 16 * 2 + n * 16 * 10)
    assert analysis.totals["mult_adds"] == by_hand
    checked = 0
    for row in analysis.rows:
        key = "TinyCNN" + (f".{row['path']}" if row["path"] else "")
        expected = sum(per_module.get(key, {}).values())
        assert row["mult_adds"] * 2 == expected, key
        checked += row["is_leaf"] and expected > 0
    assert checked == 4  # stem, down, attn.qkv, fc
    assert row_of(analysis, "attn")["self_mult_adds"] == n * t * t * 16 * 2  # bmm and matmul in its forward


# -- 6. meta and cpu agree -------------------------------------------------------------------------


class PoolingCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 5, stride=2, padding=2)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.a = nn.Conv2d(6, 4, 1)
        self.b = nn.Conv2d(6, 4, 3, padding=1, dilation=1)
        self.c = nn.AvgPool2d(3, stride=1, padding=1, ceil_mode=True)
        self.bn = nn.BatchNorm2d(14)
        self.gap = nn.AdaptiveAvgPool2d((2, 3))
        self.fc = nn.Linear(14 * 6, 5)

    def forward(self, x):
        x = self.pool(F.relu(self.stem(x)))
        x = torch.cat([self.a(x), self.b(x), self.c(x)], 1)
        return self.fc(self.gap(F.relu(self.bn(x))).flatten(1))


@pytest.mark.parametrize("size", [(1, 3, 17, 17), (2, 3, 20, 13)])
def test_meta_and_cpu_give_identical_shapes_params_and_counts(size):
    model = PoolingCNN()
    on_meta = archscope.analyze(model, size, device="meta")
    on_cpu = archscope.analyze(model, size, device="cpu")
    assert (on_meta.trace.device, on_cpu.trace.device) == ("meta", "cpu")

    def per_call(analysis):
        return [(r["path"], r["call"], r["output_shapes"], r["params"], r["mult_adds"], r["flops"]) for r in analysis.rows]

    assert per_call(on_meta) == per_call(on_cpu)
    assert on_meta.totals == on_cpu.totals
    assert on_meta.flops_by_category == on_cpu.flops_by_category
    # and the shapes are the real ones: each leaf's first output against a real forward
    real = {}

    def keep_shape(module, args, output):
        real[paths[module]] = list(output.shape)

    paths = {m: p for p, m in model.named_modules() if p}
    hooks = [m.register_forward_hook(keep_shape) for m in paths]
    with torch.no_grad():
        model.eval()(torch.rand(size))
    for handle in hooks:
        handle.remove()
    assert {r["path"]: r["output_shape"] for r in on_meta.rows if r["path"]} == real


# -- 7. the model is left as it was ----------------------------------------------------------------

HOOK_DICTS = ["_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs",
              "_forward_hooks_always_called", "_forward_pre_hooks_with_kwargs"]


class Stateful(nn.Module):
    def __init__(self, fail=False):
        super().__init__()
        self.fail = fail
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(4 * 6 * 6, 3))

    def forward(self, x):
        x = self.features(x)
        if self.fail:
            raise ValueError("refusing to go on half-way")
        return self.head(x)


def prepared(fail=False):
    torch.manual_seed(0)
    model = Stateful(fail)
    model.train()
    model.features[1].eval()  # a mixed pattern: root training, one child in eval
    model.features[0].weight.requires_grad_(False)  # some frozen
    model.head[2].bias.requires_grad_(False)
    with torch.no_grad():  # non-default buffers, so a reset would show
        model.features[1].running_mean.uniform_()
        model.features[1].running_var.uniform_(0.5, 2.0)
    model.head[2].register_forward_hook(lambda *args: None)  # the user's own hook stays
    return model


def snapshot(model):
    return {
        "training": [(p, m.training) for p, m in model.named_modules()],
        "requires_grad": [(p, t.requires_grad) for p, t in model.named_parameters()],
        "hooks": [(p, name, list(getattr(m, name))) for p, m in model.named_modules() for name in HOOK_DICTS],
        "devices": {t.device.type for t in [*model.parameters(), *model.buffers()]},
    }


def assert_untouched(model, before, copy_before):
    assert snapshot(model) == before
    for (name, value), (_, kept) in zip(model.state_dict().items(), copy_before.state_dict().items()):
        assert torch.equal(value, kept), name
    assert _get_current_dispatch_mode() is None
    assert torch.is_grad_enabled()


@pytest.mark.parametrize(("device", "mode"), [("meta", "eval"), ("meta", "train"), ("cpu", "eval"), ("cpu", "train")])
def test_model_untouched_after_analysis(device, mode):
    model = prepared()
    before, copy_before = snapshot(model), copy.deepcopy(model)
    assert before["devices"] == {"cpu"}
    archscope.analyze(model, (2, 3, 8, 8), device=device, mode=mode)
    assert_untouched(model, before, copy_before)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_model_untouched_when_its_forward_raises(device):
    model = prepared(fail=True)
    before, copy_before = snapshot(model), copy.deepcopy(model)
    with pytest.raises(ForwardError) as raised:
        archscope.analyze(model, (2, 3, 8, 8), device=device, mode="train")
    assert raised.value.path == "" and raised.value.type_name == "Stateful"
    assert raised.value.input_shapes == [(2, 3, 8, 8)]
    assert "refusing to go on half-way" in str(raised.value)
    assert isinstance(raised.value.__cause__, ValueError)
    assert_untouched(model, before, copy_before)


def test_model_untouched_when_a_hooked_child_raises():
    model = prepared()
    before, copy_before = snapshot(model), copy.deepcopy(model)
    with pytest.raises(ForwardError):
        archscope.analyze(model, (2, 5, 8, 8))  # the first conv expects 3 channels
    assert_untouched(model, before, copy_before)


# -- 8. ForwardError names the layer and what it received ------------------------------------------


class Nested(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return self.body(x)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_channel_mismatch_names_the_layer_and_its_input(device):
    model = Nested(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(4, 8, 3)))
    with pytest.raises(ForwardError) as raised:
        archscope.analyze(model, (1, 3, 10, 10), device=device)
    error = raised.value
    assert (error.path, error.type_name, error.input_shapes) == ("body.2", "Conv2d", [(1, 8, 8, 8)])
    assert "body.2 (Conv2d)" in str(error) and "[1, 8, 8, 8]" in str(error)
    assert "\n" not in str(error)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_spatial_collapse_names_the_pooling_layer(device):
    model = Nested(nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(3)))
    with pytest.raises(ForwardError) as raised:
        archscope.analyze(model, (1, 3, 4, 4), device=device)
    error = raised.value
    assert (error.path, error.type_name, error.input_shapes) == ("body.1", "MaxPool2d", [(1, 4, 2, 2)])
    assert "body.1 (MaxPool2d)" in str(error) and "[1, 4, 2, 2]" in str(error)


# -- 9. falling back from meta to cpu --------------------------------------------------------------


class Counting(nn.Module):
    """Counts its forward calls, to see whether archscope retried."""

    def __init__(self, body):
        super().__init__()
        self.body = body
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.body(x)


class ItemGate(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        scale = float(x.abs().max().item())  # data-dependent: meta tensors hold no value
        return self.fc(x) * scale


class NonzeroPick(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 6)

    def forward(self, x):
        y = self.fc(x)
        return y[torch.nonzero(torch.ones_like(y[:, 0]), as_tuple=True)]  # all rows: shape known by hand


@pytest.mark.parametrize(("body", "output"), [(ItemGate, [3, 4]), (NonzeroPick, [3, 6])])
def test_data_dependent_forward_falls_back_to_cpu_with_a_notice(body, output):
    model = Counting(body())
    analysis = archscope.analyze(model, (3, 4))
    assert model.calls == 2  # meta, then cpu
    assert analysis.trace.device == "cpu"
    (notice,) = analysis.trace.notices
    assert "cpu" in notice and "\n" not in notice
    assert analysis.to_dict()["notices"] == [notice]
    assert analysis.to_dict()["device"] == "cpu"
    assert row_of(analysis, "")["output_shape"] == output
    assert row_of(analysis, "body.fc")["mult_adds"] == 3 * 4 * output[1]


def test_a_failure_unrelated_to_meta_is_not_retried_on_cpu():
    model = Counting(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(5, 4, 3)))
    with pytest.raises(ForwardError) as raised:
        archscope.analyze(model, (1, 3, 9, 9))
    assert model.calls == 1
    assert raised.value.path == "body.1"


def test_no_fallback_when_cpu_was_asked_for():
    analysis = archscope.analyze(Counting(ItemGate()), (3, 4), device="cpu")
    assert analysis.trace.device == "cpu" and analysis.trace.notices == ()


# -- 10. mode="train" ------------------------------------------------------------------------------


class ConvBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, bias=False)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_train_mode_counts_batch_norm_statistics_and_restores_flags(device):
    model = ConvBN().eval()
    trained = archscope.analyze(model, (2, 3, 8, 8), mode="train", device=device)
    assert not any(m.training for m in model.modules())
    model.train()
    evaluated = archscope.analyze(model, (2, 3, 8, 8), mode="eval", device=device)
    assert all(m.training for m in model.modules())
    assert (trained.trace.mode, evaluated.trace.mode) == ("train", "eval")
    elements = 2 * 4 * 6 * 6
    train_bn, eval_bn = row_of(trained, "bn")["flops_normalization"], row_of(evaluated, "bn")["flops_normalization"]
    assert train_bn != eval_bn and train_bn > eval_bn > 0
    assert train_bn % elements == 0 and eval_bn % elements == 0  # a rate per element in both modes
    assert trained.totals["mult_adds"] == evaluated.totals["mult_adds"] == conv_macs(2, 3, 4, 3, 6, 6)


def test_train_mode_runs_dropout_as_training():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)).eval()
    trained = archscope.analyze(model, (2, 4), mode="train")
    evaluated = archscope.analyze(model, (2, 4), mode="eval")
    assert ops_named(trained, "aten.native_dropout") or ops_named(trained, "aten.bernoulli")
    assert not ops_named(evaluated, "aten.native_dropout") and not ops_named(evaluated, "aten.bernoulli")


# -- 11. ops without a formula are listed, never a silent zero -------------------------------------


@torch.library.custom_op("archscope_test::reverse_last", mutates_args=())
def reverse_last(x: torch.Tensor) -> torch.Tensor:
    """An op no formula can know about: defined here, so archscope's registry cannot hold it."""
    return x.flip(-1).clone()


@reverse_last.register_fake
def _(x):
    return torch.empty_like(x)


class Uncounted(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.inner = Nested(nn.Identity())

    def forward(self, x):
        x = reverse_last(self.fc(x))
        return reverse_last(reverse_last(self.inner(x)))


class ReverseInside(nn.Module):
    def forward(self, x):
        return reverse_last(x)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_uncounted_op_makes_the_analysis_incomplete(device):
    model = Uncounted()
    model.inner.body = ReverseInside()
    analysis = archscope.analyze(model, (2, 4), device=device)
    assert not analysis.complete
    assert analysis.uncounted == [{"op": "archscope_test.reverse_last.default", "calls": 4, "layers": ["", "inner.body"]}]
    assert analysis.to_dict()["complete"] is False
    assert analysis.to_dict()["uncounted"] == analysis.uncounted
    assert analysis.totals["flops"] == sum(analysis.flops_by_category.values())  # nothing guessed for it
    assert analysis.totals["mult_adds"] == 2 * 4 * 4


class MiniInception(nn.Module):
    """GoogLeNet's parts in miniature: BasicConv2d, four branches, ceil-mode pooling, cat, classifier."""

    def __init__(self):
        super().__init__()

        def basic(c_in, c_out, k, **kw):
            return nn.Sequential(nn.Conv2d(c_in, c_out, k, bias=False, **kw), nn.BatchNorm2d(c_out, eps=0.001),
                                 nn.ReLU(inplace=True))

        self.stem = basic(3, 8, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.b1 = basic(8, 4, 1)
        self.b2 = nn.Sequential(basic(8, 2, 1), basic(2, 4, 3, padding=1))
        self.b3 = nn.Sequential(basic(8, 2, 1), basic(2, 4, 3, padding=1))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), basic(8, 4, 1))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(self.stem(x))
        x = torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)
        return self.fc(self.dropout(torch.flatten(self.avgpool(x), 1)))


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_googlenet_like_model_is_complete(device):
    analysis = archscope.analyze(MiniInception(), (2, 3, 32, 32), device=device)
    assert analysis.complete, analysis.uncounted
    assert analysis.uncounted == [] and analysis.to_dict()["complete"] is True
    assert row_of(analysis, "")["output_shape"] == [2, 10]


# -- 12. a trace round-trips through JSON ----------------------------------------------------------


@pytest.mark.parametrize("case", ["fallback notice", "dict input and output"])
def test_trace_round_trips_through_json(case):
    if case == "fallback notice":
        trace = archscope.analyze(Counting(ItemGate()), (3, 4)).trace
        assert trace.notices
    else:
        inputs = {"x": torch.rand(2, 4), "tokens": torch.randint(0, 10, (2, 5))}
        trace = archscope.analyze(DictInOut(), input_data=inputs).trace
    document = json.loads(json.dumps(trace.to_dict()))
    again = Trace.from_dict(document)
    assert again == trace
    assert hash(again) == hash(trace)  # frozen all the way down: tuples, not lists
    with pytest.raises(ValueError, match="schema_version"):
        Trace.from_dict({**document, "schema_version": 999})


# -- 13. cost does not grow with batch -------------------------------------------------------------


def test_meta_trace_size_does_not_depend_on_batch():
    model = PoolingCNN()
    small = archscope.analyze(model, (1, 3, 32, 32))
    large = archscope.analyze(model, (200, 3, 32, 32))
    assert len(small.trace.layers) == len(large.trace.layers)
    assert [op.op for op in small.trace.ops] == [op.op for op in large.trace.ops]
    assert large.totals["mult_adds"] == 200 * small.totals["mult_adds"]
    assert large.totals["params"] == small.totals["params"]


# -- 14. data-flow ids link producers to consumers -------------------------------------------------


class TwoBranches(nn.Module):
    def __init__(self):
        super().__init__()
        self.branch1 = nn.Conv2d(3, 4, 1)
        self.branch2 = nn.Conv2d(3, 2, 3, padding=1)

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x)], 1)


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.f = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU())

    def forward(self, x):
        y = self.stem(x)
        return y + self.f(y)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_branch_outputs_flow_into_cat(device):
    analysis = archscope.analyze(TwoBranches(), (1, 3, 5, 5), device=device)
    (cat,) = ops_named(analysis, "aten.cat")
    b1, b2 = calls_of(analysis, "branch1")[0], calls_of(analysis, "branch2")[0]
    assert [b1.outputs[0].tensor_id, b2.outputs[0].tensor_id] == list(cat.inputs)
    assert b1.outputs[0].tensor_id != b2.outputs[0].tensor_id
    root = analysis.trace.layers[0]
    assert root.outputs[0].tensor_id == cat.outputs[0]
    assert b1.inputs[0].tensor_id == b2.inputs[0].tensor_id == analysis.trace.inputs[0].tensor_id
    (conv1,) = [op for op in ops_named(analysis, "aten.convolution") if op.layer == b1.index]
    assert conv1.outputs == (b1.outputs[0].tensor_id,)


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_residual_add_links_both_paths(device):
    analysis = archscope.analyze(Residual(), (1, 3, 5, 5), device=device)
    stem, f = calls_of(analysis, "stem")[0], calls_of(analysis, "f")[0]
    (add,) = ops_named(analysis, "aten.add")
    assert add.layer == 0
    assert set(add.inputs) == {stem.outputs[0].tensor_id, f.outputs[0].tensor_id}
    assert f.inputs[0].tensor_id == stem.outputs[0].tensor_id
    assert analysis.trace.layers[0].outputs[0].tensor_id == add.outputs[0]


# -- 15. property: convolution shapes and mult-adds --------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    groups=st.integers(1, 3), in_per_group=st.integers(1, 3), out_per_group=st.integers(1, 3),
    kh=st.integers(1, 4), kw=st.integers(1, 4), stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)), dilation=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    batch=st.integers(1, 3), height=st.integers(1, 12), width=st.integers(1, 12), bias=st.booleans(),
)
def test_conv_shapes_and_mult_adds_property(groups, in_per_group, out_per_group, kh, kw, stride, padding, dilation,
                                            batch, height, width, bias):
    h_out = (height + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (width + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    assume(h_out >= 1 and w_out >= 1)
    c_in, c_out = groups * in_per_group, groups * out_per_group
    conv = nn.Conv2d(c_in, c_out, (kh, kw), stride=stride, padding=padding, dilation=dilation, groups=groups, bias=bias)
    with torch.no_grad():
        real = list(conv(torch.rand(batch, c_in, height, width)).shape)
    assert real == [batch, c_out, h_out, w_out]  # the hand formula is torch's
    analysis = archscope.analyze(conv, (batch, c_in, height, width))
    row = analysis.rows[0]
    assert row["output_shape"] == real
    assert row["mult_adds"] == batch * c_out * h_out * w_out * (c_in // groups) * kh * kw
    assert row["params"] == c_out * in_per_group * kh * kw + (c_out if bias else 0)
