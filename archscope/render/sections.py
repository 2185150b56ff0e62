"""The savings analyses as report sections: paragraphs and tables of text, formatted once here and
rendered by the terminal view (``summary --view``), the Markdown and the HTML templates alike.

A section is ``{"id", "title", "paragraphs", "tables": [{"caption", "headers", "numeric", "rows":
[{"cells", "kind"}]}], "chart"}``; ``kind`` is "" for a row, "subtotal" or "total".
"""

from __future__ import annotations

from math import prod

from archscope.analysis.heads import head_rows
from archscope.render import numbers

SAVINGS_RULE = ("Weights are convolution weights (biases and normalization apart); mult-adds are counted as "
                "everywhere in archscope (multiply-accumulates, bias excluded) at the analysed input, batch "
                "included.")


def _k(kernel) -> str:
    return "×".join(map(str, kernel)) if kernel else ""


def _block(name: str | None) -> str:
    return "(model)" if name == "" else (name or "")


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _saved(value: float | None) -> str:
    return "–" if value is None else f"{1 - value:.1%}"


def _size(values) -> str:
    if not values:
        return "–"
    return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _span(savings: list[float]) -> str:
    """A range of savings as weights held: "10.0% fewer", "704.0% more to 28.0% fewer"."""
    def one(value: float) -> str:
        return f"{value:.1%} fewer" if value >= 0 else f"{-value:.1%} more"
    values = sorted(set(savings))
    return one(values[0]) if len(values) == 1 else f"{one(values[0])} to {one(values[-1])}"


def _table(caption: str, headers: list[str], numeric_from: int, rows: list[dict]) -> dict:
    return {"caption": caption, "headers": headers, "numeric": [i >= numeric_from for i in range(len(headers))],
            "rows": rows}


def _with_subtotals(found: dict, cells, subtotal_cells) -> list[dict]:
    """Rows grouped by block, each block closed by its subtotal when it has several rows."""
    rows, blocks = [], {block["block"]: block for block in found["blocks"]}
    for position, row in enumerate(found["rows"]):
        rows.append({"cells": cells(row), "kind": ""})
        following = found["rows"][position + 1] if position + 1 < len(found["rows"]) else None
        if (following is None or following["block"] != row["block"]) and blocks[row["block"]]["paths"] > 1:
            rows.append({"cells": subtotal_cells(blocks[row["block"]], f"{_block(row['block'])} subtotal"), "kind": "subtotal"})
    if found["rows"]:
        rows.append({"cells": subtotal_cells(found["total"], "Total"), "kind": "total"})
    return rows


def _cost_cells(row: dict) -> list[str]:
    return [numbers.count(row["direct_weights"]), numbers.count(row["actual_weights"]), _ratio(row["weights_ratio"]),
            numbers.compact(row["direct_mult_adds"]), numbers.compact(row["actual_mult_adds"]),
            _saved(row["mult_adds_ratio"])]


def _arithmetic(row: dict) -> str:
    """Weights of one path as sums of products, the way 004 works its example out."""
    parts = [f"{row['c_in']}×{row['reduced']}×1×1",
             *(f"{row['reduced']}×{c}×{_k(k)}" for k, c in zip(row["kernels"], row["conv_channels"]))]
    direct_outputs = row["conv_channels"]
    if row["kind"] == "resnet":
        parts.append(f"{row['conv_channels'][0]}×{row['c_out']}×1×1")
        direct_outputs = [row["c_out"]]
    direct = " + ".join(f"{row['c_in']}×{c}×{_k(k)}" for k, c in zip(row["kernels"], direct_outputs))
    return (f"{_block(row['block'])} {row['branch']}: {' + '.join(parts)} = {numbers.count(row['actual_weights'])} "
            f"against {direct} = {numbers.count(row['direct_weights'])} weights "
            f"(and mult-adds per output position, for stride 1).")


