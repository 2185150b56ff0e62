"""What the report templates show, as text: every number of a report is formatted here.

The context is built from the ``summary --format json`` document alone (plus the zoo entry's
metadata and the counters' results), so a report never re-traces and the JSON beside it is the
whole source of its numbers.
"""

from __future__ import annotations

from archscope.render.claims import claims_section
from archscope.render import numbers
from archscope.render.sections import savings_sections
from archscope.render.text import table_cells

CATEGORY_LABELS = {
    "conv_linear": "convolution, linear, matmul",
    "normalization": "normalization",
    "activation": "activation",
    "pooling": "pooling",
    "elementwise": "elementwise (add, mul, …)",
    "reduction": "reduction (mean, sum, …)",
    "softmax": "softmax",
    "concat_copy": "concatenation and copies",
    "free": "views and reshapes",
}

# One line each in the header; the paragraph under the same anchor in the Conventions section.
CONVENTIONS = [
    ("params", "Parameters",
     "unique tensors: a tensor shared by two layers counts once; trainable and frozen apart; buffers apart.",
     "A parameter tensor held by two modules (tied weights, a layer called twice) is counted once. "
     "torchinfo 1.8 counts a tied tensor again for each module that holds it."),
    ("mult-adds", "Mult-adds",
     "multiply-accumulates of convolution, linear and matmul ops, bias excluded: FlopCounterMode's total ÷ 2.",
     "One mult-add is one multiplication and one addition. Only convolution, linear and the matmul "
     "family are counted, as torch.utils.flop_counter does; torchinfo adds the bias and counts a BatchNorm's "
     "parameters × batch, fvcore skips some ops — the Counters section shows each tool's figure."),
    ("flops", "FLOPs",
     "2 per mult-add, plus the elementwise work of every other op, kept apart by category.",
     "Every aten op that ran is filed under one category; an op archscope has no formula for is listed "
     "as uncounted, never counted as zero silently."),
    ("memory", "Memory",
     "torchinfo's four figures (input, forward/backward pass, params, total); MB = 10^6 bytes.",
     "Forward/backward pass size is twice the first output of every call of a leaf module that holds "
     "parameters (output and gradient), as torchinfo estimates it; Params size counts the leaf modules that ran."),
    ("stages", "Stage table",
     "one row per stage; ops are mult-adds per input sample; repeated blocks collapse into one row.",
     "Stages are the model's direct children (containers opened up); activations, batch norms and "
     "reshapes join the row before them; an Inception block's branches are read from the traced data "
     "flow, not from names. \"Depth\" counts convolution and linear layers on the row's longest path."),
]

ODD_KERNEL_NOTE = ("A kernel in parentheses is the one the model has where Table 1's column names another "
                   "(torchvision's GoogLeNet has a 3×3 where the paper has its 5×5).")
V1_HEADERS = ["#1×1", "#3×3 reduce", "#3×3", "#5×5 reduce", "#5×5", "pool proj"]
V1_KEYS = ["ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj"]
CHART_TITLES = {
    "bottleneck-savings": "Mult-adds per block with and without the 1×1 reductions",
    "factorization-savings": "Mult-adds per block with and without factorization",
    "stage-costs": "Parameters and mult-adds per stage (side branches such as auxiliary heads in red)",
    "activations": "Activation size along the network",
    "cumulative-mult-adds": "Cumulative mult-adds along the network",
    "parameter-share": "Where the parameters live",
}


SECTION_CHARTS = {"bottleneck-savings", "factorization-savings"}  # shown inside their section


def _section_chart(name: str | None, charts: dict[str, str]) -> dict | None:
    if name is None or name not in charts:
        return None
    return {"name": name, "file": f"{name}.svg", "title": CHART_TITLES[name], "svg": charts[name]}


def shape_text(shape: list[int]) -> str:
    return "×".join(str(size) for size in shape)


def size_text(shape: list[int] | None) -> str:
    """Output size as Table 1 prints it: height × width × channels, batch left out."""
    if not shape:
        return "–"
    rest = shape[1:]
    if len(rest) >= 2:
        return shape_text([*rest[1:], rest[0]])
    return shape_text(rest) or "1"


def patch_text(row: dict) -> str:
    if not row.get("kernel"):
        return ""
    stride = row.get("stride") or [1]
    return f"{shape_text(row['kernel'])}/{stride[0] if len(set(stride)) == 1 else shape_text(stride)}"


def element_text(element: dict) -> str:
    kernel = shape_text(element["kernel"]) if element["kernel"] else ""
    stride = element["stride"] and max(element["stride"]) > 1 and f"/{max(element['stride'])}" or ""
    if element["kind"] == "convolution":
        return f"{kernel}{stride} {element['channels']}"
    if element["kind"] in ("max pool", "avg pool"):
        return f"{element['kind'].split()[0]} pool {kernel}{stride}".rstrip()
    if element["kind"] == "linear":
        return f"fc {element['channels']}"
    return element["kind"]


