"""googlenet-naive: 003's GoogLeNet with every Inception block in the naive form of Figure 2(a) of
"Going deeper with convolutions" (Szegedy et al. 2014).

Where the numbers come from: Table 1's #1x1, #3x3 and #5x5 columns (INCEPTION_TABLE), the growth rule
of the naive block (its pool branch passes the input through, so out = in + #1x1 + #3x3 + #5x5), and
the formulas written out below (parameters: k*k*C_in*C_out per convolution without bias + 2*C per
BatchNorm, in*out + out per Linear; mult-adds: k*k*C_in*C_out*H*W*N per convolution and in*out*N per
Linear, biases excluded -- archscope's convention). Shapes are checked against a real cpu forward.
"""

import pytest
import torch

import archscope
from archscope import zoo
from archscope.zoo.googlenet import INCEPTION_TABLE, NAIVE_TABLE, AuxClf, BasicConv2d, NaiveInception

N = 20  # the default input's batch, googlenet's (003's) too
SIZE = {"3": 28, "4": 14, "5": 7}  # map side of each inception stage at 224x224

# Each block's output: its input + #1x1 + #3x3 + #5x5 (Table 1's row); the next block's input is that.
NAIVE_OUT = {
    "inception3a": 192 + 64 + 128 + 32,  # 416
    "inception3b": 416 + 128 + 192 + 96,  # 832
    "inception4a": 832 + 192 + 208 + 48,  # 1280
    "inception4b": 1280 + 160 + 224 + 64,  # 1728
    "inception4c": 1728 + 128 + 256 + 64,  # 2176
    "inception4d": 2176 + 112 + 288 + 64,  # 2640
    "inception4e": 2640 + 256 + 320 + 128,  # 3344
    "inception5a": 3344 + 256 + 320 + 128,  # 4048
    "inception5b": 4048 + 384 + 384 + 128,  # 4944
}
NAMES = list(NAIVE_OUT)
NAIVE_IN = dict(zip(NAMES, [192] + [NAIVE_OUT[name] for name in NAMES[:-1]]))


def conv_bn(c_in, c_out, k):
    return c_in * c_out * k * k + 2 * c_out  # conv without bias, BatchNorm weight and bias


def linear(n_in, n_out):
    return n_in * n_out + n_out


def block_row(name):
    _, n1, _, n3, _, n5, _ = INCEPTION_TABLE[name]  # the reduce and pool-proj columns are not used
    return NAIVE_IN[name], n1, n3, n5


def params(aux=True, classes=1000, in_channels=3):
    stem = conv_bn(in_channels, 64, 7) + conv_bn(64, 64, 1) + conv_bn(64, 192, 3)
    blocks = 0
    for name in NAMES:
        c, n1, n3, n5 = block_row(name)
        blocks += conv_bn(c, n1, 1) + conv_bn(c, n3, 3) + conv_bn(c, n5, 5)
    head = lambda c_in: conv_bn(c_in, 128, 1) + linear(128 * 4 * 4, 1024) + linear(1024, classes)  # noqa: E731
    heads = head(NAIVE_OUT["inception4a"]) + head(NAIVE_OUT["inception4d"]) if aux else 0
    return stem + blocks + heads + linear(NAIVE_OUT["inception5b"], classes)


def mult_adds(n=N, classes=1000):
    def conv(c_in, c_out, k, hw):
        return n * c_out * hw * hw * c_in * k * k

    total = conv(3, 64, 7, 112) + conv(64, 64, 1, 56) + conv(64, 192, 3, 56)
    for name in NAMES:
        c, n1, n3, n5 = block_row(name)
        hw = SIZE[name[9]]
        total += conv(c, n1, 1, hw) + conv(c, n3, 3, hw) + conv(c, n5, 5, hw)  # the max pool has no mult-adds
    head = lambda c_in: conv(c_in, 128, 1, 4) + n * (128 * 4 * 4 * 1024 + 1024 * classes)  # noqa: E731
    total += head(NAIVE_OUT["inception4a"]) + head(NAIVE_OUT["inception4d"])
    return total + n * NAIVE_OUT["inception5b"] * classes


@pytest.fixture(scope="module")
def naive_at_20():
    return archscope.analyze("googlenet-naive")


def output_shapes(output):
    outputs = output if isinstance(output, tuple) else (output,)
    return [list(tensor.shape) for tensor in outputs]


def cpu_forward_shapes(model, shape):
    """Every module's output shapes from a real forward, by state_dict path (each runs once here)."""
    found, handles = {}, []

    def record(path):
        def hook(_module, _inputs, output):
            found.setdefault(path, output_shapes(output))  # returns None: the output is left as it is
        return hook

    for path, module in model.named_modules():
        handles.append(module.register_forward_hook(record(path)))
    try:
        with torch.no_grad():
            model(torch.rand(shape))
    finally:
        for handle in handles:
            handle.remove()
    return found


