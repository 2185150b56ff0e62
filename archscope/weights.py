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
    """(tensors by name, what to call them in errors) of a checkpoint path or a state dict given in Python."""
    if isinstance(weights, Mapping):
        state = _state_dict(weights)
        if state is None:
            raise UsageError("weights: not a state dict (a mapping of names to tensors)")
        return state, "the weights"
    return read_weights(weights), f"--weights {str(weights)!r}"


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
        raise UsageError(f"--weights {str(path)!r} is not a checkpoint torch.load(weights_only=True) reads "
                         f"({(after or lines or ['unpickling failed'])[0]})") from None
    except Exception as error:  # a truncated zip, a text file, a foreign format
        first = (str(error).strip().splitlines() or [""])[0]
        # torch's advice to load with weights_only=False is what this option exists to avoid
        reason = "" if "weights_only" in first else f" (torch.load: {type(error).__name__} {first})".rstrip()
        kind = "a TorchScript archive, not a state dict" if "constants.pkl" in str(error) else "not a torch checkpoint"
        raise UsageError(f"--weights {str(path)!r} is {kind}{reason}") from None
    state = _state_dict(loaded)
    if state is None:
        raise UsageError(f"--weights {str(path)!r} holds no state dict (a mapping of names to tensors"
                         f"{', or one under ' + ' / '.join(WRAPPER_KEYS)})")
    if any(tensor.is_meta for tensor in state.values()):
        raise UsageError(f"--weights {str(path)!r} holds meta tensors, which have no values")
    return state


def _state_dict(loaded) -> dict | None:
    """The tensors of a state dict (names to tensors, and a module's extra state, which the trace does
    not use), or of one under a ``WRAPPER_KEYS`` key; None when there is none."""
    import torch

    def tensors(value) -> dict | None:
        if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
            return None
        found = {key: item for key, item in value.items() if isinstance(item, torch.Tensor)}
        return found if found and all(key.endswith("_extra_state") for key in value.keys() - found) else None

    return tensors(loaded) or next(
        (found for key in WRAPPER_KEYS if isinstance(loaded, Mapping) and (found := tensors(loaded.get(key)))), None)


def check_weights(module, state: Mapping, source: str) -> None:
    """Every tensor the model saves is in ``state`` with its shape, a dtype it casts to without loss
    of kind, and one value for each tied tensor; nothing else is: a one-line ``UsageError`` naming
    the first mismatches otherwise (``load_state_dict(strict=True)``'s checks, and the casts it does)."""
    import torch

    own = {name: tensor for name, tensor in module.state_dict(keep_vars=True).items()
           if isinstance(tensor, torch.Tensor)}
    missing = [name for name in own if name not in state]
    unexpected = [name for name in state if name not in own]
    common = [name for name in own if name in state]
    shapes = [f"{name} {list(state[name].shape)} (model {list(own[name].shape)})" for name in common
              if state[name].shape != own[name].shape]
    dtypes = [f"{name} {state[name].dtype} (model {own[name].dtype})" for name in common
              if not torch.can_cast(state[name].dtype, own[name].dtype)]
    tied: dict[int, list[str]] = {}
    for name in common:
        tied.setdefault(id(own[name]), []).append(name)
    untied = [" = ".join(names) for names in tied.values() if len(names) > 1 and not shapes
              and not all(torch.equal(state[names[0]], state[name]) for name in names[1:])]
    problems = [f"{label}: {', '.join(names[:SHOWN])}{f' and {len(names) - SHOWN} more' if len(names) > SHOWN else ''}"
                for label, names in (("missing", missing), ("unexpected", unexpected), ("other shape", shapes),
                                     ("other dtype", dtypes), ("tied in the model, different here", untied))
                if names]
    if unexpected and all(name.startswith("module.") and name[len("module."):] in own for name in unexpected):
        problems.append("saved from DataParallel? strip the 'module.' prefix of its names")
    if problems:
        raise UsageError(f"{source} does not fit the model; {'; '.join(problems)}")
