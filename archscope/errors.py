"""The exceptions archscope raises; the CLI turns each into one line on stderr and exit status 2."""

from __future__ import annotations


class ArchscopeError(Exception):
    """Base of every error the CLI reports as a one-line message."""


class UsageError(ArchscopeError, ValueError):
    """A bad argument: a malformed shape, an unknown option value, an unknown model name."""


class ModelSpecError(ArchscopeError):
    """A MODEL spec that does not import, or whose callable does not give an ``nn.Module``."""


class ForwardError(ArchscopeError):
    """The model's forward raised; names the innermost layer running and the shapes it received."""

    def __init__(self, path: str, type_name: str, input_shapes: list, reason: str) -> None:
        self.path = path
        self.type_name = type_name
        self.input_shapes = input_shapes
        self.reason = reason
        where = f"{path} ({type_name})" if path else type_name
        shapes = ", ".join(str(list(s)) for s in input_shapes) or "no tensor"
        super().__init__(f"forward failed in {where} on input {shapes}: {reason}")


class LockError(ArchscopeError):
    """A lock file that cannot be read, is not JSON, or is not an archscope lock."""