def test_channel_growth():
    channels = 192  # conv3's output, inception3a's input
    for name, (_, n1, _, n3, _, n5, _) in INCEPTION_TABLE.items():
        assert NAIVE_TABLE[name] == (channels, n1, n3, n5) == block_row(name)
        channels += n1 + n3 + n5
        assert NAIVE_OUT[name] == channels == NaiveInception.out_channels(*NAIVE_TABLE[name])
    assert list(INCEPTION_TABLE) == NAMES


def test_block_outputs_on_cpu():
    model = zoo.build("googlenet-naive").eval()
    shapes = cpu_forward_shapes(model, (1, 3, 224, 224))
    for name in NAMES:
        side = SIZE[name[9]]
        assert shapes[name] == [[1, NAIVE_OUT[name], side, side]], name
        assert shapes[f"{name}.branch4"] == [[1, NAIVE_IN[name], side, side]], name  # the pool passes x through
    assert shapes["aux1.features"] == shapes["aux2.features"] == [[1, 128, 4, 4]]
    assert shapes["avgpool"] == [[1, 4944, 1, 1]]
    assert shapes[""] == [[1, 1000]] * 3


def test_params_by_formula(naive_at_20):
    expected = params()
    assert naive_at_20.totals["params"] == expected
    assert zoo.entry("googlenet-naive").params == expected
    assert sum(p.numel() for p in zoo.build("googlenet-naive", device="meta").parameters()) == expected


def test_mult_adds_by_formula(naive_at_20):
    assert zoo.entry("googlenet-naive").default_input == ((N, 3, 224, 224),)
    assert naive_at_20.totals["mult_adds"] == mult_adds()
    assert naive_at_20.complete, naive_at_20.uncounted


def test_without_aux_heads():
    analysis = archscope.analyze(zoo.build("googlenet-naive", device="meta", aux_logits=False), (2, 3, 224, 224))
    assert analysis.totals["params"] == params(aux=False)
    assert params() - params(aux=False) == (conv_bn(1280, 128, 1) + conv_bn(2640, 128, 1)
                                             + 2 * (linear(2048, 1024) + linear(1024, 1000)))
    assert analysis.rows[0]["output_shapes"] == [[2, 1000]]
    assert not any(row["path"].startswith("aux") for row in analysis.rows)


def test_options():
    analysis = archscope.analyze(zoo.build("googlenet-naive", device="meta", num_classes=10, in_channels=1),
                                 (2, 1, 224, 224))
    assert analysis.rows[0]["output_shapes"] == [[2, 10]] * 3
    assert analysis.totals["params"] == params(classes=10, in_channels=1)


def test_meta_trace_agrees_with_cpu_forward():
    on_meta = archscope.analyze("googlenet-naive", (1, 3, 224, 224))
    on_cpu = cpu_forward_shapes(zoo.build("googlenet-naive").eval(), (1, 3, 224, 224))
    traced = {row["path"]: row["output_shapes"] for row in on_meta.rows if row["call"] == 0}
    assert set(traced) == set(on_cpu)
    assert traced == on_cpu


def test_everything_but_the_blocks_is_googlenets():
    """Same module names and classes; the shapes differ only where the blocks' widths reach."""
    naive = zoo.build("googlenet-naive", device="meta")
    reduced = zoo.build("googlenet", device="meta")
    outside = lambda model: {k: list(v.shape) for k, v in model.state_dict().items() if not k.startswith("inception")}  # noqa: E731
    ours, theirs = outside(naive), outside(reduced)
    assert ours.keys() == theirs.keys()
    differ = {key for key in ours if ours[key] != theirs[key]}
    assert differ == {"aux1.features.1.layers.0.weight", "aux2.features.1.layers.0.weight", "fc.weight"}
    assert ours["aux1.features.1.layers.0.weight"] == [128, NAIVE_OUT["inception4a"], 1, 1]
    assert ours["aux2.features.1.layers.0.weight"] == [128, NAIVE_OUT["inception4d"], 1, 1]
    assert ours["fc.weight"] == [1000, NAIVE_OUT["inception5b"]]
    for name in NAMES:
        block = getattr(naive, name)
        assert isinstance(block, NaiveInception)
        assert all(isinstance(getattr(block, f"branch{i}"), BasicConv2d) for i in (1, 2, 3))
        assert isinstance(block.branch4, torch.nn.MaxPool2d)
    assert isinstance(naive.aux1, AuxClf) and isinstance(naive.aux2, AuxClf)
    assert [name for name, _ in naive.named_children()] == [name for name, _ in reduced.named_children()]
