"""The terminal summary, laid out like torchinfo's so its users find everything where they expect.

A row shows what no row below it shows: at the depth limit (or on a leaf) a call's inclusive
parameters and mult-adds, above it only its own. So each column adds up to the total at any depth.
A module's second call shows "(recursive)" for parameters, as torchinfo does.
"""

from __future__ import annotations

import csv
import io

from archscope.analysis.totals import shown_params
from archscope.render import numbers

COLUMNS = ("Layer (type:depth-idx)", "Output Shape", "Param #", "Mult-Adds")


def _tree_label(row: dict, depth_index: int) -> str:
    if row["depth"] == 0:
        return row["type"]
    branch = "├─" if row["depth"] == 1 else "└─"
    return f"{'│    ' * (row['depth'] - 1)}{branch}{row['type']}: {row['depth']}-{depth_index}"


def visible_rows(document: dict, depth: int) -> list[tuple[dict, bool]]:
    """Rows down to ``depth``, each with whether it stands for its whole subtree."""
    return [
        (row, row["depth"] == depth or row["is_leaf"])
        for row in document["layers"]
        if row["depth"] <= depth
    ]


def table_cells(document: dict, depth: int) -> list[tuple[str, str, str, str]]:
    counters: dict[int, int] = {}
    cells = []
    for row, whole in visible_rows(document, depth):
        counters[row["depth"]] = counters.get(row["depth"], 0) + 1
        shown = shown_params(row, depth)
        params = "(recursive)" if shown is None else numbers.count_or_dash(shown)
        mult_adds = numbers.count_or_dash(row["mult_adds"] if whole else row["self_mult_adds"])
        output = numbers.shape(row["output_shape"])
        if len(row["output_shapes"]) > 1:
            output += f" +{len(row['output_shapes']) - 1}"
        cells.append((_tree_label(row, counters[row["depth"]]), output, params, mult_adds))
    return cells


def summary_text(document: dict, depth: int = 3) -> str:
    cells = [COLUMNS, *table_cells(document, depth)]
    widths = [max(len(row[i]) for row in cells) + 4 for i in range(len(COLUMNS))]
    divider = "=" * sum(widths)

    def line(row):
        return "".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()

    totals = document["totals"]
    unit, mult_adds = numbers.scaled(totals["mult_adds"])
    flops_unit, flops = numbers.scaled(totals["flops"])
    lines = [divider, line(cells[0]), divider, *(line(row) for row in cells[1:]), divider]
    lines += [
        f"Total params: {numbers.count(totals['params'])}",
        f"Trainable params: {numbers.count(totals['trainable_params'])}",
        f"Non-trainable params: {numbers.count(totals['frozen_params'])}",
        f"Total mult-adds ({unit}): {mult_adds}",
        f"Total FLOPs ({flops_unit}): {flops}",
        divider,
        f"Input size (MB): {numbers.megabytes(totals['input_bytes'])}",
        f"Forward/backward pass size (MB): {numbers.megabytes(totals['forward_backward_bytes'])}",
        f"Params size (MB): {numbers.megabytes(totals['params_bytes'])}",
        f"Estimated Total Size (MB): {numbers.megabytes(totals['total_bytes'])}",
        divider,
    ]
    by_category = ", ".join(
        f"{name} {numbers.count(value)}" for name, value in document["flops_by_category"].items() if value
    )
    lines.append(f"FLOPs by category: {by_category or 'none'}")
    convention = document.get("convention", "archscope")
    if convention == "archscope":
        rule = ("Mult-adds: conv, linear and matmul multiply-accumulates, bias excluded (FlopCounterMode / 2); "
                "FLOPs: 2 per mult-add + elementwise; MB = 10^6 bytes.")
    else:
        rule = (f"Totals follow {convention}'s rules, rebuilt from archscope's records (--convention {convention}); "
                "the table's columns are archscope's own.")
    lines.append(f"Traced on {document['device']} in {document['mode']} mode. {rule}")
    for entry in document["uncounted"]:
        where = ", ".join(path or "(root)" for path in entry["layers"][:3])
        lines.append(f"Not counted (no formula): {entry['op']} x{entry['calls']} in {where}")
    if document["uncounted"]:
        lines.append("Totals are incomplete: FLOPs of the ops above are not included.")
    return "\n".join(lines) + "\n"


