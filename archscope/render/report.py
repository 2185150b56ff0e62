"""A report as files: ``index.md`` with its SVG charts, ``index.html`` (self-contained),
``layers.csv`` and ``analysis.json`` — rendered in memory from the analysis document, so that a
failure leaves nothing half-written; writing them is the caller's (``archscope.output``)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from archscope.render import charts
from archscope.render.context import parameter_groups, report_context
from archscope.render.text import csv_text

TEMPLATES = Path(__file__).with_name("templates")
MARKDOWN_SPECIAL = set("\\`*_[]<>|#~")


def markdown_escape(text) -> str:
    """Backslash before every character GitHub Markdown could read as markup (CommonMark allows
    it before any ASCII punctuation), so a module named ``a|b`` or ``<script>`` stays text."""
    return "".join(f"\\{char}" if char in MARKDOWN_SPECIAL else char for char in str(text))


def markdown_tree_label(text: str) -> str:
    """A torchinfo tree label whose indentation survives a Markdown table (spaces would collapse)."""
    return markdown_escape(text).replace(" ", "\u00a0")


@cache
def _environment(kind: str):
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=kind == "html",
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters["md"] = markdown_escape
    environment.filters["md_tree"] = markdown_tree_label
    environment.filters["fill"] = lambda text, **values: text.format(**values)  # a lesson's words, its numbers
    return environment


def render(template: str, context: dict) -> str:
    kind = "html" if template.endswith(".html.j2") else "markdown"
    return _environment(kind).get_template(template).render(context)


def json_document(document: dict) -> str:
    """The ``summary --format json`` text: sorted keys, so the same analysis gives the same bytes."""
    return json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def report_charts(document: dict) -> dict[str, str]:
    stage_rows = document["stages"]["rows"]
    batch = document["input"][0][0] if document["input"] and document["input"][0] else 1
    found = {
        "stage-costs": charts.stage_costs(stage_rows, batch),
        "activations": charts.activations(document["layers"]),
        "cumulative-mult-adds": charts.cumulative_mult_adds(document["layers"]),
        "parameter-share": charts.parameter_share(parameter_groups(stage_rows)),
    }
    if document["bottlenecks"]["rows"]:
        found["bottleneck-savings"] = charts.savings_per_block(
            document["bottlenecks"]["blocks"], "bottleneck-savings",
            "Mult-adds per block: direct k×k convolutions against 1×1 reduction + k×k", "with 1×1 reductions")
    if document["factorizations"]["rows"]:
        found["factorization-savings"] = charts.savings_per_block(
            document["factorizations"]["blocks"], "factorization-savings",
            "Mult-adds per block: single kernels against the factorized pairs", "factorized")
    return found


def report_files(document: dict, entry: dict | None, versions: dict[str, str], depth: int = 3,
                 counters: dict | None = None) -> dict[str, str]:
    """File name → text of one model's report."""
    svgs = report_charts(document)
    context = report_context(document, entry, versions, depth, svgs, counters)
    files = {
        "index.md": render("report.md.j2", context),
        "index.html": render("report.html.j2", context),
        "layers.csv": csv_text(document["layers"]),
        "analysis.json": json_document(document),
    }
    files.update((f"{name}.svg", svg) for name, svg in svgs.items())
    return files


def summary_html(document: dict, entry: dict | None, versions: dict[str, str]) -> str:
    """The report's summary part (header, totals, stages): an ``Analysis`` in Jupyter."""
    context = report_context(document, entry, versions, depth=1, charts={})
    return f'<div class="archscope">{render("summary.html.j2", context)}</div>'


def claims_files(records: list[dict]) -> dict[str, str]:
    """``claims.md`` and ``claims.html``: every claim across the zoo, one table per source."""
    from archscope.render.claims import claims_by_source, tally

    context = {"tally": f"{tally(records)}.", "groups": claims_by_source(records)}
    return {"claims.md": render("claims.md.j2", context), "claims.html": render("claims.html.j2", context)}


def index_files(reports: list[dict]) -> dict[str, str]:
    """``index.md``, ``index.html`` and the scatter chart comparing every report's model."""
    from archscope.render.context import zoo_rows

    rows = zoo_rows(reports)
    scatter = charts.zoo_scatter(rows)
    context = {"rows": rows, "scatter": scatter, "chart_file": "zoo-scatter.svg"}
    return {"index.md": render("index.md.j2", context), "index.html": render("index.html.j2", context),
            "zoo-scatter.svg": scatter}
