"""Turn a MODEL argument into an ``nn.Module``: a zoo name, ``package.module:callable`` or
``path/to/file.py:callable``. A spec's code is imported and run only because the user named it."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from archscope import zoo
from archscope.errors import ModelSpecError, UsageError
from archscope.units import Device


def _import_target(spec: str):
    location, _, attribute = spec.rpartition(":")
    if not location or not attribute:
        raise ModelSpecError(f"MODEL {spec!r}: expected module:callable or file.py:callable")
    try:
        if location.endswith(".py") or "/" in location or Path(location).is_file():
            path = Path(location)
            if not path.is_file():
                raise ModelSpecError(f"MODEL {spec!r}: no file {location!r}")
            module_name = f"archscope_user_{abs(hash(str(path.resolve())))}"
            module_spec = importlib.util.spec_from_file_location(module_name, path)
            if module_spec is None:
                raise ModelSpecError(f"MODEL {spec!r}: {location!r} is not a Python file (name it *.py)")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[module_name] = module
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(location)
    except ModelSpecError:
        raise
    except Exception as error:  # any failure of the user's module is reported, not raised through
        raise ModelSpecError(f"MODEL {spec!r}: importing {location!r} failed: {type(error).__name__}: {error}") from error
    target = module
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise ModelSpecError(f"MODEL {spec!r}: {location!r} has no attribute {attribute!r}")
        target = getattr(target, part)
    return target


def as_module(candidate, label: str):
    """A module as it is, or what a factory returns; anything else is a ModelSpecError."""
    from torch import nn

    if isinstance(candidate, nn.Module):
        return _eager(candidate, label)
    if not callable(candidate):
        raise ModelSpecError(
            f"{label} is of type {type(candidate).__name__}, not an nn.Module or a callable returning one")
    try:
        made = candidate()
    except Exception as error:
        raise ModelSpecError(f"{label}: calling it failed: {type(error).__name__}: {error}") from error
    if not isinstance(made, nn.Module):
        raise ModelSpecError(f"{label} returned an object of type {type(made).__name__}, not an nn.Module")
    return _eager(made, label)


def _eager(module, label: str):
    """``module``, unless TorchScript compiled it: a ScriptModule takes no forward hooks, which the trace needs."""
    import torch

    for path, part in module.named_modules():
        if isinstance(part, torch.jit.ScriptModule):
            where = f"{label} is" if not path else f"{label} holds at {path!r}"
            raise ModelSpecError(f"{where} a TorchScript module ({type(part).__name__}); archscope hooks each "
                                 "module's forward, which TorchScript does not allow: give the nn.Module before "
                                 "torch.jit.script / torch.jit.trace")
    return module


def is_zoo_name(model) -> bool:
    """Whether ``model`` names a zoo entry (a string without the ``:`` of a spec)."""
    return isinstance(model, str) and ":" not in model


def load_model(model, device: Device):
    """(name, module, zoo entry or None) for a zoo name, a spec string, a module or a factory."""
    if isinstance(model, str):
        if is_zoo_name(model):
            return model, zoo.build(model, device=device.value), zoo.entry(model)
        return model, as_module(_import_target(model), f"MODEL {model!r}"), None
    module = as_module(model, "model")
    return type(module).__name__, module, None


def require_input(entry, input_size, input_data):
    if input_size is not None and input_data is not None:
        raise UsageError("give input_size or input_data, not both")
    if input_size is None and input_data is None:
        if entry is None:
            raise UsageError("this model is not in the zoo: give its input size (--input SHAPE; input_size= in Python)")
        return list(entry.default_input)
    return input_size
