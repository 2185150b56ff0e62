"""The verdict on each claim: the quantity computed from a traced model against what was stated.

``QUANTITIES`` maps each quantity of claims/README.md to the function that reads it off an
``Analysis``; ``judge`` compares. Nothing here traces: the caller hands in the analysis of each claim's
model at the claim's input (``archscope.api.check``).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from archscope.analysis.totals import shown_params
from archscope.claims.load import NOT_CHECKABLE, SAVINGS, SAVINGS_FIGURES, Claim, ClaimFileError, expectation
from archscope.claims.stated import Interval


def _fail(claim: Claim, message: str):
    raise ClaimFileError(f"{claim.at} ({claim.id}): {message}")


def _row(analysis, claim: Claim, path: str | None = None) -> dict:
    path = claim.locator["layer"] if path is None else path
    call = claim.locator.get("call", 0)
    for row in analysis.rows:
        if row["path"] == path and row["call"] == call:
            return row
    _fail(claim, f"{claim.model} has no layer {path!r}" + (f" called {call + 1} times" if call else ""))


def _module(analysis, claim: Claim, path: str | None = None):
    path = claim.locator["layer"] if path is None else path
    for module in analysis.trace.modules:
        if module.path == path:
            return module
    _fail(claim, f"{claim.model} has no module {path!r}")


def _total_or_layer(total_key: str, row_key: str | None = None):
    """The model's total, or the sum over ``layer`` (a path, or a list of paths for a row of a paper's
    table that spans several modules, such as Table 1's 1×1 + 3×3 "convolution 3×3/1")."""
    def read(analysis, claim: Claim):
        if "layer" not in claim.locator:
            return analysis.own_totals[total_key]
        layers = claim.locator["layer"]
        total = 0
        for path in layers if isinstance(layers, list) else [layers]:
            if row_key is None:  # parameters belong to a module, not to one call of it
                module = _module(analysis, claim, path)
                total += module.params if total_key == "params" else module.trainable_params
            else:
                total += _row(analysis, claim, path)[row_key]
        return total

    return read


def _shape(analysis, claim: Claim):
    if "output" in claim.locator:
        outputs = analysis.rows[0]["output_shapes"]
        index = claim.locator["output"]
        if not isinstance(index, int) or not 0 <= index < len(outputs):
            _fail(claim, f"{claim.model} has {len(outputs)} output(s); there is no output {index!r}")
        return tuple(outputs[index])
    row = _row(analysis, claim)
    shapes = row["output_shapes"] if claim.quantity == "output_shape" else row["input_shapes"]
    return tuple(shapes[0]) if shapes else ()


def _attribute(analysis, claim: Claim):
    attributes = dict(_module(analysis, claim).attributes)
    name = claim.locator["name"]
    if name not in attributes:
        _fail(claim, f"{claim.locator['layer']!r} has no attribute {name!r} (it has {', '.join(attributes) or 'none'})")
    return attributes[name]


