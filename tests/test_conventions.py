"""Other tools' totals rebuilt from archscope's records (convention=...), checked against the tools
themselves: torchinfo, fvcore and FlopCounterMode run for real on the cpu are the independent source
of every expected number here (the few written as arithmetic cite the tool's function)."""

import json
import types

import pytest
import torch
import torch.nn.functional as F
import torchinfo
from torch import nn

import archscope
from archscope import api
from archscope.cli import main
from archscope.records import Trace
from archscope.trace.counters import run_counters
from archscope.units import Convention, Mode

MODELS = ["googlenet", "googlenet-torchvision", "inception-mnist", "resnet-mnist", "alexnet", "lenet5",
          "inception-v3-block", "inception-resnet-c", "resnet-bottleneck", "nin"]


def assert_all_equal(reconciled, batch=1):
    assert [row["tool"] for row in reconciled["rows"]] == ["torchinfo", "fvcore", "flopcounter"]
    for row in reconciled["rows"]:
        assert row["status"] == "ok", row
        assert row["equal"], row
        assert row["real_scaled"] == row["reproduced"], row
        assert row["ran_at_batch"] == batch, row


@pytest.mark.parametrize("name", MODELS)
def test_every_reproduction_equals_the_real_run(name):
    entry = archscope.zoo.entry(name)
    assert_all_equal(archscope.counters(name, (1, *entry.default_input[0][1:])))


class Wrap(nn.Module):
    """A torch layer called through a function (``body``: the layer; ``fn(self, x)``: the forward)."""

    def __init__(self, body, fn):
        super().__init__()
        self.body, self.fn = body, fn

    def forward(self, x):
        return self.fn(self, x)


class WithParameter(nn.Module):
    """A container that holds a parameter of its own: torchinfo's leftover_params."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(4))
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(x) * self.scale


class UnusedMember(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(4, 4) for _ in range(3))

    def forward(self, x):
        return self.layers[1](self.layers[0](x))


def frozen_mlp():
    model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    model[0].requires_grad_(False)
    return model


SMALL = {  # name: (factory, input shape); each exercises a rule of conventions.py
    "linear-only MLP": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 32), nn.Linear(32, 5)), (1, 3, 4)),
    "linear on a sequence, LayerNorm": (
        lambda: nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 4)), (1, 7, 8)),
    "LSTM": (lambda: nn.LSTM(6, 8, num_layers=2), (5, 1, 6)),
    "LSTM with projections": (lambda: nn.LSTM(6, 8, proj_size=4), (5, 1, 6)),
    "GRU": (lambda: nn.GRU(6, 8, batch_first=True), (1, 5, 6)),
    "LSTMCell": (lambda: Wrap(nn.LSTMCell(6, 8), lambda self, x: self.body(x)[0]), (1, 6)),
    "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), (1, 5, 8)),
    "MultiheadAttention": (lambda: Wrap(nn.MultiheadAttention(8, 2, batch_first=True),
                                        lambda self, x: self.body(x, x, x)[0]), (1, 5, 8)),
    "3-D scaled_dot_product_attention": (lambda: Wrap(nn.Linear(8, 8), lambda self, x: F.scaled_dot_product_attention(
        self.body(x), x, x)), (1, 5, 8)),
    "InstanceNorm2d": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.InstanceNorm2d(8)), (1, 3, 10, 10)),
    "BatchNorm2d without running statistics": (
        lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8, track_running_stats=False)), (2, 3, 10, 10)),
    "BatchNorm2d without affine": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8, affine=False)),
                                   (1, 3, 10, 10)),
    "GroupNorm": (lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.GroupNorm(2, 8)), (1, 3, 10, 10)),
    "upsample": (lambda: nn.Sequential(nn.Conv2d(3, 4, 1), nn.Upsample(scale_factor=2, mode="bilinear"),
                                       nn.Upsample(scale_factor=2)), (1, 3, 5, 5)),
    "grid_sample": (lambda: Wrap(nn.Conv2d(2, 2, 1), lambda self, x: F.grid_sample(
        self.body(x), torch.zeros(1, 3, 3, 2), align_corners=False)), (1, 2, 5, 5)),
    "AdaptiveAvgPool 1-d, 2-d, 3-d": (lambda: Wrap(nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.AdaptiveAvgPool2d(3),
                                                                  nn.AdaptiveAvgPool3d(1)),
                                                    lambda self, x: [self.body[0](x.flatten(2)),
                                                                     self.body[1](x), self.body[2](x[None])]),
                                      (1, 3, 7, 7)),
    "ConvTranspose2d, depthwise Conv2d, Conv1d": (lambda: nn.Sequential(
        nn.ConvTranspose2d(3, 4, 3, stride=2), nn.Conv2d(4, 4, 3, groups=4), nn.Flatten(2), nn.Conv1d(4, 2, 3)),
        (1, 3, 5, 5)),
    "frozen layer": (frozen_mlp, (1, 8)),
    "container with its own parameter": (WithParameter, (1, 4)),
    "unused ModuleList member": (UnusedMember, (1, 4)),
}


@pytest.mark.parametrize("name", SMALL)
def test_small_models_reproductions_equal_the_real_runs(name):
    factory, shape = SMALL[name]
    assert_all_equal(archscope.counters(factory(), shape))


def real_figures(model, shape, mode=Mode.EVAL):
    return {run.tool: dict(run.figures) for run in run_counters(model, [shape], mode)}


def test_the_quirks_show_in_the_real_runs():
    """The rules conventions.py reproduces, seen in the tools' own totals (arithmetic from their source)."""
    lstm = real_figures(nn.LSTM(6, 8), (5, 1, 6))
    assert lstm["fvcore"]["flops"] == 0  # aten::lstm has no handle (flop_count.py _DEFAULT_SUPPORTED_OPS)
    assert lstm["flopcounter"]["flops"] == 0  # the cpu's aten.mkldnn_rnn_layer has no formula
    # torchinfo layer_info.py calculate_macs: weight_ih_l0 etc. × output's first two sizes
    assert lstm["torchinfo"]["mult_adds"] == 5 * 1 * (32 * 6 + 32 * 8 + 32 + 32)
    norm = real_figures(nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8)), (2, 3, 4, 4))
    # batchnorm_flop_jit in eval: input elements × 2; conv_flop_count: mult-adds without the bias
    assert norm["fvcore"]["flops"] == 2 * 8 * 16 * 3 + 2 * (2 * 8 * 16)
    # calculate_macs: a "Conv" class's parameters × the output's spatial positions × batch; others × batch
    assert norm["torchinfo"]["mult_adds"] == (8 * 3 + 8) * 2 * 16 + 2 * (8 + 8)
    assert norm["flopcounter"]["flops"] == 2 * (2 * 8 * 16 * 3)