def branches_text(branches: list[list[dict]]) -> str:
    return " | ".join(" → ".join(element_text(e) for e in branch) or "identity" for branch in branches)


def _type_text(row: dict) -> str:
    kind = row["kind"]
    if row["side_branch"]:
        kind = f"side head ({row['type']})"
    return " + ".join([kind, *row["folded"]])


def stage_section(document: dict) -> dict:
    stages = document["stages"]
    v1 = stages["layout"] == "inception-v1"
    headers = ["Stage", "Type", "Patch size / stride", "Output size", "Depth"]
    headers += V1_HEADERS if v1 else ["Branches"]
    headers += ["Params", "Ops (mult-adds / sample)"]
    rows, notes = [], []
    for row in stages["rows"]:
        name = row["name"] or "(model)"
        cells = [f"{name} ×{row['repeat']}" if row["repeat"] > 1 else name, _type_text(row), patch_text(row),
                 size_text(row["output_shape"]), str(row["depth"] or "")]
        if v1:
            for key in V1_KEYS:
                value = row.get(key)
                nominal = {"ch3x3": [3, 3], "ch5x5": [5, 5]}.get(key)
                kernel = row.get("kernels", {}).get(key)
                text = "" if value is None else str(value)
                if value is not None and nominal and kernel and kernel != nominal:
                    text += f" ({shape_text(kernel)})"
                    notes = [ODD_KERNEL_NOTE]
                cells.append(text)
        else:
            cells.append(branches_text(row["branches"]))
        per_sample = row["mult_adds_per_sample"]
        cells += [numbers.count_or_dash(row["params"]),
                  numbers.compact(per_sample) if per_sample is not None
                  else f"{numbers.compact(row['mult_adds'])} (whole batch)"]
        rows.append({"cells": cells, "side": row["side_branch"]})
    return {"layout": stages["layout"], "headers": headers, "rows": rows, "notes": notes}


def parameter_groups(stage_rows: list[dict]) -> list[tuple[str, int]]:
    """Where the parameters live: auxiliary heads apart, the rest by the kind of stage."""
    groups: dict[str, int] = {}
    for row in stage_rows:
        if row["side_branch"]:
            label = "side heads (auxiliary classifiers)"
        elif row["kind"].startswith("inception"):
            label = "Inception blocks"
        elif row["kind"] == "linear":
            label = "linear (classifier)"
        elif row["kind"] == "convolution":
            label = "plain convolutions"
        else:
            label = row["kind"]
        groups[label] = groups.get(label, 0) + row["params"]
    return sorted(((label, value) for label, value in groups.items() if value), key=lambda item: (-item[1], item[0]))


def _tree(document: dict) -> list[dict]:
    """The calls as nested nodes for the HTML table (children under their parent call)."""
    nodes: dict[int, dict] = {}
    roots: list[dict] = []
    for row in document["layers"]:
        node = {
            "name": row["path"].rsplit(".", 1)[-1] if row["path"] else document["model"],
            "path": row["path"],
            "type": row["type"],
            "call": row["call"],
            "depth": row["depth"],
            "output": shape_text(row["output_shape"]) if row["output_shape"] else "–",
            "params": "(recursive)" if row["call"] > 0 and row["params"] else numbers.count_or_dash(row["params"]),
            "mult_adds": numbers.count_or_dash(row["mult_adds"]),
            "children": [],
        }
        nodes[row["index"]] = node
        (nodes[row["parent"]]["children"] if row["parent"] is not None else roots).append(node)
    return roots


def totals_rows(document: dict) -> list[tuple[str, str]]:
    totals = document["totals"]
    unit, mult_adds = numbers.scaled(totals["mult_adds"])
    flops_unit, flops = numbers.scaled(totals["flops"])
    return [
        ("Total params", numbers.count(totals["params"])),
        ("Trainable params", numbers.count(totals["trainable_params"])),
        ("Non-trainable params", numbers.count(totals["frozen_params"])),
        ("Buffers (elements)", numbers.count(totals["buffers"])),
        (f"Total mult-adds ({unit})", f"{mult_adds} ({numbers.count(totals['mult_adds'])})"),
        (f"Total FLOPs ({flops_unit})", f"{flops} ({numbers.count(totals['flops'])})"),
        ("Depth (conv/linear layers on the longest path)", str(document["depth"])),
    ]


def memory_rows(document: dict) -> list[tuple[str, str]]:
    totals = document["totals"]
    return [
        ("Input size (MB)", numbers.megabytes(totals["input_bytes"])),
        ("Forward/backward pass size (MB)", numbers.megabytes(totals["forward_backward_bytes"])),
        ("Params size (MB)", numbers.megabytes(totals["params_bytes"])),
        ("Estimated Total Size (MB)", numbers.megabytes(totals["total_bytes"])),
    ]