def bottleneck_section(document: dict) -> dict:
    found = document["bottlenecks"]
    headers = ["Block", "Branch", "C in", "Reduced to", "Kernel", "C out", "Output", "Direct k×k weights",
               "1×1 + k×k weights", "Ratio", "Direct mult-adds", "Actual mult-adds", "Mult-adds saved", "Reduced to, for 1/9"]

    def cells(row):
        kernel = " + ".join(_k(k) for k in row["kernels"]) + (" → 1×1" if row["kind"] == "resnet" else "")
        ninth = row["reduced_for_one_ninth"]
        return [_block(row["block"]), row["branch"], str(row["c_in"]), str(row["reduced"]), kernel, str(row["c_out"]),
                _k(row["output_size"]), *_cost_cells(row), "–" if ninth is None else f"{ninth:.1f}"]

    def subtotal(block, label):
        return [label, _plural(block["paths"], "path"), "", "", "", "", "", *_cost_cells(block), ""]

    paragraphs = [
        "Every convolution with a kernel larger than 1×1 fed by a 1×1 convolution that reduces channels "
        "(directly or through batch norm and activations), found in the traced data flow: its cost against one "
        "convolution of the same kernel from the reduction's input channels straight to the same output channels "
        "at the same output size. A 1×1 → k×k → 1×1 chain that expands again is ResNet's bottleneck, compared with one "
        f"k×k convolution from its input to its output channels. {SAVINGS_RULE}",
    ]
    tables, total = [], found["total"]
    if found["rows"]:
        paragraphs.append(
            f"In total the {_plural(total['paths'], 'reduced path')} hold {numbers.count(total['actual_weights'])} weights where "
            f"direct convolutions would hold {numbers.count(total['direct_weights'])} (ratio {_ratio(total['weights_ratio'])}), "
            f"and cost {numbers.compact(total['actual_mult_adds'])} mult-adds instead of "
            f"{numbers.compact(total['direct_mult_adds'])} ({_saved(total['mult_adds_ratio'])} saved).")
        examples = {row["kind"]: row for row in reversed(found["rows"])}
        paragraphs += [f"Worked out: {_arithmetic(examples[kind])}" for kind in ("inception", "resnet") if kind in examples]
        paragraphs += _one_ninth(found)
        tables.append(_table("1×1 reductions", headers, 2, _with_subtotals(found, cells, subtotal)))
    else:
        paragraphs.append("This model has no 1×1 convolution that reduces channels before a larger kernel.")
    projections = found["projections"]
    if projections:
        paragraphs.append(
            "Inception's fourth branch pools without changing the size, then projects with a 1×1 convolution. "
            "Passing the pooled input through instead would cost no weights, but the block's output would carry "
            "all of its input channels on top of the other branches', and every later layer would pay for them: "
            "the naive block's growth.")
        tables.append(_table("Pool projections", [
            "Block", "Branch", "Pool", "C in", "Projected to", "Weights", "Mult-adds", "Block output channels",
            "Without the projection", "Channels kept out"], 3, [
            {"cells": [_block(row["block"]), row["branch"], f"{row['pool'].split('_')[0]} {_k(row['pool_kernel'])}",
                       str(row["c_in"]), str(row["c_out"]), numbers.count(row["weights"]),
                       numbers.compact(row["mult_adds"]), str(row["block_out_channels"] or "–"),
                       str(row["block_out_without"] or "–"), str(row["channels_kept_out"])], "kind": ""}
            for row in projections]))
    counterfactual = document.get("counterfactual")
    if counterfactual:
        paragraphs.append(_counterfactual_text(document["model"], counterfactual))
        tables.append(_counterfactual_table(document["model"], counterfactual))
    return {"id": "bottlenecks", "title": "1×1 bottlenecks", "paragraphs": paragraphs, "tables": tables,
            "chart": "bottleneck-savings" if found["rows"] else None}