class Tied(nn.Module):
    """Two layers sharing one weight tensor, and one block called twice."""

    def __init__(self):
        super().__init__()
        self.encode = nn.Linear(8, 16)
        self.block = nn.Sequential(nn.Linear(16, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.decode = nn.Linear(16, 8)
        self.head = nn.Linear(8, 8, bias=False)
        self.tail = nn.Linear(8, 8, bias=False)
        self.tail.weight = self.head.weight

    def forward(self, x):
        return self.tail(self.head(self.decode(self.block(self.block(self.encode(x))))))


def test_tied_weights_and_a_block_called_twice():
    model = Tied().eval()
    real = torchinfo.summary(model, input_size=(4, 8), verbose=0, device="cpu")
    ours = archscope.analyze(model, (4, 8), convention="torchinfo").totals
    assert ours["params"] == real.total_params
    assert ours["mult_adds"] == real.total_mult_adds
    assert ours["forward_backward_bytes"] == real.total_output_bytes
    assert ours["params_bytes"] == real.total_param_bytes
    assert ours["input_bytes"] == real.total_input
    own = archscope.analyze(model, (4, 8)).totals
    assert own["params"] == sum(p.numel() for p in model.parameters())  # each tensor once
    assert real.total_params == own["params"] + 8 * 8  # torchinfo: per leaf module, the tied tensor twice
    assert_all_equal(archscope.counters(model, (4, 8)))


def test_batch_linear_models_run_at_batch_1_and_scale():
    reconciled = archscope.counters("inception-mnist", (3, 1, 28, 28))
    assert reconciled["batch"] == 3
    assert_all_equal(reconciled, batch=1)
    assert all(row["scale"] == 3 and row["real_scaled"] == 3 * row["real"] for row in reconciled["rows"])
    # the tools themselves at batch 3 print what the batch-1 run scaled by 3 says, and what archscope
    # reproduces at batch 3 (torchinfo: its memory figures as well)
    at_3 = real_figures(archscope.zoo.build("inception-mnist"), (3, 1, 28, 28))
    rows = {row["tool"]: row for row in reconciled["rows"]}
    for tool, key in (("torchinfo", "mult_adds"), ("fvcore", "flops"), ("flopcounter", "flops")):
        assert at_3[tool][key] == rows[tool]["real_scaled"] == rows[tool]["reproduced"]
    ours = archscope.analyze("inception-mnist", (3, 1, 28, 28), convention="torchinfo").totals
    assert {key: ours[key] for key in at_3["torchinfo"]} == at_3["torchinfo"]


class Gram(nn.Module):
    """Mixes the batch: x @ xᵀ costs batch² × features, so a count at batch 1 does not scale."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return self.fc(x) @ x.t()


class BatchSum(nn.Module):
    """The batch summed before a Linear: its cost does not grow with the batch."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return x + self.fc(x.sum(0))


class TimeFirst(nn.Module):
    """Linear in batch for archscope, but torchinfo multiplies the Linear's parameters by the output's
    first size, here the sequence length, not the batch."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return self.fc(x.transpose(0, 1))


@pytest.mark.parametrize("model", [Gram, BatchSum, TimeFirst])
def test_a_model_not_linear_in_batch_runs_at_its_batch(model):
    reconciled = archscope.counters(model(), (5, 3, 6) if model is TimeFirst else (5, 6))
    assert_all_equal(reconciled, batch=5)
    assert all(row["scale"] == 1 for row in reconciled["rows"])


def test_a_large_batch_that_does_not_scale_is_skipped_with_the_reason(monkeypatch):
    monkeypatch.setattr(api, "FULL_BATCH_BYTES", 10)
    rows = archscope.counters(Gram(), (5, 6))["rows"]
    assert {row["status"] for row in rows} == {"skipped"}
    assert "not linear in batch" in rows[0]["reason"] and "batch 5" in rows[0]["reason"]


def test_train_mode_runs_the_tools_in_train_mode_at_the_full_batch():
    """BatchNorm in train mode: fvcore counts its input × 5 (norm_flop_counter), not × 2. Its
    num_batches_tracked += 1 costs one FLOP at any batch, so the counts are not linear in batch:
    the tools run at the full batch."""
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(), nn.Flatten(),
                          nn.Linear(8 * 36, 4))
    analysis = archscope.analyze(model, (4, 3, 8, 8), mode="train")
    assert_all_equal(archscope.counters(model, (4, 3, 8, 8), analysis=analysis), batch=4)
    fvcore = archscope.analyze(model, (4, 3, 8, 8), mode="train", convention="fvcore").totals["flops"]
    eval_fvcore = archscope.analyze(model, (4, 3, 8, 8), convention="fvcore").totals["flops"]
    assert fvcore - eval_fvcore == (5 - 2) * 4 * 8 * 36
    assert model.training  # the tools ran on a copy


class ObjectOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return types.SimpleNamespace(logits=self.fc(x))  # torch.jit.trace, under fvcore, takes tensors only


class ScalarLeaf(nn.Module):
    """A leaf with a parameter and a 0-d output: torchinfo's calculate_macs reads output_size[0]."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4))

    def forward(self, x):
        return (x * self.weight).sum()


def test_a_counter_that_cannot_run_the_model_is_a_record():
    rows = {row["tool"]: row for row in archscope.counters(ObjectOutput(), (2, 4))["rows"]}
    assert rows["fvcore"]["status"] == "failed" and rows["fvcore"]["reason"]
    assert "\n" not in rows["fvcore"]["reason"]
    assert rows["flopcounter"]["status"] == "ok" and rows["flopcounter"]["equal"]
    rows = {row["tool"]: row for row in archscope.counters(ScalarLeaf(), (2, 4))["rows"]}
    assert rows["torchinfo"]["status"] == "failed" and "torchinfo" in rows["torchinfo"]["reason"]
    assert rows["fvcore"]["equal"] and rows["flopcounter"]["equal"]


def test_a_meta_model_is_skipped_with_the_reason():
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(4, 4))
    rows = archscope.counters(model, (1, 4))["rows"]
    assert {row["status"] for row in rows} == {"skipped"}
    assert "meta" in rows[0]["reason"]


def test_the_users_model_is_left_as_it_was():
    model = Tied().train()
    before = {key: value.clone() for key, value in model.state_dict().items()}
    archscope.counters(model, (4, 8))
    assert model.training
    after = model.state_dict()
    assert all(torch.equal(before[key], after[key]) for key in before)
    assert all(parameter.grad is None for parameter in model.parameters())


def test_fvcore_unsupported_ops_are_data():
    rows = {row["tool"]: row for row in archscope.counters("lenet5", (1, 1, 32, 32))["rows"]}
    assert rows["fvcore"]["unsupported"]  # its own words: aten::max_pool2d, aten::relu, ...
    assert all(name.startswith("aten::") for name in rows["fvcore"]["unsupported"])


def test_conventions_from_a_trace_read_back_from_json():
    analysis = archscope.analyze(nn.LSTM(6, 8), (5, 1, 6))
    trace = Trace.from_dict(json.loads(json.dumps(analysis.trace.to_dict())))
    assert trace == analysis.trace
    for convention in (Convention.TORCHINFO, Convention.FVCORE, Convention.FLOPCOUNTER):
        assert api.Analysis(trace, convention).totals == api.Analysis(analysis.trace, convention).totals


def test_summary_convention_on_the_command_line(capsys):
    real = torchinfo.summary(archscope.zoo.build("googlenet"), input_size=(1, 3, 224, 224), verbose=0,
                             device="cpu")
    assert main(["summary", "googlenet", "--input", "1,3,224,224", "--format", "json",
                 "--convention", "torchinfo"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["convention"] == "torchinfo"
    assert document["totals"]["mult_adds"] == real.total_mult_adds
    with pytest.raises(SystemExit) as exit:
        main(["summary", "googlenet", "--convention", "nvidia"])
    assert exit.value.code == 2 and "--convention" in capsys.readouterr().err


def test_unknown_convention_in_python():
    with pytest.raises(ValueError, match="convention must be one of"):
        archscope.analyze("lenet5", convention="thop")
    assert archscope.analyze("lenet5").to_dict()["convention"] == "archscope"
