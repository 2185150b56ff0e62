"""Write the golden files of the ecosystem's Inception models: what torchvision and timm build.

The zoo re-writes torchvision's and timm's Inception definitions (neither installs on a CPU-only
torch), and the tests compare the re-writes against these files: parameter count, every state_dict
key and shape (so a checkpoint loads strictly), and every module's output shape at one input.
The files come from torchvision's and timm's own code, never from archscope. To regenerate (needs
the package registry, not at test time):

    pip download torchvision==0.29.2 timm==1.0.31 --no-deps -d /tmp/wheels
    cd /tmp/wheels && for w in *.whl; do unzip -qo "$w" -d site; done
    PYTHONPATH=/tmp/wheels/site python tests/goldens/make_ecosystem_goldens.py

torchvision's wheel is a CUDA build: importing it fails only where it registers meta kernels for
its C++ ops (nms, roi_align), which the model definitions do not use, so that module is stubbed.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import torch

sys.modules["torchvision._meta_registrations"] = types.ModuleType("torchvision._meta_registrations")

import timm  # noqa: E402
import torchvision  # noqa: E402
from torchvision.models import googlenet, inception_v3  # noqa: E402

HERE = Path(__file__).parent

# golden name: (library, builder, input shape at batch 1)
MODELS = {
    "torchvision_googlenet_aux": ("torchvision", lambda: googlenet(aux_logits=True, init_weights=False), (1, 3, 224, 224)),
    "torchvision_googlenet": ("torchvision", lambda: googlenet(aux_logits=False, init_weights=False), (1, 3, 224, 224)),
    "torchvision_inception_v3_aux": (
        "torchvision", lambda: inception_v3(aux_logits=True, init_weights=False), (1, 3, 299, 299)),
    "torchvision_inception_v3": (
        "torchvision", lambda: inception_v3(aux_logits=False, init_weights=False), (1, 3, 299, 299)),
    "timm_inception_v4": ("timm", lambda: timm.create_model("inception_v4"), (1, 3, 299, 299)),
    "timm_inception_resnet_v2": ("timm", lambda: timm.create_model("inception_resnet_v2"), (1, 3, 299, 299)),
}


def shapes(value) -> list[list[int]]:
    leaves = torch.utils._pytree.tree_leaves(value)
    return [list(leaf.shape) for leaf in leaves if isinstance(leaf, torch.Tensor)]


def golden(library: str, build, input_shape: tuple[int, ...]) -> dict:
    torch.manual_seed(0)
    model = build().eval()
    outputs: dict[str, list] = {}
    paths = {module: path for path, module in model.named_modules()}

    def record(module, args, output) -> None:  # a hook that returned a value would replace the output
        outputs.setdefault(paths[module], shapes(output))

    handles = [module.register_forward_hook(record) for module in paths]
    with torch.no_grad():
        result = model(torch.rand(input_shape))
    for handle in handles:
        handle.remove()
    version = torchvision.__version__ if library == "torchvision" else timm.__version__
    return {
        "library": f"{library} {version}",
        "input": list(input_shape),
        "params": sum(p.numel() for p in model.parameters()),
        "state_dict": {key: list(value.shape) for key, value in model.state_dict().items()},
        "output": shapes(result),
        "module_outputs": outputs,  # first call of each module, eval mode
    }


def dumps(document: dict) -> str:
    """JSON with one line per state_dict key or module, so a diff shows each layer that changed."""
    def value(v) -> str:
        if not isinstance(v, dict):
            return json.dumps(v)
        return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(x)}" for k, x in v.items()) + "\n }"

    return "{\n" + ",\n".join(f" {json.dumps(k)}: {value(v)}" for k, v in document.items()) + "\n}\n"


def main() -> None:
    for name, (library, build, input_shape) in MODELS.items():
        document = golden(library, build, input_shape)
        (HERE / f"{name}.json").write_text(dumps(document))
        print(f"{name}: {document['params']:,} params, {len(document['state_dict'])} tensors")


if __name__ == "__main__":
    main()
