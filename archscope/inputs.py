"""Input shapes: parsed from the CLI's SHAPE text and validated before any work is done."""

from __future__ import annotations

import re
from math import prod

from archscope.errors import UsageError

INT64_MAX = 2**63 - 1


def validate_input_size(input_size) -> list[tuple[int, ...]]:
    """One shape (a tuple of ints) or a list of shapes, each size a positive int that torch can hold."""
    if isinstance(input_size, (tuple, list)) and input_size and not any(isinstance(s, (tuple, list)) for s in input_size):
        input_size = [input_size]  # one shape, whatever its sizes are: each is checked below
    if not isinstance(input_size, (tuple, list)) or not input_size:
        raise UsageError(f"input size must be a shape such as (1, 3, 224, 224) or a list of shapes, not {input_size!r}")
    shapes = []
    for shape in input_size:
        if not isinstance(shape, (tuple, list)) or not shape:
            raise UsageError(f"input shape {shape!r} is not a non-empty sequence of sizes")
        for size in shape:
            if isinstance(size, bool) or not isinstance(size, int):
                raise UsageError(f"input shape {list(shape)}: size {size!r} is not an integer")
            if size < 1:
                raise UsageError(f"input shape {list(shape)}: size {size} must be at least 1")
        if prod(shape) * 8 > INT64_MAX:
            raise UsageError(f"input shape {list(shape)} has more elements than torch can address")
        shapes.append(tuple(shape))
    return shapes


def parse_shapes(text: str) -> list[tuple[int, ...]]:
    """``"20,3,224,224"``, several inputs separated by ``;`` (``"1,3,32,32;1,10"``)."""
    shapes = []
    for number, part in enumerate(text.split(";"), start=1):
        where = f"input {number} of {text!r}" if ";" in text else repr(text)
        if not part.strip():
            raise UsageError(f"--input {where}: empty shape")
        sizes = []
        for position, item in enumerate(part.split(","), start=1):
            item = item.strip()
            if not item:
                raise UsageError(f"--input {where}: size {position} is empty")
            if not re.fullmatch(r"-?[0-9]+", item):
                raise UsageError(f"--input {where}: size {position} ({item!r}) is not an integer")
            sizes.append(int(item))
        shapes.append(tuple(sizes))
    try:
        return validate_input_size(shapes)
    except UsageError as error:
        raise UsageError(f"--input {text!r}: {error}") from None