def zoo_table(entries: list[dict]) -> str:
    """``archscope list``: one line per entry, parameter counts right-aligned, the source last."""
    header = ("Model", "Params", "Default input", "Family", "Source")
    rows = [
        (entry["name"], numbers.count(entry["params"]),
         ";".join(",".join(map(str, shape)) for shape in entry["default_input"]), entry["family"], entry["source"])
        for entry in entries
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]

    def line(row) -> str:
        name, params, shape, family, source = row
        return "  ".join([name.ljust(widths[0]), params.rjust(widths[1]), shape.ljust(widths[2]),
                          family.ljust(widths[3]), source]).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows)])


def csv_text(rows: list[dict]) -> str:
    """One line per call, the columns of the layer rows: what ``DataFrame(rows).to_csv(index=False)``
    writes, without importing pandas (0.3 s) for it."""
    if not rows:
        return ""
    buffer = io.StringIO()
    fields = list(dict.fromkeys(key for row in rows for key in row))  # rows of a stage table differ
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _flat(row: dict) -> dict:
    """A row for CSV: lists joined as ``3x3`` sizes or ``a; b``, so every cell is one value."""
    flat = {}
    for key, value in row.items():
        if isinstance(value, list):
            nested = any(isinstance(item, list) for item in value)
            value = "; ".join("x".join(map(str, item)) if nested else str(item) for item in value) if nested or (
                value and isinstance(value[0], str)) else "x".join(map(str, value))
        flat[key] = value
    return flat


def view_rows(document: dict, view: str) -> list[dict]:
    """``summary --view V --format csv``: the view's rows as flat dicts."""
    from archscope.analysis.heads import head_rows

    if view == "stages":
        rows = [{key: value for key, value in row.items() if key not in ("branches", "kernels")}
                for row in document["stages"]["rows"]]
    elif view == "bottlenecks":
        rows = document["bottlenecks"]["rows"]
    elif view == "factorization":
        rows = document["factorizations"]["rows"]
    elif view == "rf":
        rows = document["receptive_fields"]["rows"]
    else:
        rows = head_rows(document["heads"], document["totals"]["params"])
    return [_flat(row) for row in rows]


def grid(table: dict) -> list[str]:
    cells = [table["headers"], *(row["cells"] for row in table["rows"])]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(table["headers"]))]

    def line(row):
        return "  ".join(str(cell).rjust(width) if numeric else str(cell).ljust(width)
                         for cell, width, numeric in zip(row, widths, table["numeric"])).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    lines = [table["caption"], rule, line(table["headers"]), rule]
    for row in table["rows"]:
        if row["kind"]:
            lines.append(rule)
        lines.append(line(row["cells"]))
    return [*lines, rule]


def view_text(document: dict, view: str) -> str:
    """``summary --view V``: the report's section for that view, as terminal text."""
    import textwrap

    from archscope.render.context import stage_section
    from archscope.render.sections import bottleneck_section, factorization_section, heads_section, receptive_section

    if view == "stages":
        stages = stage_section(document)
        section = {"title": "Stages", "paragraphs": stages["notes"], "tables": [
            {"caption": f"Stage table ({stages['layout']})", "headers": stages["headers"],
             "numeric": [i >= 4 for i in range(len(stages["headers"]))],
             "rows": [{"cells": row["cells"], "kind": ""} for row in stages["rows"]]}]}
    else:
        section = {"bottlenecks": bottleneck_section, "factorization": factorization_section,
                   "rf": receptive_section, "heads": heads_section}[view](document)
    input_text = "; ".join("x".join(map(str, shape)) for shape in document["input"])
    lines = [f"{section['title']}: {document['model']} at {input_text}", ""]
    for paragraph in section["paragraphs"]:
        lines += [*textwrap.wrap(paragraph, 100), ""]
    for table in section["tables"]:
        lines += [*grid(table), ""]
    return "\n".join(lines).rstrip() + "\n"
