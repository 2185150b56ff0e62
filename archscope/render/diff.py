"""Model diffs and lock drift as text and Markdown: every number of ``archscope diff`` and
``archscope verify`` is formatted here, from the documents of ``analysis.diff``."""

from __future__ import annotations

from archscope.render import numbers

TOTAL_LABELS = {
    "params": "Params", "trainable_params": "Trainable params", "frozen_params": "Frozen params",
    "buffers": "Buffers", "mult_adds": "Mult-adds", "flops": "FLOPs", "input_bytes": "Input size (MB)",
    "forward_backward_bytes": "Forward/backward pass size (MB)", "params_bytes": "Params size (MB)",
    "total_bytes": "Estimated Total Size (MB)",
}
FIGURE_LABELS = {"output_shapes": "output", "params": "params", "mult_adds": "mult-adds", "type": "type"}
PATHS_SHOWN = 6  # paths listed per group in text; Markdown lists every layer in its own table


def value_text(value) -> str:
    """An attribute or figure: ``(5, 5)`` → ``5×5``, shapes ``1×64×56×56``, names joined, absent ``—``."""
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(item, (list, tuple)) for item in value):
            return "; ".join(map(value_text, value))
        if value and all(isinstance(item, str) for item in value):
            return ", ".join(value)
        return "×".join(map(str, value)) if value else "none"
    if isinstance(value, int) and not isinstance(value, bool):
        return numbers.count(value)
    return str(value)


def _figure(key: str, value: int) -> str:
    return numbers.megabytes(value) if key.endswith("_bytes") else numbers.count(value)


def change_text(key: str, a: int, b: int, percent: float | None = None) -> str:
    """``-373,392 (-2.79%)``; ``0`` when equal; a change too small for MB or for 0.01% is never shown
    as zero (``+4,096 bytes (+<0.01%)``)."""
    if a == b:
        return "0"
    delta = b - a
    sign = "+" if delta > 0 else "-"
    size = _figure(key, abs(delta))
    if key.endswith("_bytes") and float(size) == 0:
        size = f"{numbers.count(abs(delta))} bytes"
    if percent is None and a:
        percent = delta / a * 100
    if percent is None:
        return f"{sign}{size} (from 0)"
    return f"{sign}{size} ({sign}<0.01%)" if abs(percent) < 0.005 else f"{sign}{size} ({percent:+.2f}%)"


def _arrow(key: str, a, b) -> str:
    """One value when both sides agree, else ``a → b``."""
    text = value_text if key in ("output_shapes", "type") else (lambda value: _figure(key, value))
    return text(a) if a == b else f"{text(a)} → {text(b)}"


def call_label(layer: dict) -> str:
    """``inception3a.branch1``; a later call of a module is numbered: ``maxpool #2``."""
    call = f" #{layer['call'] + 1}" if layer["call"] else ""
    return f"{layer['path'] or '(root)'}{call}"


def _side(layer: dict | None) -> str:
    return "—" if layer is None else f"{call_label(layer)} ({layer['type']})"


def _pair_label(pair: dict) -> str:
    a, b = (call_label(pair[side]) if pair[side] else None for side in "ab")
    return a or b if a == b or not (a and b) else f"{a} ↔ {b}"


def totals_table(rows: list[dict], a_name: str, b_name: str) -> dict:
    return {"caption": "Totals", "headers": ["", a_name, b_name, "Change"], "numeric": [False, True, True, True],
            "rows": [{"kind": "", "cells": [TOTAL_LABELS[row["key"]], _figure(row["key"], row["a"]),
                                            _figure(row["key"], row["b"]),
                                            change_text(row["key"], row["a"], row["b"], row["percent"])]}
                     for row in rows]}


def field_text(field: str, a, b) -> str:
    """One attribute's change: ``kernel_size 5×5 → 3×3``; parameter names as ``bias dropped``."""
    if field == "parameters":
        dropped, added = [n for n in a or () if n not in (b or ())], [n for n in b or () if n not in (a or ())]
        return "; ".join([*([f"{', '.join(dropped)} dropped"] if dropped else []),
                          *([f"{', '.join(added)} added"] if added else [])])
    return f"{field} {value_text(a)} → {value_text(b)}"