def _one_ninth(found: dict) -> list[str]:
    """002_d688ab58815c14bf.txt: the bottleneck version holds "only 1/9 of the parameters"."""
    rows = [row for row in found["rows"] if row["kind"] == "inception"]
    if not rows:
        return []
    holds = [row for row in rows if row["weights_ratio"] <= 1 / 9]
    per_block = ", ".join(f"{_block(block['block'])} {_ratio(block['weights_ratio'])}" for block in found["blocks"])
    return [
        "002_d688ab58815c14bf.txt says the version with 1×1 reductions holds \"only 1/9 of the parameters\" of the "
        f"one without. Weights ratio per block here: {per_block}. The claim holds for {len(holds)} of "
        f"{len(rows)} paths; a path holds 1/9 exactly when reduced to r = C_in·K / (9·(C_in + K)) channels, "
        "K = Σ (kernel area)·C_out over the convolutions it feeds (last column): the reductions would have to be that narrow."]


def _counterfactual_text(model: str, found: dict) -> str:
    mine, theirs = found["totals"], found["counterfactual_totals"]
    return (f"The counterfactual {found['model']}: {found['description']} Traced at the same input, it holds "
            f"{numbers.count(theirs['params'])} parameters against {model}'s {numbers.count(mine['params'])} "
            f"({theirs['params'] / mine['params']:.1f}×) and costs {numbers.compact(theirs['mult_adds'])} mult-adds "
            f"against {numbers.compact(mine['mult_adds'])} ({theirs['mult_adds'] / mine['mult_adds']:.1f}×).")


def _counterfactual_table(model: str, found: dict) -> dict:
    mine, theirs = found["totals"], found["counterfactual_totals"]
    rows = [{"cells": [block["path"], str(block["channels"]), str(block["counterfactual"])], "kind": ""}
            for block in found["blocks"]]
    rows += [
        {"cells": ["Parameters", numbers.count(mine["params"]), numbers.count(theirs["params"])], "kind": "total"},
        {"cells": ["Mult-adds", numbers.count(mine["mult_adds"]), numbers.count(theirs["mult_adds"])], "kind": "total"},
    ]
    return _table(f"{model} against {found['model']}: output channels per block, totals",
                  ["Block", model, found["model"]], 1, rows)


def factorization_section(document: dict) -> dict:
    found = document["factorizations"]
    headers = ["Block", "Branch", "Kind", "Kernels", "Replaces", "C in", "Between", "C out", "Output",
               "Single-kernel weights", "Pair weights", "Ratio", "Single-kernel mult-adds", "Pair mult-adds",
               "Mult-adds saved", "Saved with equal channels"]

    def cells(row):
        joiner = " ∥ " if row["kind"] == "parallel" else " → "
        return [_block(row["block"]), row["branch"], row["kind"], joiner.join(_k(k) for k in row["kernels"]),
                _k(row["replaces"]), str(row["c_in"]), str(row["mid"] or "–"), str(row["c_out"]),
                _k(row["output_size"]), *_cost_cells(row), _saved(row["equal_channels_ratio"])]

    def subtotal(block, label):
        return [label, _plural(block["paths"], "pair"), "", "", "", "", "", "", "", *_cost_cells(block), ""]

    paragraphs = [
        "A convolution followed only by another (through batch norm and activations; neither 1×1, the first of "
        "stride 1) covers the window of one larger kernel: two 3×3 that of a 5×5 (stacked), a 1×n then an n×1 that "
        "of an n×n (asymmetric). A 1×n and an n×1 side by side on one input, concatenated (Inception-v3's 8×8 "
        "blocks), are compared with one n×n giving both outputs, though each output then sees only a 1×n or n×1 "
        f"window (parallel). {SAVINGS_RULE}",
    ]
    tables = []
    rows = found["rows"]
    if rows:
        paragraphs.append(_paper_statement(rows))
        strided = [row for row in rows if row["saved_mult_adds"] < 0]
        if strided:
            paragraphs.append(
                f"A pair whose second convolution has a stride ({len(strided)} here: negative mult-adds saved) may "
                "save weights yet cost more mult-adds than the single kernel: its first convolution runs at the larger "
                "input size, where the single kernel would run only at the smaller output size.")
        tables.append(_table("Factorized convolutions", headers, 5, _with_subtotals(found, cells, subtotal)))
    else:
        paragraphs.append("This model has no factorized convolutions.")
    return {"id": "factorization", "title": "Factorization", "paragraphs": paragraphs, "tables": tables,
            "chart": "factorization-savings" if rows else None}


