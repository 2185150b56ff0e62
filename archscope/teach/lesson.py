"""A lesson written from the traced model: every number comes from the trace or from arithmetic
evaluated here (``arithmetic.Calc``), never from a template. Text lives in ``strings/<lang>.toml``.

``lesson(name, input_size, lang)`` returns the context the lesson templates render.
"""

from __future__ import annotations

import tomllib
from functools import cache, lru_cache
from pathlib import Path

from archscope.render import numbers
from archscope.teach.arithmetic import Calc, count, evaluate, exact, output_size, rounded

STRINGS = Path(__file__).with_name("strings")
LANGUAGES = ("en", "zh")
CONV, MAX_POOL, AVG_POOL = "aten.convolution", "aten.max_pool", "aten.avg_pool"
# Claims a lesson's pitfalls take from the model's family: statements about its structure
STRUCTURAL = ("attribute", "window", "output_shape", "input_shape", "count", "depth")


@cache
def strings(lang: str) -> dict:
    return tomllib.loads((STRINGS / f"{lang}.toml").read_text(encoding="utf-8"))


class Text:
    """Strings of one language, filled with the lesson's numbers."""

    def __init__(self, lang: str) -> None:
        self.table = strings(lang)

    def __call__(self, key: str, **values) -> str:
        return self.table[key].format(**values)


def _shape(shape) -> str:
    return "×".join(map(str, shape))


def _label(analysis, path: str) -> str:
    """A module path as a lesson names it; the root (a zoo block traced alone) by the model's name."""
    return path or analysis.trace.model


# -- 2. shape arithmetic along the main path -----------------------------------------------------

def _window_ops(analysis) -> list:
    """Convolutions and pools reading a main-path tensor: those that change the size, and the first
    of each kind, kernel, stride and padding that keeps it."""
    flow = analysis.dataflow
    found, seen = [], set()
    for op in analysis.trace.ops:
        if not op.arguments or not op.op.startswith((CONV, MAX_POOL, AVG_POOL)) or op.inputs[0] not in flow.main_path:
            continue
        if op.index in flow.side:  # an auxiliary head reads the main path but is not on it
            continue
        if len(op.input_shapes[0]) != 4 or dict(op.arguments).get("transposed"):
            continue
        arguments = dict(op.arguments)
        kernel = tuple(op.input_shapes[1][2:]) if op.op.startswith(CONV) else tuple(arguments["kernel_size"])
        key = (op.op.split(".")[1], kernel, tuple(arguments["stride"]), tuple(arguments["padding"]))
        if op.input_shapes[0][2:] != op.output_shapes[0][2:] or key not in seen:
            seen.add(key)
            found.append((op, kernel, arguments))
    return found


def shape_steps(analysis, text: Text) -> list[dict]:
    from archscope import zoo

    variant = "shape_padded_000" if zoo.entry(analysis.trace.model).family.startswith("GoogLeNet") else "shape_padded"
    steps = []
    for op, kernel, arguments in _window_ops(analysis):
        ceil = bool(arguments.get("ceil_mode"))
        lines = []
        for axis in (0, 1):
            size, out = op.input_shapes[0][2 + axis], op.output_shapes[0][2 + axis]
            k, s, p = kernel[axis], arguments["stride"][axis], arguments["padding"][axis]
            d = arguments.get("dilation", (1, 1))[axis]
            lines.append((exact(output_size(size, k, s, p, d, ceil), out), size, k, s, p, d))
        # None where PyTorch's rule differs from the formula (a ceil_mode window starting in the padding
        # is dropped): the row then shows the traced size alone
        line, size, k, s, p, d = lines[0]
        kind = "conv" if op.op.startswith(CONV) else ("max_pool" if op.op.startswith(MAX_POOL) else "avg_pool")
        alternatives = []
        if ceil and s > 1 and line is not None:
            floor = evaluate(output_size(size, k, s, p, d))
            alternatives.append((text("shape_floor"), exact(output_size(size, k, s, p, d), floor)))
            if floor != evaluate(line.expression):
                padded = evaluate(output_size(size, k, s, p + 1, d))
                alternatives.append((text(variant, padding=p + 1), exact(output_size(size, k, s, p + 1, d), padded)))
        steps.append({"path": _label(analysis, analysis.trace.layers[op.layer].path), "kind": text(f"kind_{kind}"),
                      "window": f"{_shape(kernel)}/{s}" + (f", {text('padding')} {p}" if p else ""),
                      "calc": line, "size": op.output_shapes[0][2],
                      "width": lines[1][0] if lines[1][1:] != lines[0][1:] else None,
                      "alternatives": alternatives, "shape": _shape(op.output_shapes[0][1:])})
    return steps


