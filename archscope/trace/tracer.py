"""Run a model once under the recorder and return a ``Trace``, leaving the model as it was.

The model is called through ``torch.func.functional_call`` with stand-ins for its parameters and
buffers: meta ones on the meta device (no arithmetic runs), copies of the buffers on the cpu, so the
user's instance is never moved or changed. Hooks, training flags and the dispatch mode are restored in
``finally``, also when the forward raises.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.parameter import UninitializedTensorMixin
from torch.utils._pytree import tree_map

from archscope.errors import ForwardError, UsageError
from archscope.records import ModuleInfo, Trace
from archscope.trace.recorder import Recorder
from archscope.units import Device, Mode


# Hyperparameters a reader of a layer table wants to see (Table 1's "patch size / stride"), recorded
# as JSON values for torch's own layers and their subclasses (timm's Conv2dSame, BatchNormAct2d);
# a user's class that is not one may mean something else by these names.
# hidden_size and proj_size mark torch's recurrent layers, which other tools count their own way
# (analysis/conventions.py).
ATTRIBUTES = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
              "ceil_mode", "output_size", "in_features", "out_features", "num_features", "size", "p",
              "affine", "track_running_stats", "hidden_size", "proj_size", "eps", "momentum", "alpha", "beta", "k")


_CONTAINERS = (nn.Module, nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _attributes(module: nn.Module) -> tuple[tuple[str, object], ...]:
    if not any(kind.__module__.startswith("torch.nn.") and kind not in _CONTAINERS for kind in type(module).__mro__):
        return ()
    found = []
    for name in ATTRIBUTES:
        value = getattr(module, name, None)
        if isinstance(value, (bool, int, float)) or (
                isinstance(value, tuple) and all(isinstance(item, int) for item in value)):
            found.append((name, value))
    return tuple(found)


def module_infos(model: nn.Module) -> tuple[dict[int, str], tuple[ModuleInfo, ...]]:
    """Each module's state_dict path (the first, if it is registered twice) and its parameter counts."""
    for path, module in model.named_modules():
        if any(isinstance(p, UninitializedTensorMixin) for p in [*module.parameters(False), *module.buffers(False)]):
            raise UsageError(f"{path or 'the model'} ({type(module).__name__}) has lazy parameters not yet "
                             "initialized: run one forward on a real input first, so their sizes are known")
    paths: dict[int, str] = {}
    infos = []
    owned: set[int] = set()  # tensors already held by an earlier module
    for path, module in model.named_modules(remove_duplicate=False):
        if id(module) in paths:
            continue
        paths[id(module)] = path
        params = list(module.parameters())  # unique tensors: a shared one counts once
        own = [p for p in module.parameters(recurse=False) if id(p) not in owned]
        owned.update(id(p) for p in own)
        infos.append(ModuleInfo(
            path=path,
            type=type(module).__name__,
            is_leaf=next(module.children(), None) is None,
            self_params=sum(p.numel() for p in module.parameters(recurse=False)),
            params=sum(p.numel() for p in params),
            trainable_params=sum(p.numel() for p in params if p.requires_grad),
            frozen_params=sum(p.numel() for p in params if not p.requires_grad),
            buffers=sum(b.numel() for b in module.buffers()),
            params_bytes=sum(p.numel() * p.element_size() for p in params),
            own_params_bytes=sum(p.numel() * p.element_size() for p in own),
            attributes=_attributes(module),
            param_numels=tuple((name, p.numel(), p.numel() * p.element_size())
                               for name, p in module.named_parameters(recurse=False)),
        ))
    return paths, tuple(infos)


def _on_device(tensor: torch.Tensor, device: Device) -> torch.Tensor:
    if tensor.device.type == device.value:
        return tensor
    if device is Device.META:
        return torch.empty_like(tensor, device="meta")
    if tensor.is_meta:  # a meta model asked to run for real: values do not matter for shapes
        return torch.zeros(tensor.shape, dtype=tensor.dtype)
    return tensor.to(device.value)