def _group_heading(change: dict) -> str:
    types = change["type_a"] if change["type_a"] == change["type_b"] else f"{change['type_a']} → {change['type_b']}"
    parts = []
    for field in change["fields"]:
        more = len(field["values"]) - 1
        parts.append(field_text(field["field"], *field["values"][0])
                     + (f" (and {more} other value{'s' if more > 1 else ''})" if more else ""))
    if not parts and change["type_a"] == change["type_b"]:
        # the layers before, or a setting archscope does not record (an Upsample's scale_factor)
        parts.append(", ".join(FIGURE_LABELS[key] for key in change["figures"]) + " (no recorded setting differs)")
    return f"{change['count']} × {types}" + (f": {'; '.join(parts)}" if parts else "")


def _sums(change: dict) -> str:
    return "; ".join(f"{FIGURE_LABELS[key]} {numbers.count(change[key][0])} → {numbers.count(change[key][1])}, "
                     f"{change_text(key, *change[key])}" for key in ("params", "mult_adds") if change[key][0] != change[key][1])


def diff_context(document: dict) -> dict:
    """Everything a diff shows, as text: headings, sentences and tables (``render.text.grid``'s table dicts)."""
    a_name, b_name = document["models"]
    counts = document["counts"]
    inputs = ["; ".join(value_text(shape) for shape in shapes) for shapes in document["inputs"]]
    groups = []
    for change in document["changes"]:
        groups.append({"heading": _group_heading(change), "sums": _sums(change),
                       "paths": [_pair_label(document["layers"][number]) for number in change["layers"]]})
    for only in document["only"]:
        name = a_name if only["side"] == "a" else b_name
        sums = "; ".join(f"{FIGURE_LABELS[key]} {numbers.count(only[key])}" for key in ("params", "mult_adds") if only[key])
        groups.append({"heading": f"{only['count']} × {only['type']} only in {name}", "sums": sums,
                       "paths": [_pair_label(document["layers"][number]) for number in only["layers"]]})
    types = {"caption": "Layer calls per type, where the counts differ", "headers": ["Type", a_name, b_name],
             "numeric": [False, True, True],
             "rows": [{"kind": "", "cells": [row["type"], str(row["a"]), str(row["b"])]}
                      for row in document["types"] if row["a"] != row["b"]]}
    blocks = {"caption": "Top-level calls, aligned", "headers": [a_name, b_name, "Output", "Params", "Mult-adds"],
              "numeric": [False, False, False, True, True], "rows": []}
    for pair in document["blocks"]:
        a, b = pair["a"], pair["b"]
        one = a or b
        cells = [_side(a), _side(b)] + [
            _arrow(key, a[key], b[key]) if a and b else (value_text(one[key]) if key == "output_shapes" else _figure(key, one[key]))
            for key in ("output_shapes", "params", "mult_adds")]
        blocks["rows"].append({"kind": "", "cells": cells})
    layers = {"caption": "Layer calls that differ or have no counterpart",
              "headers": [a_name, b_name, "Paired by", "What differs", "Output", "Params", "Mult-adds"],
              "numeric": [False, False, False, False, False, True, True], "rows": []}
    for pair in document["layers"]:
        if pair["matched_by"] and not pair["differences"]:
            continue
        a, b = pair["a"], pair["b"]
        one = a or b
        what = "; ".join(field_text(item["field"], item["a"], item["b"])
                         for item in pair["differences"] if item["field"] not in FIGURE_LABELS) if a and b else "no counterpart"
        figures = [_arrow(key, a[key], b[key]) if a and b else (value_text(one[key]) if key == "output_shapes" else _figure(key, one[key]))
                   for key in ("output_shapes", "params", "mult_adds")]
        layers["rows"].append({"kind": "", "cells": [_side(a), _side(b), pair["matched_by"] or "—", what or "—", *figures]})
    same_input = inputs[0] == inputs[1]
    same_layers = not document["changes"] and not document["only"]
    same_totals = not any(row["delta"] for row in document["totals"])
    return {
        "a": a_name, "b": b_name, "same_input": same_input,
        "inputs_note": f"{b_name} cannot take {a_name}'s input: each model ran at its own.",
        "title": f"{a_name} and {b_name}" + (f" at {inputs[0]}" if same_input else f" at {inputs[0]} and {inputs[1]}"),
        "alignment": (f"Layer calls (leaves, and modules with parameters or mult-adds of their own): "
                      f"{counts['a_layers']} in {a_name}, {counts['b_layers']} in {b_name}; "
                      f"{counts['matched_by_path']} paired by path, {counts['matched_by_structure']} by structure "
                      f"(type and output shape, then type), {counts['changed']} of the pairs differ; "
                      f"{counts['only_a']} only in {a_name}, {counts['only_b']} only in {b_name}."),
        "same_layers": same_layers,
        "verdict": None if not same_layers else (
            "The two models have the same layers with the same figures." if same_totals else
            "The layer calls pair one to one with the same figures, yet the totals differ: the difference "
            "is in what no call holds (a module never called, a tensor shared between layers, buffers, "
            "element-wise ops in a container's own forward)."),
        "totals": totals_table(document["totals"], a_name, b_name),
        "groups": groups, "types": types, "blocks": blocks, "layers": layers,
    }


