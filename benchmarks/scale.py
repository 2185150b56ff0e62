"""Scale (issue 9): analysing on meta costs time per module call, not per parameter, sample or pixel.

Each case runs in a fresh process (``scale.py --case NAME``), so its peak RSS is its own:

* ``base``: the zoo's GoogLeNet without auxiliary heads (they only take 224x224) at 1x3x224x224,
  then at batch 1000 and at 896x896 -- the same module calls on larger tensors;
* ``depth x10``, ``depth x100``: GoogLeNet with 10x and 100x its 9 Inception blocks, the extra blocks
  copies of 4c (512 -> 512 channels) stacked after it;
* ``width``: every channel count multiplied by the integer factor that brings it to about 10^11
  parameters (tensors on meta: nothing is allocated).

Targets: per-call time of the deep and wide models within 2x of the base; batch 1000 and 896x896
within 1.5x of the base's time; peak RSS under 1.5 GB in every case.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import subprocess
import sys
import time
from collections import OrderedDict

TARGET_PARAMS = 10**11
PEAK_RSS_LIMIT = 1.5e9  # bytes (GB = 10^9, as archscope's MB = 10^6)
BLOCKS_IN_GOOGLENET = 9
POOL_AFTER = {"inception3b": "maxpool3", "inception4e": "maxpool4"}  # GoogLeNet's stage boundaries

# name: (model, input size, timed repeats)
CASES = {
    "base": ("googlenet", (1, 3, 224, 224), 5),
    "base, batch 1000": ("googlenet", (1000, 3, 224, 224), 5),
    "base, 896x896": ("googlenet", (1, 3, 896, 896), 5),
    "depth x10": ("depth 10", (1, 3, 224, 224), 3),
    "depth x100": ("depth 100", (1, 3, 224, 224), 2),
    "width, ~1e11 params": ("width", (1, 3, 224, 224), 3),
}


def scaled_googlenet(depth: int = 1, width: int = 1):
    """003's GoogLeNet without aux heads, channels x ``width``, ``depth`` x its Inception blocks.

    Built from the zoo's ``BasicConv2d`` and ``Inception``; one ``Sequential`` holds the stages in
    order, the extra blocks named ``inception4c_1``, ``inception4c_2``, ...
    """
    from torch import nn

    from archscope.zoo.googlenet import INCEPTION_TABLE, BasicConv2d, Inception

    table = {name: tuple(channels * width for channels in row) for name, row in INCEPTION_TABLE.items()}
    layers = {
        "conv1": BasicConv2d(3, 64 * width, kernel_size=7, stride=2, padding=3),
        "maxpool1": nn.MaxPool2d(3, stride=2, ceil_mode=True),
        "conv2": BasicConv2d(64 * width, 64 * width, kernel_size=1),
        "conv3": BasicConv2d(64 * width, 192 * width, kernel_size=3, padding=1),
        "maxpool2": nn.MaxPool2d(3, stride=2, ceil_mode=True),
    }
    for name, row in table.items():
        layers[name] = Inception(*row)
        if name == "inception4c":  # 512 -> 512: copies of it stack without changing the rest
            for copy in range(1, BLOCKS_IN_GOOGLENET * (depth - 1) + 1):
                layers[f"inception4c_{copy}"] = Inception(*row)
        if name in POOL_AFTER:
            layers[POOL_AFTER[name]] = nn.MaxPool2d(3, stride=2, ceil_mode=True)
    layers |= {"avgpool": nn.AdaptiveAvgPool2d(1), "flatten": nn.Flatten(), "dropout": nn.Dropout(0.4),
               "fc": nn.Linear(Inception.out_channels(*table["inception5b"]), 1000)}
    return nn.Sequential(OrderedDict(layers))  # Sequential takes names from an OrderedDict only


def width_for(params: int) -> int:
    """The smallest integer width factor whose model holds at least ``params`` parameters.

    Weights grow as width² (conv in x out) and width (stem input, BatchNorm, fc), so the count is an
    exact quadratic in the factor: three small builds on meta fix it.
    """
    import torch

    with torch.device("meta"):
        p1, p2, p3 = (sum(p.numel() for p in scaled_googlenet(width=w).parameters()) for w in (1, 2, 3))
    a = (p3 - 2 * p2 + p1) / 2
    b = p2 - p1 - 3 * a
    c = p1 - a - b
    return math.ceil((-b + math.sqrt(b * b - 4 * a * (c - params))) / (2 * a))


def build(model: str):
    import torch

    import archscope

    if model == "googlenet":
        return archscope.zoo.build("googlenet", device="meta", aux_logits=False)
    kind, _, factor = model.partition(" ")
    with torch.device("meta"):
        if kind == "depth":
            return scaled_googlenet(depth=int(factor))
        return scaled_googlenet(width=width_for(TARGET_PARAMS))


def peak_rss_bytes() -> int:
    """This process's peak resident set so far: VmHWM, which starts afresh at exec. (``ru_maxrss``
    does not: a child of a large parent, such as bench.py after torchinfo's real runs, reports the
    parent's peak.)"""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024  # kB