def _paper_statement(rows: list[dict]) -> str:
    """Where the model's channel counts give the Inception-v3 paper's 28% and 33%, and where not."""
    parts: list[str] = []
    for kind, kernels, replaced, stated in (("stacked", [[3, 3], [3, 3]], [5, 5], "28%"),
                                            ("asymmetric", None, [3, 3], "33%")):
        matching = [row for row in rows if row["kind"] == kind and row["replaces"] == replaced
                    and (kernels is None or row["kernels"] == kernels)]
        if not matching:
            continue
        span = _span([round(1 - row["weights_ratio"], 3) for row in matching])
        exact = sum(abs(row["weights_ratio"] - row["equal_channels_ratio"]) < 1e-9 for row in matching)
        label = "5×5 → two 3×3" if kind == "stacked" else "3×3 → 1×3 + 3×1"
        parts.append(f"for {label} it states {stated}: here {_plural(len(matching), 'such pair')} hold {span} weights, "
                     f"{exact} of them exactly {stated} (equal channel counts)")
    counted = {id(row) for row in rows if row["kind"] in ("stacked", "asymmetric") and row["replaces"] in ([5, 5], [3, 3])}
    for kind, label in (("asymmetric", "other asymmetric pairs (1×n + n×1 for an n×n: 1 − 2/n with equal channels)"),
                        ("stacked", "other stacked pairs"),
                        ("parallel", "side-by-side 1×n ∥ n×1 pairs (not the paper's sequential case)")):
        others = [row for row in rows if row["kind"] == kind and id(row) not in counted]
        if others:
            parts.append(f"{len(others)} {label} hold {_span([round(1 - row['weights_ratio'], 3) for row in others])} weights")
    if not any(row["kind"] == "asymmetric" and row["replaces"] == [3, 3] for row in rows):
        parts.append("no 3×3 is factorized into 1×3 then 3×1 in sequence, the case of the paper's 33%")
    statement = ("The Inception-v3 paper (Szegedy et al. 2015, sections 3.1 and 3.2) counts savings with every channel "
                 "count equal (the last column): ")
    return statement + ("; ".join(parts) + "." if parts else "This model has neither of its two examples.") + (
        " Where the width between the two convolutions or the output differs from the input's, the saving moves away "
        "from the paper's figure.")


def receptive_section(document: dict) -> dict:
    found = document["receptive_fields"]
    headers = ["Layer", "Type", "Kernel / stride / padding", "Output", "Receptive field", "Effective stride",
               "Effective padding"]
    rows = []
    for row in found["rows"]:
        window = (f"{_k(row['kernel'])} / {_size(row['stride'])} / {_size(row['padding'])}" if row["kernel"] else "")
        if row["global"]:
            seen = "whole input"
        elif row["receptive_field"] is None:
            seen = "unknown"
        else:
            seen = _k(row["receptive_field"])
        rows.append({"cells": [row["path"] or "(model)", row["type"], window, _k(row["output_size"]) or "–", seen,
                               _size(row["jump"]), _size(row["effective_padding"])], "kind": ""})
    paragraphs = [
        "Along the main path (the tensors every path from input to output passes through), per spatial dimension: "
        "r = r_in + d·(k − 1)·j_in, j = j_in·s, P = P_in + p·j_in for kernel k, stride s, padding p and dilation d "
        "(Araujo et al., \"Computing Receptive Fields of Convolutional Neural Networks\", Distill 2019). Layers "
        "that slide no window (batch norm, activations) are left out of the table: they change nothing. A "
        "multi-branch block counts its widest branch: where branches meet (a concatenation, an addition), each "
        "dimension takes the largest receptive field among them, with that branch's effective padding. Global "
        "pooling, or a linear layer over the map, sees the whole input.",
    ]
    final = found["final"]
    if final and final["input_size"]:
        ratio = max(final["ratio"])
        if final["covers_input"]:
            how = "and every one of its positions sees the whole input, its windows reaching into the padding"
        elif ratio >= 1:
            how = ("yet its windows sit apart by the effective stride, so a position near a corner sees only part "
                   "of the input")
        else:
            how = f"so each of its positions sees {ratio:.0%} of the input's extent"
        paragraphs.append(
            f"The final feature map ({final['path'] or '(model)'}, {_k(final['output_size'])}) has a receptive field "
            f"of {_k(final['receptive_field'])} pixels at a {_k(final['input_size'])} input: {ratio:.2f} times its "
            f"size, {how}.")
    return {"id": "receptive-field", "title": "Receptive field", "paragraphs": paragraphs,
            "tables": [_table("Receptive field along the main path", headers, 3, rows)] if rows else [],
            "chart": None}


