"""Models unlike the zoo's: no parameters, only buffers, frozen and shared parameters, recursion,
unused modules, in-place ops, dict and list inputs and outputs, non-tensor outputs, TorchScript, and a
batch of 100,000 on meta. Each figure is a hand formula: a k×k convolution from C_in to C_out holds
k·k·C_in·C_out + C_out parameters and costs k·k·C_in·C_out·H'·W' mult-adds per sample.
(A forward that needs real values on meta falls back to the cpu: tests/test_trace.py.)"""

import resource

import pytest
import torch
from torch import nn

import archscope
from archscope.cli import main
from archscope.errors import ModelSpecError

DEVICES = ["meta", "cpu"]


def conv_params(c_in, c_out, k):
    return k * k * c_in * c_out + c_out


class NoParams(nn.Module):
    def forward(self, x):
        return torch.relu(x).flatten(1)


class OnlyBuffers(nn.Module):
    """A normalisation step: two buffers, no parameter."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.zeros(3, 1, 1))
        self.register_buffer("std", torch.ones(3, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


class Recursive(nn.Module):
    """One conv applied ``depth`` times by a forward that calls itself."""

    def __init__(self, depth=3):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.depth = depth

    def forward(self, x, level=0):
        x = self.conv(x)
        return x if level == self.depth - 1 else self.forward(x, level + 1)


class WithUnused(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Conv2d(4, 4, 1)
        self.unused = nn.Linear(100, 100)

    def forward(self, x):
        return self.used(x)


class InPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.conv(x)
        y += 1
        y.mul_(2)
        return self.act(y)


class DictAndList(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 2)
        self.b = nn.Linear(6, 2)

    def forward(self, batch):
        return {"a": self.a(batch["x"]), "rest": [self.b(batch["y"]), batch["y"].shape[0]]}


class NonTensorOutputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, x):
        return self.linear(x), "label", None, 3.5


def shapes(analysis, path):
    return [row["output_shapes"] for row in analysis.rows if row["path"] == path]


@pytest.mark.parametrize("device", DEVICES)
def test_no_parameters(device):
    analysis = archscope.analyze(NoParams(), (2, 3, 4, 4), device=device)
    assert analysis.totals["params"] == 0 and analysis.totals["mult_adds"] == 0
    assert shapes(analysis, "") == [[[2, 48]]]


@pytest.mark.parametrize("device", DEVICES)
def test_only_buffers(device):
    analysis = archscope.analyze(OnlyBuffers(), (2, 3, 4, 4), device=device)
    assert analysis.totals["params"] == 0 and analysis.totals["buffers"] == 3 + 3
    assert shapes(analysis, "") == [[[2, 3, 4, 4]]]


@pytest.mark.parametrize("device", DEVICES)
def test_frozen_and_shared_parameters(device):
    shared, frozen = nn.Conv2d(3, 3, 3, padding=1), nn.Conv2d(3, 3, 3, padding=1)
    frozen.requires_grad_(False)
    analysis = archscope.analyze(nn.Sequential(shared, frozen, shared), (1, 3, 8, 8), device=device)
    one = conv_params(3, 3, 3)
    assert (analysis.totals["params"], analysis.totals["trainable_params"], analysis.totals["frozen_params"]) == (
        2 * one, one, one)
    assert analysis.totals["mult_adds"] == 3 * (3 * 3 * 3 * 3 * 8 * 8)  # three calls, two of one module


@pytest.mark.parametrize("device", DEVICES)
def test_a_module_called_recursively(device):
    analysis = archscope.analyze(Recursive(), (1, 4, 8, 8), device=device)
    assert [(row["path"], row["call"]) for row in analysis.rows] == [("", 0), ("conv", 0), ("conv", 1), ("conv", 2)]
    assert analysis.totals["params"] == conv_params(4, 4, 3)
    assert analysis.totals["mult_adds"] == 3 * (3 * 3 * 4 * 4 * 8 * 8)


@pytest.mark.parametrize("device", DEVICES)
def test_an_unused_module_holds_parameters_but_makes_no_row(device):
    analysis = archscope.analyze(WithUnused(), (1, 4, 8, 8), device=device)
    assert [row["path"] for row in analysis.rows] == ["", "used"]
    assert analysis.totals["params"] == conv_params(4, 4, 1) + 100 * 100 + 100  # as torchinfo's total counts it


@pytest.mark.parametrize("device", DEVICES)
def test_in_place_ops_keep_shapes_and_leave_the_input(device):
    x = torch.ones(1, 3, 8, 8, device=device)
    analysis = archscope.analyze(InPlace(), input_data=x, device=device)
    assert shapes(analysis, "act") == [[[1, 4, 6, 6]]]
    assert analysis.totals["mult_adds"] == 3 * 3 * 3 * 4 * 6 * 6
    if device == "cpu":
        assert torch.equal(x, torch.ones(1, 3, 8, 8))


@pytest.mark.parametrize("device", DEVICES)
def test_dict_and_list_inputs_and_outputs(device):
    batch = {"x": torch.ones(5, 4), "y": torch.ones(5, 6)}
    analysis = archscope.analyze(DictAndList(), input_data=(batch,), device=device)
    assert analysis.totals["mult_adds"] == 5 * 4 * 2 + 5 * 6 * 2
    assert shapes(analysis, "") == [[[5, 2], [5, 2]]]  # the tensors of the dict and the list, in order


@pytest.mark.parametrize("device", DEVICES)
def test_non_tensor_outputs_are_left_out(device):
    analysis = archscope.analyze(NonTensorOutputs(), (3, 4), device=device)
    assert shapes(analysis, "") == [[[3, 2]]] and analysis.totals["mult_adds"] == 3 * 4 * 2


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.trace: deprecated, still what users have
def test_torchscript_is_a_clear_error(tmp_path, capsys):
    scripted = torch.jit.script(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()))
    with pytest.raises(ModelSpecError, match="TorchScript module .* give the nn.Module before torch.jit.script"):
        archscope.analyze(scripted, (1, 3, 8, 8))
    (tmp_path / "scripted.py").write_text(
        "import torch\nfrom torch import nn\n"
        "def make():\n    return torch.jit.trace(nn.Conv2d(3, 4, 3), torch.ones(1, 3, 8, 8))\n")
    assert main(["summary", f"{tmp_path / 'scripted.py'}:make", "--input", "1,3,8,8"]) == 2
    err = capsys.readouterr().err
    assert "TorchScript module" in err and err.count("\n") == 1


def test_a_batch_of_100000_on_meta_allocates_nothing():
    """Its activations would take 100,000·64·112·112·4 bytes ≈ 321 GB: the trace can only succeed by
    holding shapes, and the process's peak memory barely moves."""
    stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    analysis = archscope.analyze(stem, (100_000, 3, 224, 224))
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert shapes(analysis, "2") == [[[100_000, 64, 56, 56]]]
    assert analysis.totals["mult_adds"] == 100_000 * 7 * 7 * 3 * 64 * 112 * 112
    assert grown < 200 * 1024  # KiB: far below one activation
