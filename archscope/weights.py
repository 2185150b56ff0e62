"""``--weights FILE``: a checkpoint read without running code, checked against the model, and used by
the trace in place of the model's own tensors (the model itself is never changed).

``torch.load(weights_only=True)`` unpickles only tensors, containers and plain values: a file whose
pickle would import or call anything else is refused before any of it runs. On the meta device the
values do not matter and only names and shapes are checked; on the cpu they are what the forward uses.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

from archscope.errors import UsageError

WRAPPER_KEYS = ("state_dict", "model", "model_state_dict")  # where training scripts keep the state dict
SHOWN = 3  # names listed per kind of mismatch


def load_weights(weights) -> tuple[dict, str]:
    """(state dict, what to call it in errors) of a checkpoint path or a state dict given in Python."""
    if isinstance(weights, Mapping):
        state = _state_dict(weights)
        if state is None:
            raise UsageError("weights: not a state dict (a mapping of names to tensors)")
        return state, "state dict"
    return read_weights(weights), str(weights)


def read_weights(path: str | Path) -> dict:
    """The state dict in ``path``: a mapping of names to tensors, or one under a ``WRAPPER_KEYS`` key."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--weights {str(path)!r}: no such file" if not path.exists() else
                         f"--weights {str(path)!r} is not a file")
    if path.stat().st_size == 0:
        raise UsageError(f"--weights {str(path)!r} is empty")
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are not the user's concern
            warnings.simplefilter("ignore")
            loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        cause = next((line for line in lines if "GLOBAL" in line), None)
        if cause:  # the pickle names a callable: loading it the unsafe way would run it
            raise UsageError(f"--weights {str(path)!r} refused: it holds more than tensors, and loading it "
                             f"could run code ({cause})") from None
        after = [line for number, line in enumerate(lines) if number and "WeightsUnpickler" in lines[number - 1]]
        raise UsageError(f"--weights {str(path)!r} refused: torch.load(weights_only=True) cannot read it "
                         f"({(after or lines or ['unpickling failed'])[0]})") from None
    except Exception as error:  # a truncated zip, a text file, a foreign format
        raise UsageError(f"--weights {str(path)!r} is not a torch checkpoint "
                         f"(torch.load: {type(error).__name__} {error})") from None
    state = _state_dict(loaded)
    if state is None:
        raise UsageError(f"--weights {str(path)!r} holds no state dict (a mapping of names to tensors"
                         f"{', or one under ' + ' / '.join(WRAPPER_KEYS)})")
    return state


def _state_dict(loaded) -> dict | None:
    import torch

    def is_state(value) -> bool:
        return isinstance(value, Mapping) and bool(value) and all(
            isinstance(key, str) and isinstance(item, torch.Tensor) for key, item in value.items())

    if is_state(loaded):
        return dict(loaded)
    if isinstance(loaded, Mapping):
        for key in WRAPPER_KEYS:
            if is_state(loaded.get(key)):
                return dict(loaded[key])
    return None


def check_weights(module, state: Mapping, source: str) -> None:
    """Every tensor the model saves is in ``state`` with its shape, and nothing else: a one-line
    ``UsageError`` naming the first mismatches otherwise (what ``load_state_dict(strict=True)`` checks)."""
    expected = {name: tuple(tensor.shape) for name, tensor in module.state_dict().items()}
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    shapes = [f"{name} {list(state[name].shape)} (model {list(expected[name])})" for name in expected
              if name in state and tuple(state[name].shape) != expected[name]]
    problems = [f"{label}: {', '.join(names[:SHOWN])}{f' and {len(names) - SHOWN} more' if len(names) > SHOWN else ''}"
                for label, names in (("missing", missing), ("unexpected", unexpected), ("other shape", shapes))
                if names]
    if problems:
        raise UsageError(f"--weights {source!r} does not fit the model; {'; '.join(problems)}")