def _slots(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter and buffer slot, named once per module: a module registered under two names
    must be swapped once, or restoring the second name puts the stand-in back into the model."""
    slots = {}
    for path, module in model.named_modules():
        prefix = f"{path}." if path else ""
        named = [*module.named_parameters(recurse=False, remove_duplicate=False),
                 *module.named_buffers(recurse=False, remove_duplicate=False)]
        slots.update((prefix + name, tensor) for name, tensor in named)
    return slots


def _stand_ins(model: nn.Module, device: Device, weights=None) -> dict[str, torch.Tensor]:
    """Parameters and buffers on ``device`` for a functional call. Buffers already there are copied:
    a forward updates them in place (batch-norm statistics in train mode), and not in the user's model.
    ``weights`` (a checked state dict) stands in for the model's own tensors, copied in their dtype."""
    buffers = {id(b) for b in model.buffers()}

    def stand_in(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.device.type != device.value:
            return _on_device(tensor, device)
        return tensor.clone() if id(tensor) in buffers else tensor

    slots = _slots(model)
    moved: dict[int, torch.Tensor] = {}  # one stand-in per tensor, so tied weights stay tied
    for name, tensor in slots.items():
        if id(tensor) in moved:
            continue
        if weights is not None and name in weights:
            moved[id(tensor)] = _on_device(weights[name].to(dtype=tensor.dtype, copy=True), device)
        else:
            moved[id(tensor)] = stand_in(tensor)
    return {name: moved[id(tensor)] for name, tensor in slots.items()}


def make_inputs(input_size: list[tuple[int, ...]], device: Device) -> tuple[torch.Tensor, ...]:
    """float32 inputs: empty on meta, seeded uniform noise on cpu (deterministic, like torchinfo's rand)."""
    if device is Device.META:
        return tuple(torch.empty(size, device="meta") for size in input_size)
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.rand(size, generator=generator) for size in input_size)


def move_inputs(args: tuple, kwargs: dict, device: Device) -> tuple[tuple, dict]:
    def move(value):
        return _on_device(value, device) if isinstance(value, torch.Tensor) else value

    return tree_map(move, args), tree_map(move, kwargs)


def trace(model: nn.Module, args: tuple, kwargs: dict, *, name: str, device: Device, mode: Mode,
          weights=None) -> Trace:
    paths, infos = module_infos(model)
    args, kwargs = move_inputs(args, kwargs, device)
    stand_ins = _stand_ins(model, device, weights)
    recorder = Recorder(paths)
    modules = list(dict.fromkeys(model.modules()))
    training_flags = [(module, module.training) for module in modules]
    handles = []
    try:
        model.train(mode is Mode.TRAIN)
        for module in modules:
            handles.append(module.register_forward_pre_hook(recorder.pre_hook, with_kwargs=True))
            handles.append(module.register_forward_hook(recorder.post_hook, with_kwargs=True, always_call=True))
        inputs = recorder.call_specs(args, kwargs)
        with torch.no_grad(), recorder:
            # tie_weights=False: the stand-ins already name every slot of a shared tensor
            torch.func.functional_call(model, stand_ins, args, kwargs, tie_weights=False, strict=False)
    except Exception as error:
        failed = recorder.failing_call(error)
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        if failed is None:
            raise ForwardError("", type(model).__name__, [], reason) from error
        shapes = [spec.shape for spec in failed["inputs"]]
        raise ForwardError(failed["path"], failed["type"], shapes, reason) from error
    finally:
        for handle in handles:
            handle.remove()
        for module, training in training_flags:
            module.training = training
    return Trace(
        model=name,
        device=device.value,
        mode=mode.value,
        inputs=inputs,
        modules=infos,
        layers=recorder.layer_calls(),
        ops=tuple(recorder.ops),
    )
