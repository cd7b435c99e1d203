"""Comparison helpers for notebook tests, with hints that name the likely mistake.

These are the only comparison helpers that the notebooks use. Each one raises an
``AssertionError`` whose message says what was expected, what came, and, where the
difference has a recognisable shape, what is most likely wrong::

    >>> assert_close(np.zeros((3, 3)), np.zeros((4, 4)), "feature_map")
    AssertionError: feature_map: expected shape (4, 4), got (3, 3): output size is
    (n + 2p - k) / s + 1 ...

They never print and never write to stderr (nbgrader scores any stderr output in a
test cell as a failure), and they accept NumPy arrays, torch tensors (on any
device, with or without grad), lists and plain numbers.
"""

from __future__ import annotations

import numbers

import numpy as np

from .i18n import N_, _, hint_suffix

__all__ = [
    "assert_close",
    "assert_equal",
    "assert_shape",
    "assert_dtype",
    "assert_true",
    "assert_does_not_use",
    "assert_typed",
    "make",
    "rel_error",
    "to_numpy",
]

OUTPUT_SIZE_HINT = N_("output size is (n + 2p - k) / s + 1 (rounded down)")


def to_numpy(value, name: str = "value") -> np.ndarray:
    """Convert a tensor, array, list or number to an ndarray, or fail with a clear message."""
    if value is None:
        raise AssertionError(
            _("{name}: got None; did your function forget to `return` its result?").format(name=name)
        )
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # torch.Tensor, any device
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    if isinstance(value, (str, bytes, dict, set)) or callable(value):
        raise AssertionError(
            _("{name}: expected numbers (a NumPy array, a torch tensor or a number); got {kind}").format(
                name=name, kind=type(value).__name__)
            + (_(" (did you return the function instead of calling it?)") if callable(value) else "")
        )
    try:
        arr = np.asarray(value)
    except Exception:  # ragged nested lists
        raise AssertionError(
            _("{name}: could not read {kind} as an array of numbers (rows of different lengths?)").format(
                name=name, kind=type(value).__name__)
        ) from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise AssertionError(
            _("{name}: expected an array of numbers; got {kind} with dtype {dtype}").format(
                name=name, kind=type(value).__name__, dtype=arr.dtype)
        )
    return arr