# -- 3. parameters ------------------------------------------------------------------------------

def params_expression(module) -> str | None:
    """k·k·C_in·C_out (+ C_out) for a convolution, 2·C for batch norm, in·out (+ out) for a linear layer."""
    attributes = dict(module.attributes)
    names = {name for name, _, _ in module.param_numels}
    bias = "bias" in names
    if "kernel_size" in attributes and "in_channels" in attributes:
        kernel = attributes["kernel_size"]
        c_in = attributes["in_channels"] // attributes.get("groups", 1)
        expression = "·".join(map(str, [*kernel, c_in, attributes["out_channels"]]))
        return expression + (f" + {attributes['out_channels']}" if bias else "")
    if "num_features" in attributes and names == {"weight", "bias"}:
        return f"2·{attributes['num_features']}"
    if "in_features" in attributes:
        return f"{attributes['in_features']}·{attributes['out_features']}" + (
            f" + {attributes['out_features']}" if bias else "")
    return None


def parameter_steps(analysis) -> list[dict]:
    steps, seen = [], set()
    for module in analysis.trace.modules:
        expression = params_expression(module) if module.self_params else None
        if expression is None or module.type in seen:
            continue
        line = exact(expression, module.self_params)
        if line is not None:
            seen.add(module.type)
            steps.append({"path": _label(analysis, module.path), "type": module.type, "calc": line})
    return steps


def parameter_shares(analysis) -> dict:
    total = analysis.own_totals["params"]
    top = [module for module in analysis.trace.modules if module.path and "." not in module.path and module.params]
    rows = [{"path": module.path, "params": count(module.params),
             "share": rounded(f"100 · {count(module.params)} / {count(total)}", 100 * module.params / total, 1)}
            for module in top]
    heads = analysis.savings["heads"]
    side = None
    if heads["side_params"]:
        side = {"calc": rounded(f"100 · {count(heads['side_params'])} / {count(total)}",
                                100 * heads["side_params"] / total, 1),
                "inference": exact(f"{count(total)} − {count(heads['side_params'])}", heads["inference_params"]),
                "heads": ", ".join(head["path"] for head in heads["auxiliary"]) or ", ".join(
                    item["path"] for item in heads["unused"])}
    return {"rows": rows, "total": count(total), "side": side}


# -- 4. bottleneck, factorization, counterfactual -------------------------------------------------

def _bottleneck_calc(row) -> tuple[Calc | None, Calc | None]:
    (kh, kw), c_in, r, c_out = row["kernels"][0], row["c_in"], row["reduced"], row["c_out"]
    direct = exact(f"{kh}·{kw}·{c_in}·{c_out}", row["direct_weights"])
    if row["kind"] == "resnet" and len(row["kernels"]) == 1:
        mid = row["conv_channels"][0]
        actual = exact(f"{c_in}·{r} + {kh}·{kw}·{r}·{mid} + {mid}·{c_out}", row["actual_weights"])
    else:
        actual = exact(f"{c_in}·{r} + {kh}·{kw}·{r}·{c_out}", row["actual_weights"])
    return direct, actual


def bottleneck_example(analysis) -> dict | None:
    found = analysis.savings["bottlenecks"]
    if not found["rows"]:
        return None
    block = found["blocks"][0]
    rows = []
    for row in [row for row in found["rows"] if row["block"] == block["block"]]:
        direct, actual = _bottleneck_calc(row)
        if direct and actual:
            rows.append({"branch": row["branch"], "direct": direct, "actual": actual,
                         "ratio": rounded(f"{count(row['actual_weights'])} / {count(row['direct_weights'])}",
                                          row["weights_ratio"], 3)})
    if not rows:
        return None
    saved = exact(f"{count(block['direct_mult_adds'])} − {count(block['actual_mult_adds'])}",
                  block["saved_mult_adds"])
    total = found["total"]
    return {"block": _label(analysis, block["block"]), "rows": rows, "saved": saved,
            "total_ratio": rounded(f"{count(total['actual_weights'])} / {count(total['direct_weights'])}",
                                   total["weights_ratio"], 3)}


