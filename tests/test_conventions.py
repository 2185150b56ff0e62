"""Other tools' totals rebuilt from archscope's records (convention=...), checked against the tools
themselves: torchinfo, fvcore and FlopCounterMode run for real on the cpu are the independent source
of every expected number here."""

import json
import types

import pytest
import torch
import torchinfo
from torch import nn

import archscope
from archscope.cli import main

MODELS = ["googlenet", "googlenet-torchvision", "inception-mnist", "resnet-mnist", "lenet5",
          "inception-v3-block", "inception-resnet-c", "resnet-bottleneck", "nin"]


@pytest.mark.parametrize("name", MODELS)
def test_every_reproduction_equals_the_real_run(name):
    entry = archscope.zoo.entry(name)
    shape = (1, *entry.default_input[0][1:])
    rows = archscope.counters(name, shape)["rows"]
    assert [row["tool"] for row in rows] == ["torchinfo", "fvcore", "flopcounter"]
    for row in rows:
        assert row["status"] == "ok", row
        assert row["equal"], row
        assert row["reproduced"] == row["real"]  # at batch 1 nothing is scaled


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
    assert archscope.counters(model, (4, 8))["rows"][0]["equal"]


def test_batch_linear_models_run_at_batch_1_and_scale():
    reconciled = archscope.counters("inception-mnist", (3, 1, 28, 28))
    assert reconciled["batch"] == 3
    for row in reconciled["rows"]:
        assert row["ran_at_batch"] == 1 and row["equal"]
        assert row["real_scaled"] == 3 * row["real"] == row["reproduced"]


class Gram(nn.Module):
    """Mixes the batch: x @ xᵀ costs batch² × features, so a count at batch 1 does not scale."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)

    def forward(self, x):
        return self.fc(x) @ x.t()


def test_a_model_not_linear_in_batch_runs_at_its_batch():
    reconciled = archscope.counters(Gram(), (5, 6))
    for row in reconciled["rows"]:
        assert row["ran_at_batch"] == 5 and row["equal"], row
        assert row["real_scaled"] == row["real"]


class ObjectOutput(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return types.SimpleNamespace(logits=self.fc(x))  # torch.jit.trace, under fvcore, takes tensors only


def test_a_counter_that_cannot_run_the_model_is_a_record():
    rows = {row["tool"]: row for row in archscope.counters(ObjectOutput(), (2, 4))["rows"]}
    assert rows["fvcore"]["status"] == "failed" and rows["fvcore"]["reason"]
    assert "\n" not in rows["fvcore"]["reason"]
    assert rows["flopcounter"]["status"] == "ok" and rows["flopcounter"]["equal"]


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


def test_summary_convention_on_the_command_line(capsys):
    real = torchinfo.summary(archscope.zoo.build("googlenet"), input_size=(1, 3, 224, 224), verbose=0, device="cpu")
    assert main(["summary", "googlenet", "--input", "1,3,224,224", "--format", "json", "--convention", "torchinfo"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["convention"] == "torchinfo"
    assert document["totals"]["mult_adds"] == real.total_mult_adds
    with pytest.raises(SystemExit) as exit:
        main(["summary", "googlenet", "--convention", "nvidia"])
    assert exit.value.code == 2 and "--convention" in capsys.readouterr().err


def test_unknown_convention_in_python():
    with pytest.raises(ValueError, match="convention must be one of"):
        archscope.analyze("lenet5", convention="thop")