def rel_error(x, y) -> float:
    """CS231n's relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    x = np.asarray(to_numpy(x), dtype=np.float64)
    y = np.asarray(to_numpy(y), dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _fmt(value) -> str:
    if isinstance(value, (np.floating, float)):
        return f"{float(value):.6g}"
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _shape_hint(actual: tuple, expected: tuple) -> str:
    """Name the likely cause of a shape mismatch."""
    if len(actual) == len(expected) and sorted(actual) == sorted(expected):
        return _(
            "the same axes in another order: check channels-first (C, H, W) as torch uses "
            "vs channels-last (H, W, C) as matplotlib uses; use .permute / np.transpose"
        )
    squeeze_a = tuple(d for d in actual if d != 1)
    squeeze_e = tuple(d for d in expected if d != 1)
    if squeeze_a == squeeze_e:
        return _(
            "the same numbers with an axis of size 1 added or missing: keep the channel "
            "axis, e.g. (1, H, W) for one channel (x[None] or x.unsqueeze(0) adds it)"
        )
    if len(actual) == len(expected) and len(actual) >= 2 and actual[:-2] == expected[:-2]:
        return _(OUTPUT_SIZE_HINT)
    if len(actual) == len(expected) and len(actual) >= 3 and actual[-2:] == expected[-2:]:
        return _("the spatial size is right but the number of channels/filters is not")
    return _("check the axes: shapes are (channels, height, width) here")


def _value_hint(actual: np.ndarray, expected: np.ndarray, close) -> str | None:
    """Recognise a few classic mistakes from the relation between actual and expected."""
    if not np.all(np.isfinite(actual)):
        return _("the result contains NaN or inf (a division by zero, or a square root of a negative?)")
    if np.any(expected != 0):
        if close(actual, expected * 255):
            return _("values are 255 times too large: divide by 255 to map 0-255 to 0-1")
        if close(actual, expected / 255):
            return _("values are 255 times too small: the expected values are still in 0-255")
        if close(actual, -expected):
            return _("every value has the wrong sign")
    if actual.ndim >= 2:
        if actual.shape[-1] == actual.shape[-2] and close(actual, np.swapaxes(expected, -1, -2)):
            return _("rows and columns are swapped (a transpose)")
        if close(actual, expected[..., ::-1, ::-1]):
            return _("the result is rotated by 180 degrees (flipped in both directions)")
    if actual.ndim >= 1 and actual.shape[0] > 1 and close(actual, expected[::-1]):
        return _("the order along the first axis is reversed (RGB vs BGR?)")
    if expected.size > 1 and np.ptp(expected) > 0 and np.ptp(actual) == 0:
        return _("every value is the same: did you reduce over the wrong axes, or overwrite the result?")
    return None


def assert_shape(actual, expected_shape, name: str = "value", hint: str | None = None) -> None:
    """Assert that ``actual`` has ``expected_shape`` (a tuple of ints)."""
    arr = to_numpy(actual, name)
    expected_shape = tuple(int(d) for d in expected_shape)
    if arr.shape != expected_shape:
        why = hint or _shape_hint(arr.shape, expected_shape)
        raise AssertionError(_("{name}: expected shape {expected}, got {actual}: {why}").format(
            name=name, expected=expected_shape, actual=arr.shape, why=why))


def assert_dtype(actual, kind: str, name: str = "value", hint: str | None = None) -> None:
    """Assert the kind of numbers: ``"float"``, ``"int"`` (signed or unsigned), ``"uint8"``, ``"bool"``."""
    arr = to_numpy(actual, name)
    dt = arr.dtype
    ok = {
        "float": np.issubdtype(dt, np.floating),
        "int": np.issubdtype(dt, np.integer),
        "uint8": dt == np.uint8,
        "bool": dt == np.bool_,
    }
    if kind not in ok:
        raise ValueError(f"kind must be one of {sorted(ok)}; got {kind!r}")
    if not ok[kind]:
        why = hint
        if why is None and kind == "float" and np.issubdtype(dt, np.integer):
            why = _("integer values cannot hold 0-1 fractions: convert with .float() or .astype(np.float32)")
        elif why is None and kind == "uint8":
            why = _("images stored as bytes use uint8 (0-255)")
        raise AssertionError(
            _("{name}: expected {kind} values, got dtype {dtype}").format(name=name, kind=kind, dtype=dt)
            + (f": {why}" if why else "")
        )


def assert_close(
    actual,
    expected,
    name: str = "value",
    rtol: float = 1e-6,
    atol: float = 1e-6,
    hint: str | None = None,
) -> None:
    """Assert ``actual`` equals ``expected`` within ``|a - e| <= atol + rtol * |e|``.

    Checks, in order: a value came back (not None), it is numeric, the shape matches
    (with a hint on the likely cause), and the values match (first wrong element with
    its index, how many differ, and a hint when the difference has a known shape).
    ``hint`` is added to every failure message, e.g. the notebook's own explanation.
    """
    arr = to_numpy(actual, name)
    exp = to_numpy(expected, "expected")
    extra = hint_suffix(hint)
    if arr.shape != exp.shape:
        raise AssertionError(
            _("{name}: expected shape {expected}, got {actual}: {why}").format(
                name=name, expected=exp.shape, actual=arr.shape, why=_shape_hint(arr.shape, exp.shape))
            + "." + extra
        )
    a = arr.astype(np.float64) if arr.dtype != np.float64 else arr
    e = exp.astype(np.float64) if exp.dtype != np.float64 else exp

    def close(x, y):
        with np.errstate(all="ignore"):
            return bool(np.all(np.abs(x - y) <= atol + rtol * np.abs(y)))

    with np.errstate(all="ignore"):
        bad = ~(np.abs(a - e) <= atol + rtol * np.abs(e))
    if not bad.any():
        return
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    where = _(" at index {index}").format(index=idx) if arr.ndim else ""
    n_bad = int(bad.sum())
    guess = _value_hint(a, e, close)
    msg = _("{name}: first wrong value{where}: expected {expected}, got {actual}").format(
        name=name, where=where, expected=_fmt(e[idx]), actual=_fmt(a[idx]))
    msg += " (" + _("{bad} of {size} values differ").format(bad=n_bad, size=a.size)
    if a.size > 1:
        with np.errstate(all="ignore"):
            msg += _(", largest difference {diff}").format(diff=_fmt(np.nanmax(np.abs(a - e))))
    msg += ")"
    if guess:
        msg += f": {guess}"
    raise AssertionError(msg + "." + extra)


def assert_equal(actual, expected, name: str = "value", hint: str | None = None) -> None:
    """Exact equality for ints, strings, tuples, lists of those, and arrays.

    Arrays (and numbers) are compared with :func:`assert_close` at zero tolerance so
    the message names the first wrong element; anything else with ``==``.
    """
    numeric = isinstance(expected, numbers.Number) or hasattr(expected, "shape") or (
        isinstance(expected, list) and expected and isinstance(expected[0], (list, numbers.Number))
    )
    if numeric and not isinstance(expected, bool):
        assert_close(actual, expected, name, rtol=0, atol=0, hint=hint)
        return
    if actual is None and expected is not None:
        raise AssertionError(_("{name}: got None; did you forget to `return` (or assign) it?").format(name=name))
    if actual != expected:
        msg = _("{name}: expected {expected}, got {actual}").format(
            name=name, expected=repr(expected), actual=repr(actual))
        if type(actual) is not type(expected):
            msg += _(" (a {actual}, expected a {expected})").format(
                actual=type(actual).__name__, expected=type(expected).__name__)
        raise AssertionError(msg + ("." + hint_suffix(hint) if hint else ""))


def assert_true(condition, message: str) -> None:
    """``assert condition, message`` that survives ``python -O``."""
    if not condition:
        raise AssertionError(message)


def make(factory, *args, **kwargs):
    """``factory(*args, **kwargs)``: build an object a test passes to your code (a model, an optimizer).

    In your notebook this is just the call. When the course grades your notebook, its tests run
    outside your kernel, and ``make`` builds the object inside your kernel instead, where your
    own classes (your ``Net``) live.
    """
    return factory(*args, **kwargs)


from .shortcuts import assert_does_not_use, assert_typed  # noqa: E402 (re-exported: one import line in notebooks)