def flops_rows(document: dict) -> list[tuple[str, str, str]]:
    total = document["totals"]["flops"] or 1
    return [
        (CATEGORY_LABELS.get(name, name), numbers.count(value), f"{value / total:.1%}")
        for name, value in document["flops_by_category"].items() if value
    ]


TOOL_NAMES = {"torchinfo": "torchinfo", "fvcore": "fvcore FlopCountAnalysis", "flopcounter": "torch FlopCounterMode"}


def counters_section(reconciled: dict | None) -> dict | None:
    """The Counters section: each tool's real figure, archscope's reproduction of it, the check."""
    if reconciled is None:
        return None
    batch, rows = reconciled["batch"], []
    ran_at = {row["ran_at_batch"] for row in reconciled["rows"] if row["status"] == "ok"}
    for row in reconciled["rows"]:
        tool = f"{TOOL_NAMES[row['tool']]} {row['version']}"
        if row["status"] != "ok":
            rows.append({"tool": tool, "figure": row["figure"], "real": row["status"], "reproduced": "–",
                         "equal": "–", "own": numbers.count(row["own"]), "explanation": row["reason"]})
            continue
        scale = batch // row["ran_at_batch"]
        real = numbers.count(row["real"]) + (f" × {scale}" if scale > 1 else "")
        equal = "yes" if row["equal"] else f"no: {', '.join(row['mismatches'])} differ"
        rows.append({"tool": tool, "figure": row["figure"], "real": real, "reproduced": numbers.count(row["reproduced"]),
                     "equal": equal, "own": f"{numbers.count(row['own'])} ({row['own_key'].replace('_', '-')})",
                     "explanation": row["explanation"]})
    if ran_at == {1} and batch > 1:
        how = (f"They ran for real on the cpu at batch 1: archscope's trace shows the model is linear in batch "
               f"(every category of its counts at batch {batch} is {batch} times that at batch 1), so their "
               f"figures are scaled by {batch}.")
    else:
        how = f"They ran for real on the cpu at batch {', '.join(map(str, sorted(ran_at))) or batch}."
    intro = (f"{how} archscope rebuilt each tool's total from its own records "
             "(archscope.analyze(..., convention=\"torchinfo\" | \"fvcore\" | \"flopcounter\"), quirks included); "
             "\"Equal\" compares that reproduction with the real run at the batch the tool ran, every figure the "
             "tool prints (torchinfo: params, mult-adds and its memory figures).")
    return {"intro": intro, "rows": rows}


def report_context(document: dict, entry: dict | None, versions: dict[str, str], depth: int,
                   charts: dict[str, str], counters: dict | None = None) -> dict:
    batch = document["input"][0][0] if document["input"] and document["input"][0] else 1
    return {
        "model": document["model"],
        "entry": entry,
        "inputs": [shape_text(shape) for shape in document["input"]],
        "batch": batch,
        "device": document["device"],
        "mode": document["mode"],
        "versions": versions,
        "conventions": [{"anchor": key, "label": label, "line": line, "text": text}
                        for key, label, line, text in CONVENTIONS],
        "totals": totals_rows(document),
        "memory": memory_rows(document),
        "flops": flops_rows(document),
        "complete": document["complete"],
        "uncounted": [{"op": item["op"], "calls": item["calls"],
                       "layers": ", ".join(path or "(model)" for path in item["layers"][:4])}
                      for item in document["uncounted"]],
        "notices": document["notices"],
        "stages": stage_section(document),
        "layer_depth": depth,
        "layer_rows": table_cells(document, depth),
        "layer_tree": _tree(document),
        "charts": [{"name": name, "file": f"{name}.svg", "title": CHART_TITLES[name], "svg": svg}
                   for name, svg in charts.items() if name not in SECTION_CHARTS],
        "sections": [{**section, "chart": _section_chart(section["chart"], charts)}
                     for section in savings_sections(document)] if "bottlenecks" in document else [],
        "counters": counters_section(counters),
        "claims": claims_section(document.get("claims")),
    }


def zoo_rows(reports: list[dict]) -> list[dict]:
    """One row per model of a zoo-wide index: raw figures for the chart, text for the table."""
    rows = []
    for report in reports:
        document, entry = report["document"], report["entry"]
        totals = document["totals"]
        batch = document["input"][0][0] if document["input"] and document["input"][0] else 1
        rows.append({
            "name": document["model"],
            "link": f"{document['model']}/index",
            "family": entry["family"] if entry else "",
            "input": "; ".join(shape_text(shape) for shape in document["input"]),
            "params": totals["params"],
            "mult_adds_per_sample": totals["mult_adds"] // batch,
            "cells": [numbers.count(totals["params"]), numbers.compact(totals["mult_adds"]),
                      numbers.compact(totals["mult_adds"] // batch), numbers.megabytes(totals["total_bytes"]),
                      str(document["depth"])],
        })
    return rows