def factorization_example(analysis) -> dict | None:
    """A factorized pair inside a block that saves weights, an asymmetric one (1×n → n×1) first."""
    rows = [row for row in analysis.savings["factorizations"]["rows"]
            if row["kind"] in ("stacked", "asymmetric") and len(row["kernels"]) == 2 and row["block"]
            and row["actual_weights"] < row["direct_weights"]]
    for row in sorted(rows, key=lambda row: row["kind"] != "asymmetric"):
        (ah, aw), (bh, bw) = row["kernels"]
        rh, rw = row["replaces"]
        actual = exact(f"{ah}·{aw}·{row['c_in']}·{row['mid']} + {bh}·{bw}·{row['mid']}·{row['c_out']}",
                       row["actual_weights"])
        direct = exact(f"{rh}·{rw}·{row['c_in']}·{row['c_out']}", row["direct_weights"])
        if actual and direct:
            return {"branch": row["branch"], "block": row["block"],
                    "kernels": f"{ah}×{aw} → {bh}×{bw}", "replaces": f"{rh}×{rw}", "actual": actual, "direct": direct}
    return None


def counterfactual_example(analysis) -> dict | None:
    other = analysis.counterfactual
    if other is None:
        return None
    ours, theirs = other["totals"], other["counterfactual_totals"]
    return {"model": other["model"],
            "params": rounded(f"{count(theirs['params'])} / {count(ours['params'])}",
                              theirs["params"] / ours["params"], 2),
            "mult_adds": rounded(f"{count(theirs['mult_adds'])} / {count(ours['mult_adds'])}",
                                 theirs["mult_adds"] / ours["mult_adds"], 2)}


# -- 5. receptive field --------------------------------------------------------------------------

def receptive_steps(analysis) -> list[dict]:
    steps, r, j = [], 1, 1
    for row in analysis.savings["receptive_fields"]["rows"]:
        if row["receptive_field"] is None:
            break
        new_r, new_j = row["receptive_field"][0], row["jump"][0]
        line = None
        if row["kernel"] and row["stride"]:
            line = exact(f"{r} + ({row['kernel'][0]} − 1)·{j}", new_r)
        steps.append({"path": _label(analysis, row["path"]), "type": row["type"], "r": new_r, "jump": new_j, "calc": line,
                      "size": _shape(row["output_size"])})
        r, j = new_r, new_j
    return steps


# -- 6. pitfalls ---------------------------------------------------------------------------------

def _other_input(shapes, extra: int) -> list[list[int]] | None:
    """The model's input grown by ``extra`` pixels in height and width, or None for non-images."""
    if len(shapes) != 1 or len(shapes[0]) != 4:
        return None
    batch, channels, height, width = shapes[0]
    return [[batch, channels, height + extra, width + extra]]


def _try(name: str, shapes, options=None):
    """The analysis of a zoo model at ``shapes``, or the one-line error a user would see."""
    return _traced(name, tuple(map(tuple, shapes)), tuple(sorted((options or {}).items())))


@lru_cache(maxsize=32)  # a lesson in two languages traces each input once
def _traced(name: str, shapes: tuple, options: tuple):
    from archscope import zoo
    from archscope.api import analyze
    from archscope.errors import ArchscopeError

    try:
        return analyze(zoo.build(name, device="meta", **dict(options)), [list(shape) for shape in shapes],
                       name=name), None
    except ArchscopeError as error:
        return None, " ".join(str(error).split()).rstrip(".")


def pitfalls(analysis, name: str) -> dict:
    """The first larger input at which the model breaks (or that it never does), and what sources
    state about its structure, or its variants' (same family, same kind of name), that the trace refutes."""
    from archscope import zoo
    from archscope.api import check
    from archscope.render.claims import computed_text, language, stated_text

    shapes = [list(spec.shape) for spec in analysis.trace.inputs]
    size = None
    for extra in (32, 64, 96):
        bigger = _other_input(shapes, extra)
        if bigger is None:
            break
        other, error = _try(name, bigger)
        size = {"input": _shape(bigger[0]), "error": error, "linear": any(m.type == "Linear" for m in analysis.trace.modules),
                "output": None if other is None else _shape(other.rows[0]["output_shape"])}
        if error:
            break
    entry = zoo.entry(name)
    variants = [other for other in zoo.names() if zoo.entry(other).family == entry.family
                and other.split("-")[0] == name.split("-")[0]]
    refuted = [{**(record := verdict.to_dict()), "lang": language(verdict.claim.words),
                "stated_text": stated_text(record), "computed_text": computed_text(record)}
               for verdict in check(variants, analysis=analysis)
               if verdict.verdict == "contradicted" and verdict.claim.quantity in STRUCTURAL]
    return {"size": size, "claims": refuted}


# -- 7. exercises, answered by tracing ------------------------------------------------------------