def diff_text(document: dict) -> str:
    """``archscope diff``: totals, what differs (grouped), the layer-type counts and the top-level calls."""
    import textwrap

    from archscope.render.text import grid

    context = diff_context(document)
    lines = [f"archscope diff: {context['title']}", *([] if context["same_input"] else [context["inputs_note"]]),
             "", *grid(context["totals"]), "",
             *textwrap.wrap(context["alignment"], 100), ""]
    if context["same_layers"]:
        lines += [*textwrap.wrap(context["verdict"], 100), ""]
    else:
        lines.append("What differs")
        for group in context["groups"]:
            lines.append(f"  {group['heading']}")
            if group["sums"]:
                lines.append(f"      {group['sums']}")
            shown = ", ".join(group["paths"][:PATHS_SHOWN])
            more = len(group["paths"]) - PATHS_SHOWN
            lines += textwrap.wrap(shown + (f", … ({more} more)" if more > 0 else ""), 100,
                                   initial_indent="      ", subsequent_indent="      ")
        lines.append("")
    if context["types"]["rows"]:
        lines += [*grid(context["types"]), ""]
    if context["blocks"]["rows"]:  # none when the model is one layer
        lines += [*grid(context["blocks"])]
    return "\n".join(lines).rstrip() + "\n"


def diff_markdown(document: dict) -> str:
    from archscope.render.report import render

    return render("diff.md.j2", diff_context(document))


def diff_index_markdown(pairs: list[dict]) -> str:
    """``reports/diffs/index.md``: one row per diff, with its totals side by side."""
    from archscope.render.report import render

    rows = []
    for pair in pairs:
        totals = {row["key"]: row for row in pair["document"]["totals"]}
        rows.append({"file": pair["file"], "a": pair["document"]["models"][0], "b": pair["document"]["models"][1],
                     "why": pair["why"],
                     "input": "; ".join(value_text(shape) for shape in pair["document"]["inputs"][0]),
                     "cells": [change_text(key, totals[key]["a"], totals[key]["b"], totals[key]["percent"])
                               for key in ("params", "mult_adds")]})
    return render("diff_index.md.j2", {"rows": rows})


def pin_failure_text(label: str, key: str, actual: int, expected, interval) -> str:
    """``assert_params``'s message: ``googlenet: params 13,004,888, expected 13,385,816, off by -380,928 (-2.85%)``."""
    if isinstance(expected, int):
        stated = f"{numbers.count(expected)}, off by {change_text(key, expected, actual)}"
    else:
        stated = f"{expected!r} ({interval.describe()})"
    return f"{label}: {TOTAL_LABELS[key].lower()} {numbers.count(actual)}, expected {stated}"


def drift_text(drift: dict, name: str) -> str:
    """``archscope verify`` on a lock that drifted: totals with change and percent, then the layer
    calls removed, added and changed, each on one line."""
    lines = [f"{name}: drifted from its lock"]
    for item in drift["header"]:
        lines.append(f"  {item['field']}: {value_text(item['a'])} → {value_text(item['b'])}")
    for row in drift["totals"]:
        lines.append(f"  {TOTAL_LABELS[row['key']]}: {_figure(row['key'], row['a'])} → {_figure(row['key'], row['b'])}"
                     f"  {change_text(row['key'], row['a'], row['b'], row['percent'])}")
    for label, rows in (("removed", drift["removed"]), ("added", drift["added"])):
        for row in rows:
            lines.append(f"  {label}: {_side(row)}  output {value_text(row['output_shapes'])}, "
                         f"params {numbers.count(row['params'])}, mult-adds {numbers.count(row['mult_adds'])}")
    for row in drift["changed"]:
        what = "; ".join(f"{FIGURE_LABELS[item['field']]} {_arrow(item['field'], item['a'], item['b'])}"
                         + (f", {change_text(item['field'], item['a'], item['b'])}"
                            if item["field"] in ("params", "mult_adds") else "")
                         for item in row["differences"])
        lines.append(f"  changed: {_side(row)}  {what}")
    return "\n".join(lines) + "\n"
