"""Regression pins for a model's size and cost: one-number assertions, lock files and the pytest
fixture ``archscope_lock`` (``archscope.testing.pytest_plugin``, registered as a pytest11 plugin).

``expected`` is an exact count (``13_385_816``) or a figure as an article prints it (``"31.82 G"``,
``"13.4M"``), which admits every value that rounds to it (``archscope.claims.stated``).
"""

from __future__ import annotations

from archscope.errors import LockError, UsageError
from archscope.testing.lockfile import lock_document, lock_text, read_lock

__all__ = ["assert_mult_adds", "assert_params", "drift_of", "make_lock", "read_lock", "lock_text"]


def make_lock(model, input_size=None, mode="eval") -> dict:
    """The lock document of ``model`` (zoo name, MODEL spec, ``nn.Module`` or factory) at ``input_size``
    (default: the zoo entry's input), traced on meta in ``mode``."""
    from archscope.api import analyze, versions

    analysis = analyze(model, input_size, mode=mode)
    return lock_document(analysis, traceable=isinstance(model, str), versions=versions())


def drift_of(locked: dict, fresh: dict | None = None) -> tuple[dict, dict]:
    """(drift, fresh lock) of a lock document against ``fresh`` or, when None, a new trace of the model
    it names (``LockError`` when the lock is of a module object, which only its test can rebuild)."""
    from archscope.analysis.diff import lock_drift

    if fresh is None:
        if not locked["traceable"]:
            raise LockError(f"the lock of {locked['model']!r} was written for a module object (by the pytest "
                            "fixture archscope_lock); its test verifies it")
        fresh = make_lock(locked["model"], locked["input"], locked["mode"])
    return lock_drift(locked, fresh), fresh


def _assert_figure(key: str, actual: int, expected, label: str) -> None:
    from archscope.claims.stated import count_interval
    from archscope.render.diff import pin_failure_text

    try:
        interval = count_interval(expected)
    except ValueError as error:
        raise UsageError(f"expected {key}: {error}") from None
    if actual not in interval:
        raise AssertionError(pin_failure_text(label, key, actual, expected, interval))


def assert_params(model, expected) -> None:
    """``model``'s parameters (unique tensors, trainable and frozen) are ``expected``; no forward runs.

    ``model``: a zoo name (built on meta), a MODEL spec, an ``nn.Module`` or a factory."""
    from archscope.loading import load_model
    from archscope.trace.tracer import module_infos
    from archscope.units import Device

    label, module, _ = load_model(model, Device.META)
    _assert_figure("params", module_infos(module)[1][0].params, expected, label)


def assert_mult_adds(model, expected, input_size=None) -> None:
    """``model``'s mult-adds at ``input_size`` (default: the zoo entry's input) are ``expected``: one
    trace on meta, archscope's convention (conv, linear and matmul multiply-accumulates, bias excluded)."""
    from archscope.api import analyze

    analysis = analyze(model, input_size)
    _assert_figure("mult_adds", analysis.own_totals["mult_adds"], expected, analysis.trace.model)