def _window(analysis, claim: Claim):
    """The pooling window as it acts: the kernel, or for an adaptive pool the input map ÷ the output map."""
    attributes = dict(_module(analysis, claim).attributes)
    if "kernel_size" in attributes:
        return attributes["kernel_size"]
    row = _row(analysis, claim)
    if "Adaptive" not in row["type"] or not row["input_shapes"]:
        _fail(claim, f"{claim.locator['layer']!r} ({row['type']}) is not a pooling layer")
    sizes_in, sizes_out = row["input_shapes"][0][2:], row["output_shape"][2:]
    if any(size_in % size_out for size_in, size_out in zip(sizes_in, sizes_out)):
        _fail(claim, f"{claim.locator['layer']!r} pools {sizes_in} to {sizes_out}: windows of different sizes")
    return tuple(size_in // size_out for size_in, size_out in zip(sizes_in, sizes_out))


def _count(analysis, claim: Claim) -> int:
    """Modules of the class(es) ``type`` that ran, at any depth; a module called twice counts once."""
    types = claim.locator["type"]
    types = {types} if isinstance(types, str) else set(types)
    return len({row["path"] for row in analysis.rows if row["type"] in types})


def _table_row(analysis, claim: Claim):
    row = _row(analysis, claim)
    return tuple(row["output_shape"]), shown_params(row, claim.locator.get("depth", 3))


def _receptive_field(analysis, claim: Claim):
    found = analysis.savings["receptive_fields"]
    if "layer" not in claim.locator:
        if found["final"] is None:
            _fail(claim, f"{claim.model} has no final map with more than one position")
        return tuple(found["final"]["receptive_field"])
    for row in found["rows"]:
        if row["path"] == claim.locator["layer"]:
            if row["receptive_field"] is None:
                _fail(claim, f"the receptive field at {row['path']!r} is global or unknown")
            return tuple(row["receptive_field"])
    _fail(claim, f"{claim.locator['layer']!r} is not a step of {claim.model}'s main path")


def _saving(kind: str, figure: str):
    key = figure if figure.endswith("ratio") or figure.startswith("direct") else f"actual_{figure}"

    def read(analysis, claim: Claim):
        found = analysis.savings["bottlenecks" if kind == "bottleneck" else "factorizations"]
        if "layer" not in claim.locator:
            if not found["rows"]:
                _fail(claim, f"{claim.model} has no {kind}s")
            return found["total"][key]
        for block in found["blocks"]:
            if block["block"] == claim.locator["layer"]:
                return block[key]
        _fail(claim, f"{claim.model} has no {kind} in block {claim.locator['layer']!r} "
                     f"(blocks: {', '.join(block['block'] or '(root)' for block in found['blocks']) or 'none'})")

    return read


QUANTITIES = {
    "params": _total_or_layer("params"),
    "trainable_params": _total_or_layer("trainable_params"),
    "frozen_params": lambda analysis, claim: analysis.own_totals["frozen_params"],
    "inference_params": lambda analysis, claim: analysis.savings["heads"]["inference_params"],
    "mult_adds": _total_or_layer("mult_adds", "mult_adds"),
    "flops": _total_or_layer("flops", "flops"),
    "memory.input": lambda analysis, claim: analysis.own_totals["input_bytes"],
    "memory.forward_backward": lambda analysis, claim: analysis.own_totals["forward_backward_bytes"],
    "memory.params": lambda analysis, claim: analysis.own_totals["params_bytes"],
    "memory.total": lambda analysis, claim: analysis.own_totals["total_bytes"],
    "output_shape": _shape,
    "input_shape": _shape,
    "row": _table_row,
    "attribute": _attribute,
    "window": _window,
    "count": _count,
    "depth": lambda analysis, claim: analysis.depth,
    "receptive_field": _receptive_field,
    **{f"{kind}.{figure}": _saving(kind, figure) for kind in SAVINGS for figure in SAVINGS_FIGURES},
}


def _sizes(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _same_sizes(stated: tuple, computed: tuple) -> bool:
    """``3`` states a 3×3 kernel; ``2`` a stride of 2 in every dimension."""
    if len(stated) == 1 and len(computed) > 1:
        stated = stated * len(computed)
    if len(computed) == 1 and len(stated) > 1:
        computed = computed * len(stated)
    return stated == computed


def _same_shape(stated: tuple, computed: tuple, layout: str = "NCHW") -> bool:
    """A shape stated without its batch dimension ("64×56×56") is compared per sample; one stated
    height × width × channels ("112x112x64", layout HWC) against the per-sample (C, H, W); with
    layout map, a computed (N, C) vector against a stated C×1×1 map."""
    if layout == "HWC":
        return len(computed) == 4 and stated == (*computed[2:], computed[1])
    if layout == "map" and len(computed) == 2:  # a C×1×1 (or 1×1×C) map, with or without its batch dimension
        return stated in ((*computed, 1, 1), (computed[1], 1, 1), (1, 1, computed[1]))
    return stated == computed or (len(stated) == len(computed) - 1 and stated == computed[1:])


@dataclass(frozen=True)
class Verdict:
    claim: Claim
    verdict: str
    computed: object  # as JSON: a number, a shape (list), [shape, params] for a row; None when not checkable
    range: str  # what the stated value admits, in words
    explanation: str
    input: tuple[tuple[int, ...], ...]

    @property
    def as_expected(self) -> bool:
        return self.verdict == self.claim.expected

    def to_dict(self) -> dict:
        claim = self.claim
        return {
            "id": claim.id, "model": claim.model, "source": f"{claim.source.cite}, {claim.where}",
            "source_name": claim.source.name, "source_title": claim.source.title, "source_cite": claim.source.cite,
            "units": claim.units, "relation": claim.relation, "tolerance": claim.tolerance, "layout": claim.locator.get("layout", "NCHW"), "words": claim.words,
            "quantity": describe(claim), "stated": claim.stated, "range": self.range, "computed": self.computed,
            "verdict": self.verdict,
            "expected": claim.expected, "as_expected": self.as_expected, "explanation": self.explanation,
            "input": [list(shape) for shape in self.input], "input_named": claim.input is not None,
            "options": dict(claim.options),
        }


def describe(claim: Claim) -> str:
    """The quantity in words: ``output_shape of inception3a``, ``attribute stride of conv2``."""
    locator = claim.locator
    text = claim.quantity
    if claim.quantity == "attribute":
        text = f"attribute {locator['name']}"
    if "layer" in locator:
        layers = locator["layer"] if isinstance(locator["layer"], list) else [locator["layer"]]
        text += f" of {' + '.join(layer or '(root)' for layer in layers)}"
        if locator.get("call"):
            text += f" (call {locator['call'] + 1})"
    if "output" in locator:
        text += f" of output {locator['output']}"
    if "type" in locator:
        types = locator["type"]
        text += f" of {' + '.join(types) if isinstance(types, list) else types} layers"
    if claim.options:
        text += " with " + ", ".join(f"{name}={value}" for name, value in claim.options)
    if claim.quantity == "row":
        text = f"summary row of {locator['layer'] or '(root)'} (depth {locator.get('depth', 3)})"
    return text


def judge(claim: Claim, analysis, input_shapes) -> Verdict:
    """Compute the claim's quantity on ``analysis`` and compare it with what was stated."""
    if not claim.checkable:
        return Verdict(claim, "not checkable", None, "", claim.explanation or NOT_CHECKABLE[claim.quantity],
                       input_shapes)
    admitted = expectation(claim)
    computed = QUANTITIES[claim.quantity](analysis, claim)
    if claim.quantity in ("output_shape", "input_shape"):
        layout = claim.locator.get("layout", "NCHW")
        holds, shown = _same_shape(admitted, computed, layout), list(computed)
        range_text = str(list(admitted)) + (" (height, width, channels)" if layout == "HWC" else "")
    elif claim.quantity == "row":
        shape, params = admitted
        holds = _same_shape(shape, computed[0]) and computed[1] is not None and computed[1] in params
        shown, range_text = [list(computed[0]), computed[1]], f"{list(shape)}, params {params.describe()}"
    elif isinstance(admitted, tuple):  # sizes: a kernel, a stride, a receptive field
        sizes = _sizes(computed)
        holds = _same_sizes(admitted, sizes)
        shown = list(sizes * len(admitted) if len(sizes) == 1 else sizes)
        range_text = "×".join(map(str, admitted))
    else:
        interval: Interval = admitted
        if isinstance(computed, tuple) and len(set(computed)) == 1:  # stride (2, 2) is "2"
            computed = computed[0]
        holds, range_text = not isinstance(computed, (tuple, bool)) and computed in interval, interval.describe()
        shown = computed if isinstance(computed, (int, float, tuple)) else float(Fraction(computed))
    verdict = "reproduced" if holds else "contradicted"
    if verdict == claim.expected:
        explanation = claim.explanation
    elif verdict == "contradicted":
        explanation = f"expected {claim.expected}, but the computed {shown} is not {range_text}"
    else:
        explanation = f"expected {claim.expected}, but the computed {shown} matches {range_text}"
        if claim.explanation:
            explanation += f"; the claim's explanation no longer holds: {claim.explanation}"
    return Verdict(claim, verdict, shown, range_text, explanation, input_shapes)