def timed_analysis(model, input_size) -> tuple[float, int, int]:
    """(seconds, module calls, parameters) of one analysis, dropped before returning so that only
    one is ever alive."""
    import archscope

    gc.collect()
    start = time.perf_counter()
    analysis = archscope.analyze(model, input_size)
    seconds = time.perf_counter() - start
    return seconds, len(analysis.rows), analysis.own_totals["params"]


def measure(case: str) -> dict:
    """One case, in this process: ``repeats`` analyses, each beside one of the base model, so that
    the ratio of the two compares times taken on the same machine at the same moment (it is shared
    and noisy). The base is analysed once before anything is timed: first-call costs are no case's."""
    import torch  # noqa: F401  (imported before the baseline: every analysis process needs them)

    import archscope  # noqa: F401

    model_name, input_size, repeats = CASES[case]
    baseline = peak_rss_bytes()
    base_model, base_input = build("googlenet"), CASES["base"][1]
    timed_analysis(base_model, base_input)
    model = build(model_name).eval()
    seconds, base_seconds = [], []
    for _ in range(repeats):
        base_seconds.append(timed_analysis(base_model, base_input)[0])
        case_seconds, calls, params = timed_analysis(model, input_size)
        seconds.append(case_seconds)
    base_calls = timed_analysis(base_model, base_input)[1]
    return {"calls": calls, "params": params, "seconds": seconds, "base_calls": base_calls,
            "base_seconds": base_seconds, "baseline_rss": baseline, "peak_rss": peak_rss_bytes()}


def run_case(case: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--case", case], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, help="measure this case alone and print it as JSON")
    options = parser.parse_args(argv)
    if options.case:
        print(json.dumps(measure(options.case)))
        return 0

    print("scale: analyse on meta, each case in a fresh process; medians of its repeats, each taken beside")
    print("one of the base (an A/A pair for the base itself: the noise floor); MB = 10^6 bytes")
    print(f"  {'case':<22} {'calls':>7} {'params':>9} {'input':>16} {'median s':>9} {'us/call':>8} "
          f"{'/ base':>7} {'peak MB':>8} {'over import MB':>15}")
    results = {}
    for case, (_, input_size, _) in CASES.items():
        result = results[case] = run_case(case)
        result["median"] = statistics.median(result["seconds"])
        result["per_call"] = result["median"] / result["calls"]
        result["per_call_vs_base"] = result["per_call"] / (statistics.median(result["base_seconds"]) / result["base_calls"])
        print(f"  {case:<22} {result['calls']:>7,} {result['params']:>9.2e} {'x'.join(map(str, input_size)):>16} "
              f"{result['median']:>9.3f} {result['per_call'] * 1e6:>8.1f} {result['per_call_vs_base']:>7.2f} "
              f"{result['peak_rss'] / 1e6:>8.0f} {(result['peak_rss'] - result['baseline_rss']) / 1e6:>15.0f}")

    targets = [  # (what, value, bound)
        *((f"{case}: time per call / base's", results[case]["per_call_vs_base"], 2.0)
          for case in ("depth x10", "depth x100", "width, ~1e11 params")),
        *((f"{case}: time / base's", results[case]["per_call_vs_base"], 1.5)  # the same calls
          for case in ("base, batch 1000", "base, 896x896")),
        ("largest peak RSS, GB", max(result["peak_rss"] for result in results.values()) / 1e9, PEAK_RSS_LIMIT / 1e9),
    ]
    print("\nscale targets")
    all_met = True
    for name, value, bound in targets:
        met = value < bound
        all_met &= met
        print(f"  {name:<44} {value:6.2f} < {bound:<4} {'MET' if met else 'NOT MET'}")
    print("\nall scale targets met" if all_met else "\nsome scale targets not met")
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
