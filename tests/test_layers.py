"""The one-way data flow of DESIGN.md, enforced: zoo → trace → analysis → render → cli.

Every ``archscope`` import in the package is read from the source (not by importing it), and a
module may import only from its own stage or an earlier one.
"""

import ast
from pathlib import Path

import archscope

PACKAGE = Path(archscope.__file__).parent

# Stages in flow order; shared leaves first. ``api`` runs trace and analysis and may render (an
# Analysis shows itself in Jupyter); only ``cli`` prints; ``output`` writes files (reports, locks).
STAGES = [
    {"units", "errors", "records", "inputs", "formulas", "output"},  # output: atomic writes, for cli and testing
    {"zoo"},
    {"loading", "weights"},  # weights: a checkpoint read safely and checked against the loaded model
    {"trace"},
    {"analysis", "claims"},  # claims: data and the verdict engine, beside the analyses it reads
    {"render"},
    {"api", "__init__", "teach", "testing"},  # teach and testing trace and render (lessons; lock drift)
    {"cli", "__main__"},
]


def stage_of(module: str) -> int:
    """Stage of ``archscope.x.y`` (or of the file's top-level name), by its first component."""
    top = module.split(".")[0] or "__init__"
    for index, names in enumerate(STAGES):
        if top in names:
            return index
    raise AssertionError(f"archscope.{module} belongs to no stage: add it to STAGES")


def archscope_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "archscope":
            rest = node.module.removeprefix("archscope").lstrip(".")
            yield from ([rest] if rest else [alias.name for alias in node.names])
        elif isinstance(node, ast.Import):
            yield from (a.name.removeprefix("archscope.") for a in node.names if a.name.startswith("archscope."))


def test_every_import_flows_downstream():
    backwards = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for imported in archscope_imports(path):
            if imported != "__version__" and stage_of(imported) > stage_of(module):
                backwards.append(f"{module} imports {imported}")
    assert not backwards, backwards


def test_the_check_can_fail():
    assert stage_of("cli") > stage_of("render") > stage_of("analysis") > stage_of("trace") > stage_of("zoo")
    assert stage_of("records") < stage_of("zoo")
