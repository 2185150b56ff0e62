"""Regression pins for a model's size and cost: one-number assertions, lock files and the pytest
fixture ``archscope_lock`` (``archscope.testing.pytest_plugin``, registered as a pytest11 plugin).

``expected`` is an exact count (``13_385_816``) or a figure as an article prints it (``"31.82 G"``,
``"13.4M"``), which admits every value that rounds to it (``archscope.claims.stated``).
"""

from __future__ import annotations

from archscope.errors import LockError, UsageError
from archscope.testing.lockfile import lock_document, lock_text, read_lock

__all__ = ["assert_mult_adds", "assert_params", "drift_of", "make_lock", "read_lock", "lock_text"]

DEFAULT_INPUT = (1, 3, 224, 224)  # of a module that is not a zoo entry, where no input is given


def input_for(model, input_size):
    """``input_size`` if given, else None for a zoo entry (its own input), else ``DEFAULT_INPUT``."""
    from archscope.loading import is_zoo_name

    return DEFAULT_INPUT if input_size is None and not is_zoo_name(model) else input_size


def make_lock(model, input_size=None, mode="eval", weights=None) -> dict:
    """The lock document of ``model`` (zoo name, MODEL spec, ``nn.Module`` or factory) at ``input_size``
    (default: the zoo entry's input), traced on meta in ``mode``; ``weights`` are checked against it."""
    from archscope.api import analyze, versions

    analysis = analyze(model, input_size, mode=mode, weights=weights)
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


def _expected(key: str, expected):
    """The interval a pinned figure admits; a value that is not a count is a UsageError, before any trace."""
    from archscope.claims.stated import count_interval

    try:
        return count_interval(expected)
    except ValueError as error:
        raise UsageError(f"expected {key}: {error}") from None


def _assert_figure(key: str, actual: int, expected, interval, label: str) -> None:
    from archscope.render.diff import pin_failure_text

    if actual not in interval:
        raise AssertionError(pin_failure_text(label, key, actual, expected, interval))


def assert_params(model, expected) -> None:
    """``model``'s parameters (unique tensors, trainable and frozen) are ``expected``; no forward runs.

    ``model``: a zoo name (built on meta), a MODEL spec, an ``nn.Module`` or a factory."""
    from archscope.loading import load_model
    from archscope.trace.tracer import module_infos
    from archscope.units import Device

    interval = _expected("params", expected)
    label, module, _ = load_model(model, Device.META)
    _assert_figure("params", module_infos(module)[1][0].params, expected, interval, label)


def assert_mult_adds(model, expected, input_size=None) -> None:
    """``model``'s mult-adds at ``input_size`` (default: a zoo entry's input, else ``DEFAULT_INPUT``) are
    ``expected``: one trace on meta, archscope's convention (conv, linear and matmul multiply-accumulates,
    bias excluded)."""
    from archscope.api import analyze

    interval = _expected("mult_adds", expected)
    analysis = analyze(model, input_for(model, input_size))
    _assert_figure("mult_adds", analysis.own_totals["mult_adds"], expected, interval, analysis.trace.model)
