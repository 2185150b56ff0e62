"""`--weights FILE`: read with torch.load(weights_only=True) — a pickle that would call anything is
refused before it runs —, checked against the model by name and shape, and run in place of the
model's own tensors without changing the model."""

import os
from pathlib import Path

import pytest
import torch
from torch import nn

import archscope
from archscope.cli import main
from archscope.errors import UsageError

NET = """
import torch
from torch import nn

class Gated(nn.Module):
    '''Runs the conv when its gate is positive, else only the pool: which layers run depends on a value.'''
    def __init__(self):
        super().__init__()
        self.gate = nn.Parameter(torch.ones(1))
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return self.conv(x) if self.gate.item() > 0 else self.pool(x)

def make():
    return Gated()
"""


class Payload:
    """A pickle that runs a shell command when loaded the unsafe way."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.fixture
def net(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "net.py").write_text(NET)
    return "net.py:make"


def run(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def gated_state(gate: float) -> dict:
    conv = nn.Conv2d(3, 4, 3)
    return {"gate": torch.tensor([gate]), "conv.weight": conv.weight.detach(), "conv.bias": conv.bias.detach()}


def test_the_checkpoint_values_run_and_decide_the_path(net, tmp_path, capsys):
    torch.save(gated_state(-1.0), tmp_path / "closed.pt")
    torch.save({"state_dict": gated_state(1.0), "epoch": 7}, tmp_path / "open.pt")  # a training script's wrapper
    layers = {}
    for name in ("closed", "open"):
        status, out, err = run(capsys, "summary", net, "--input", "1,3,8,8", "--weights", f"{name}.pt",
                               "--format", "csv")
        assert status == 0, err
        layers[name] = {line.split(",")[1] for line in out.splitlines()[1:]}
        assert "ran it on cpu instead" in err  # .item() needs a value: meta falls back to the cpu
    assert "pool" in layers["closed"] and "conv" not in layers["closed"]
    assert "conv" in layers["open"] and "pool" not in layers["open"]


def test_a_pickle_that_would_run_code_is_refused_and_does_not_run(net, tmp_path, capsys):
    marker = tmp_path / "ran"
    torch.save({"gate": Payload(marker)}, tmp_path / "evil.pt")
    status, out, err = run(capsys, "report", net, "--input", "1,3,8,8", "--weights", "evil.pt", "--out", "r")
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "refused: it holds more than tensors, and loading it could run code" in err and "system" in err
    assert not marker.exists() and not (tmp_path / "r").exists()


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"", "is empty"),
    (b"hello", "is not a torch checkpoint"),
    ("list", "is not a checkpoint torch.load(weights_only=True) reads (Unsupported operand 149)"),
    ("meta", "holds meta tensors, which have no values"),
    ("complex", "other dtype: gate torch.complex64 (model torch.float32)"),
    ("data parallel", "unexpected: module.gate, module.conv.weight, module.conv.bias; saved from DataParallel? "
                      "strip the 'module.' prefix"),
    ("tensor", "holds no state dict"),
    ("other shapes", "does not fit the model; missing: gate; other shape: conv.weight [8, 3, 3, 3] (model [4, 3, 3, 3])"),
    ("extra", "does not fit the model; unexpected: head.weight"),
])
def test_a_file_that_is_not_these_weights_is_one_line(net, tmp_path, capsys, content, message):
    path = tmp_path / "w.pt"
    if content == "list":
        path.write_bytes(b"\x80\x04\x95\x09\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02e.")  # pickle protocol 4
    elif content == "meta":
        torch.save({name: tensor.to("meta") for name, tensor in gated_state(1.0).items()}, path)
    elif content == "complex":
        torch.save({**gated_state(1.0), "gate": torch.ones(1, dtype=torch.complex64)}, path)
    elif content == "data parallel":
        torch.save({f"module.{name}": tensor for name, tensor in gated_state(1.0).items()}, path)
    elif content == "tensor":
        torch.save(torch.ones(3), path)
    elif content == "other shapes":
        torch.save({"conv.weight": torch.ones(8, 3, 3, 3), "conv.bias": torch.ones(4)}, path)
    elif content == "extra":
        torch.save({**gated_state(1.0), "head.weight": torch.ones(2)}, path)
    elif content is not None:
        path.write_bytes(content)
    for argv in (["summary", net, "--input", "1,3,8,8"], ["lock", net, "--input", "1,3,8,8", "-o", "x.lock.json"]):
        status, out, err = run(capsys, *argv, "--weights", "w.pt")
        assert status == 2 and out == "" and message in err and err.count("\n") == 1, err
    assert not (tmp_path / "x.lock.json").exists()


def test_the_api_takes_a_state_dict_and_leaves_the_model_as_it_was():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    other = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).state_dict()
    analysis = archscope.analyze(model, (2, 3, 8, 8), device="cpu", mode="train", weights=other)
    assert analysis.totals["params"] == 3 * 4 * 9 + 4 + 2 * 4
    assert all(torch.equal(before[name], tensor) for name, tensor in model.state_dict().items())
    with pytest.raises(UsageError, match="not a state dict"):
        archscope.analyze(model, (1, 3, 8, 8), weights={"conv": "not a tensor"})


def test_report_all_takes_no_weights(tmp_path, capsys):
    torch.save(gated_state(1.0), tmp_path / "w.pt")
    status, _, err = run(capsys, "report", "--all", "--weights", str(tmp_path / "w.pt"), "--out", str(tmp_path / "r"))
    assert status == 2 and "--weights fits one MODEL" in err


def test_tied_tensors_need_one_value_and_extra_state_is_left_aside(tmp_path):
    class Tied(nn.Module):
        """An embedding and a head sharing one weight, and a module state beside its tensors."""

        def __init__(self):
            super().__init__()
            self.embed, self.head = nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False)
            self.head.weight = self.embed.weight

        def forward(self, x):
            return self.head(self.embed(x))

        def get_extra_state(self):
            return {"vocabulary": 4}

        def set_extra_state(self, state):
            pass

    model = Tied()
    saved = model.state_dict()
    assert "_extra_state" in saved
    torch.save(saved, tmp_path / "tied.pt")
    assert archscope.analyze(model, (2, 4), device="cpu", weights=str(tmp_path / "tied.pt")).totals["params"] == 16
    apart = {**saved, "head.weight": saved["embed.weight"] + 1}
    with pytest.raises(UsageError, match="tied in the model, different here: embed.weight = head.weight"):
        archscope.analyze(model, (2, 4), weights=apart)


def test_a_torchscript_module_inside_an_eager_one_is_named():
    from archscope.errors import ModelSpecError

    inner = torch.jit.script(nn.Linear(4, 2))
    with pytest.raises(ModelSpecError, match="model holds at '1' a TorchScript module"):
        archscope.analyze(nn.Sequential(nn.ReLU(), inner), (1, 4))
