"""Claims and their verdicts as text: the ``check`` table, a report's claims section, claims.md/.html.

Works on the verdict dicts of ``Verdict.to_dict()`` (what ``check --format json`` prints).
"""

from __future__ import annotations

import re
import textwrap

from archscope.claims.stated import BASE_POWERS, BASES, NUMBER, PERCENT, WORD_FACTORS, parse_shape

ORDER = {"contradicted": 0, "not checkable": 1, "reproduced": 2}  # a report lists the gaps first
BADGES = {"reproduced": "✓ reproduced", "contradicted": "✗ contradicted", "not checkable": "– not checkable"}


def stated_text(record: dict) -> str:
    stated = record["stated"]
    if isinstance(stated, dict):  # a summary row
        return f"{_shape(stated['shape'])}, {stated['params']}"
    if isinstance(stated, list):
        return _shape(stated)
    bound = {"below": "< ", "above": "> "}.get(record["relation"], "≈ " if record["tolerance"] else "")
    widened = f" (± {record['tolerance']:.0%})" if record["tolerance"] else ""
    return f"{bound}{stated}{widened}"


def _shape(value) -> str:
    return str(list(value)) if isinstance(value, list) else str(value)


def _shape_like(computed: list, stated, layout: str) -> str:
    """A computed shape written as the source wrote its own: per sample, height × width × channels."""
    rank = len(parse_shape(stated))
    if layout == "HWC" and len(computed) == 4:
        return "x".join(map(str, [*computed[2:], computed[1]]))
    if rank == len(computed) - 1:
        computed = computed[1:]
    return str(computed) if isinstance(stated, list) else "×".join(map(str, computed))


def computed_text(record: dict) -> str:
    """The computed value in the stated value's terms: ``31.821 G`` beside ``31.82 G``, ``1/8.47``
    beside ``1/9``, ``88.2%`` beside ``89%``; exact counts with separators."""
    computed, stated = record["computed"], record["stated"]
    if computed is None:
        return "—"
    if record["quantity"].startswith("summary row"):
        shape, params = computed
        return f"{shape}, {'(recursive)' if params is None else (f'{params:,}' if params else '--')}"
    if isinstance(computed, list):
        if record["quantity"].startswith(("output_shape", "input_shape")):
            return _shape_like(computed, stated, record.get("layout", "NCHW"))
        return "×".join(map(str, computed)) if isinstance(stated, (str, int)) else str(computed)
    text = str(stated)
    if "/" in text and computed:
        return f"1/{1 / computed:.2f}" if text.strip().startswith("1/") else f"{computed:.4g}"
    if PERCENT.match(text):
        return f"{100 * computed:.1f}%"
    match = NUMBER.match(text)
    if match and match["unit"]:
        unit = match["unit"]
        factor = WORD_FACTORS.get(unit) or BASES[record.get("units", "si")] ** BASE_POWERS.get(unit, 0)
        decimals = len(match["digits"].partition(".")[2]) + 1
        scaled = f"{computed / factor:,.{decimals}f}"
        return f"{scaled} {unit}" if " " in text else f"{scaled}{unit}"
    if isinstance(computed, int):
        return f"{computed:,}"
    return f"{computed:.4g}"


def check_text(records: list[dict]) -> str:
    """``archscope check``: one row per claim, then the count of each verdict."""
    header = ("verdict", "id", "model", "quantity", "stated", "computed")
    rows = [(("" if record["as_expected"] else "! ") + record["verdict"], record["id"], record["model"],
             record["quantity"], stated_text(record), computed_text(record)) for record in records]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *rows]]
    for record in records:
        if record["verdict"] != "reproduced" or not record["as_expected"]:
            lines += textwrap.wrap(f"{record['id']}: {record['explanation']}", 110, initial_indent="  ",
                                   subsequent_indent="    ")
    lines.append(tally(records))
    return "\n".join(lines) + "\n"


def tally(records: list[dict]) -> str:
    counts = {verdict: sum(record["verdict"] == verdict for record in records) for verdict in ORDER}
    counted = ", ".join(f"{count} {verdict}" for verdict, count in counts.items() if count)
    off = [record["id"] for record in records if not record["as_expected"]]
    ending = f"{len(off)} differ from their expected verdict: {', '.join(off)}" if off else "all as expected"
    return f"{len(records)} claims: {counted or 'none'}; {ending}"


def claim_rows(records: list[dict]) -> list[dict]:
    """The rows a report shows: gaps first, each with its formatted stated and computed value."""
    ordered = sorted(records, key=lambda record: (record["as_expected"], ORDER[record["verdict"]]))
    return [{**record, "stated_text": stated_text(record), "computed_text": computed_text(record),
             "badge": BADGES[record["verdict"]], "css": re.sub(r"\W", "-", record["verdict"]),
             "lang": language(record["words"]),
             "input_text": "; ".join("×".join(map(str, shape)) for shape in record["input"])}
            for record in ordered]


def language(text: str) -> str:
    """The words' language for the HTML ``lang`` attribute: Chinese when they hold a CJK ideograph."""
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def claims_section(records: list[dict] | None) -> dict | None:
    """A report's claims section: None when no claim names the model."""
    if not records:
        return None
    sources = ", ".join(dict.fromkeys(record["source_name"] for record in records))
    return {"intro": f"What sources state about this model ({sources}), checked against it: {tally(records)}.",
            "rows": claim_rows(records)}


def claims_by_source(records: list[dict]) -> list[dict]:
    """claims.md: one group per source (in file order), each with its verdict tally."""
    groups: dict[str, dict] = {}
    for record in records:
        group = groups.setdefault(record["source_name"], {
            "name": record["source_name"], "title": record["source_title"], "cite": record["source_cite"],
            "lang": language(record["source_title"]), "records": []})
        group["records"].append(record)
    return [{**group, "tally": f"{tally(group['records'])}.", "rows": claim_rows(group["records"])}
            for group in groups.values()]
