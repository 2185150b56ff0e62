"""A lesson's arithmetic lines: an expression with the model's numbers substituted, and its value.

Every line a lesson prints is built here and evaluated before it is printed; a line whose expression
does not give the traced value is left out rather than shown wrong.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from dataclasses import dataclass

from archscope.render import numbers

OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


@dataclass(frozen=True)
class Calc:
    expression: str  # "⌊(224 + 2·3 − 7) / 2⌋ + 1"
    value: str  # "112", "9,408", "0.583"
    approximate: bool = False  # "≈": the value is rounded to the digits shown

    def __str__(self) -> str:
        return f"{self.expression} {'≈' if self.approximate else '='} {self.value}"


def evaluate(expression: str):
    """The value of an expression written as lessons write them (⌊ ⌋ ⌈ ⌉ · × − and 1,024)."""
    text = re.sub(r"(?<=\d),(?=\d{3})", "", expression)
    for sign, python in (("⌊", "floor("), ("⌋", ")"), ("⌈", "ceil("), ("⌉", ")"), ("·", "*"), ("×", "*"),
                         ("−", "-")):
        text = text.replace(sign, python)

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
            return OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("floor", "ceil"):
            return getattr(math, node.func.id)(walk(node.args[0]))
        raise ValueError(f"not lesson arithmetic: {expression!r}")

    return walk(ast.parse(text, mode="eval"))


def exact(expression: str, value: int) -> Calc | None:
    """``expression = value`` when it holds, else None."""
    return Calc(expression, numbers.count(value)) if evaluate(expression) == value else None


def rounded(expression: str, value: float, decimals: int) -> Calc | None:
    """``expression ≈ value`` to ``decimals`` places, when the expression gives that value."""
    if round(evaluate(expression), decimals) != round(value, decimals):
        return None
    return Calc(expression, f"{value:,.{decimals}f}", approximate=True)


def count(value: int) -> str:
    return numbers.count(value)


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1, ceil: bool = False) -> str:
    """The output-size formula of a window with its numbers substituted."""
    reach = kernel if dilation == 1 else f"{dilation}·({kernel} − 1) − 1"
    inner = f"{size} + 2·{padding} − {reach}" if padding else f"{size} − {reach}"
    if stride == 1:
        return f"{inner} + 1"
    left, right = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    return f"{left}({inner}) / {stride}{right} + 1"