def exercises(analysis, name: str, text: Text) -> list[dict]:
    """At least eight questions on this model whose answers the lesson does not already print, each
    answered by a trace (at this input or another) or by arithmetic evaluated here."""
    from archscope import zoo

    found: list[dict] = []
    totals = analysis.own_totals
    shapes = [list(spec.shape) for spec in analysis.trace.inputs]
    batch = shapes[0][0] if shapes and shapes[0] else 1
    flow = analysis.dataflow
    label = lambda path: _label(analysis, path)  # noqa: E731

    def add(key: str, answer: str, calc: Calc | None = None, **values) -> None:
        found.append({"question": text(f"q_{key}", **values), "answer": answer, "calc": calc})

    # the last block at a larger input; without the auxiliary heads when theirs are sized for one input
    blocks = [call for call in flow.main_calls if call.index in flow.children and len(call.outputs[0].shape) == 4]
    without_heads = [{}, {"aux_logits": False}] if "aux_logits" in zoo.entry(name).options else [{}]
    tries = [(bigger, options) for extra in (96, 32) for options in without_heads
             if blocks and (bigger := _other_input(shapes, extra))]
    larger = None
    for bigger, options in tries:
        larger, _ = _try(name, bigger, options)
        if larger is not None:
            target = blocks[-1].path
            shape = next(row["output_shape"] for row in larger.rows if row["path"] == target)
            add("output_at_without_heads" if options else "output_at", _shape(shape), None, layer=label(target),
                input=_shape(bigger[0]))
            break
    if blocks:
        last = blocks[-1]
        add("block_output", _shape(last.outputs[0].shape), None, layer=label(last.path), input=_shape(shapes[0]))
    windows = _window_ops(analysis)
    if windows:
        op, kernel, arguments = windows[0]
        size = op.input_shapes[0][2] * 2
        k, s, p = kernel[0], arguments["stride"][0], arguments["padding"][0]
        expression = output_size(size, k, s, p, arguments.get("dilation", (1,))[0], bool(arguments.get("ceil_mode")))
        value = evaluate(expression)
        add("first_window_at", str(value), exact(expression, value),
            layer=label(analysis.trace.layers[op.layer].path), size=size)
    pools = [(op, kernel, arguments) for op, kernel, arguments in windows
             if arguments.get("ceil_mode") and arguments["stride"][0] > 1]
    if pools:
        op, kernel, arguments = pools[0]
        k, s, p = kernel[0], arguments["stride"][0], arguments["padding"][0]
        # the next size above its own at which ceil_mode changes the answer
        size = next(n for n in range(op.input_shapes[0][2] + 1, op.input_shapes[0][2] + s + 2)
                    if (n + 2 * p - k) % s)
        ceil, floor = output_size(size, k, s, p, ceil=True), output_size(size, k, s, p)
        add("pool_at", f"{evaluate(ceil)} / {evaluate(floor)}", exact(ceil, evaluate(ceil)),
            layer=label(analysis.trace.layers[op.layer].path), size=size)
    bottleneck = analysis.savings["bottlenecks"]
    if bottleneck["rows"]:
        first = bottleneck["blocks"][0]["block"]
        row = max((row for row in bottleneck["rows"] if row["block"] == first),
                  key=lambda row: max(k[0] for k in row["kernels"]))
        convs = [m for m in analysis.trace.modules if m.path in row["paths"]]
        held = sum(m.params for m in convs)
        parts = [params_expression(m) for m in convs]
        add("path_params", count(held), exact(" + ".join(parts), held) if None not in parts else None,
            paths=", ".join(row["paths"]))
        measured = larger.savings["bottlenecks"] if larger is not None else None
        blocks_saved = {block["block"]: block for block in (measured or bottleneck)["blocks"]}
        if measured is not None and first in blocks_saved:
            block = blocks_saved[first]
            at = _shape([spec.shape for spec in larger.trace.inputs][0])
        else:
            block = bottleneck["blocks"][min(1, len(bottleneck["blocks"]) - 1)]
            at = _shape(shapes[0])
        add("saved", count(block["saved_mult_adds"]),
            exact(f"{count(block['direct_mult_adds'])} − {count(block['actual_mult_adds'])}", block["saved_mult_adds"]),
            block=label(block["block"]), input=at)
    linears = [row for row in analysis.rows if row["type"] == "Linear" and row["input_shapes"]]
    if linears:
        row = linears[0]
        features = row["input_shapes"][0][-1]
        producer = flow.producer.get(row["input_ids"][0]) if row.get("input_ids") else None
        source = producer.input_shapes[0] if producer is not None and producer.input_shapes else None
        calc = exact("·".join(map(str, source[1:])), features) if source and len(source) == 4 else None
        add("flatten_features", count(features), calc, layer=label(row["path"]))
    if batch > 1 and totals["mult_adds"] % batch == 0:
        add("per_image", count(totals["mult_adds"] // batch),
            exact(f"{count(totals['mult_adds'])} / {batch}", totals["mult_adds"] // batch), batch=batch)
    doubled = [[2 * shape[0], *shape[1:]] for shape in shapes] if shapes and shapes[0] else None
    if doubled:
        other, _ = _try(name, doubled)
        if other is not None:
            add("mult_adds_at", count(other.own_totals["mult_adds"]),
                exact(f"2 · {count(totals['mult_adds'])}", other.own_totals["mult_adds"]), input=_shape(doubled[0]))
    add("depth", str(analysis.depth), None)
    add("params_size", f"{totals['params'] * 4 / 1e6:.2f} MB",
        rounded(f"{count(totals['params'])} · 4 / 1,000,000", totals["params"] * 4 / 1e6, 2))
    leaves = [m for m in analysis.trace.modules if m.is_leaf and m.self_params]
    if leaves:
        most = max(m.self_params for m in leaves)
        largest = [m for m in leaves if m.self_params == most]
        expression = params_expression(largest[0])
        add("largest_layer", f"{', '.join(label(m.path) for m in largest)} ({count(most)})",
            exact(expression, most) if expression else None)
    first_conv = next((m for m in analysis.trace.modules
                       if m.self_params and "kernel_size" in dict(m.attributes) and params_expression(m)), None)
    if first_conv is not None:
        attributes = dict(first_conv.attributes)
        wider = attributes | {"out_channels": 2 * attributes["out_channels"]}
        expression = params_expression(_with(first_conv, wider))
        add("wider_conv", count(evaluate(expression)), exact(expression, evaluate(expression)),
            layer=label(first_conv.path), channels=2 * attributes["out_channels"])
    return found


def _with(module, attributes: dict):
    """``module`` (a ModuleInfo) with other attributes: the parameters it would hold."""
    import dataclasses

    return dataclasses.replace(module, attributes=tuple(attributes.items()))


# -- the whole lesson ----------------------------------------------------------------------------

def lesson(name: str, input_size=None, lang: str = "en") -> dict:
    """The lesson on zoo model ``name`` at ``input_size`` (default: its default input) in ``lang``."""
    from archscope import zoo
    from archscope.errors import UsageError
    from archscope.inputs import validate_input_size
    from archscope.render.context import stage_section

    if lang not in LANGUAGES:
        raise UsageError(f"--lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    if name not in zoo.names():
        raise UsageError(f"unknown model {name!r}; lessons are written for zoo models (see archscope list)")
    text = Text(lang)
    shapes = input_size if input_size is not None else [list(shape) for shape in zoo.entry(name).default_input]
    analysis, error = _try(name, validate_input_size(shapes))
    if analysis is None:
        raise UsageError(error)
    document = analysis.to_dict()
    stages = stage_section(document)
    stages["headers"] = [text.table["headers"].get(header, header) for header in stages["headers"]]
    for row in stages["rows"]:
        row["cells"][1] = _translated(row["cells"][1], text.table["types"])
    entry = zoo.entry(name)
    return {
        "lang": lang, "t": text.table, "model": name, "family": entry.family, "source": entry.source,
        "input": "; ".join(_shape(spec.shape) for spec in analysis.trace.inputs),
        "totals": {"params": count(analysis.own_totals["params"]),
                   "mult_adds": numbers.compact(analysis.own_totals["mult_adds"])},
        "stages": stages,
        "table_1": document["stages"]["layout"] == "inception-v1",
        "shapes": shape_steps(analysis, text),
        "parameters": parameter_steps(analysis),
        "shares": parameter_shares(analysis),
        "bottleneck": bottleneck_example(analysis),
        "factorization": factorization_example(analysis),
        "counterfactual": counterfactual_example(analysis),
        "receptive": receptive_steps(analysis),
        "pitfalls": pitfalls(analysis, name),
        "exercises": exercises(analysis, name, text),
    }


def _translated(cell: str, words: dict) -> str:
    """A stage table's Type cell ("max pool", "side head (AuxClf)") in the lesson's language."""
    for english, other in sorted(words.items(), key=lambda item: -len(item[0])):
        cell = cell.replace(english, other)
    return cell