def heads_section(document: dict) -> dict:
    found = document["heads"]
    rows = head_rows(found, document["totals"]["params"])
    params = document["totals"]["params"]
    paragraphs = []
    classifier = found["classifier"]
    if classifier:
        c, inputs, shown = classifier["map"][0], prod(classifier["map"]), "×".join(map(str, classifier["map"]))
        if classifier["kind"] == "global pool":
            paragraphs.append(
                f"Global average pooling turns the final {shown} map into {c} values, so the classifier after it "
                f"({classifier['layer'] or 'none: the pooled map is the output'}) holds "
                f"{numbers.count(classifier['params'])} parameters; a fully connected layer over the flattened map "
                f"({numbers.count(inputs)} inputs) would hold {numbers.count(classifier['alternative_params'])}"
                + (f", {classifier['alternative_params'] / classifier['params']:.1f} times as many"
                   if classifier["params"] else "")
                + ". This is Network in Network's argument for global average pooling (004_e5b077b9335f20e2.txt, §1.2).")
        else:
            paragraphs.append(
                f"The classifier ({classifier['layer']}) is fully connected over the flattened {shown} map: "
                f"{numbers.count(classifier['params'])} parameters. Global average pooling first would leave it "
                f"{numbers.count(classifier['alternative_params'])} (Network in Network's argument, "
                "004_e5b077b9335f20e2.txt, §1.2).")
    if found["auxiliary"] or found["unused"]:
        paragraphs.append(
            f"Side heads (auxiliary classifiers) and modules that did not run hold {numbers.count(found['side_params'])} "
            f"parameters ({found['side_params_share']:.1%} of {numbers.count(params)}) and cost "
            f"{numbers.compact(found['side_mult_adds'])} mult-adds ({found['side_mult_adds_share']:.2%}). They serve "
            f"training only: at inference {numbers.count(found['inference_params'])} parameters and "
            f"{numbers.compact(found['inference_mult_adds'])} mult-adds remain.")
    if not paragraphs:
        paragraphs.append("No classifier head or side head was found on this model's main path.")
    table_rows = [
        {"cells": [row["head"], row["path"] or "(model)", row["kind"], numbers.count(row["params"]),
                   f"{row['params_share']:.2%}", "–" if row["mult_adds"] is None else numbers.compact(row["mult_adds"]),
                   f"{row['alternative']}: {numbers.count(row['alternative_params'])}" if row["alternative"] else ""],
         "kind": ""}
        for row in rows
    ]
    headers = ["Head", "Path", "Kind", "Params", "Share of params", "Mult-adds", "Alternative"]
    return {"id": "heads", "title": "Heads", "paragraphs": paragraphs,
            "tables": [_table("Heads", headers, 3, table_rows)] if table_rows else [], "chart": None}


def savings_sections(document: dict) -> list[dict]:
    return [bottleneck_section(document), factorization_section(document), receptive_section(document),
            heads_section(document)]
