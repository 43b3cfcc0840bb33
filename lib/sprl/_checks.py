"""Input checks shared by every module of :mod:`sprl`.

Each check raises a :class:`ValueError` whose message names the offending
parameter and the rule it broke, so that bad input never turns into a silent
``nan`` or a wrong number further down.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "as_probability",
    "as_int",
    "as_int_array",
    "as_rng",
    "as_pmf",
    "as_finite_array",
    "as_open_probability",
    "as_discount",
    "float_or_array",
    "as_float",
    "as_positive",
    "broadcast",
    "check_size",
    "MAX_ARRAY_SIZE",
]

#: Most entries one exact computation may allocate (10**8 float64 = 800 MB):
#: beyond it a function refuses with a ValueError instead of a MemoryError.
MAX_ARRAY_SIZE = 10**8


def reject_text(value, name: str, rule: str) -> None:
    """Refuse strings and bytes: ``np.asarray("0.5", dtype=float)`` would parse them."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be {rule}, got the text {value!r}")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return  # ragged input: the caller's own conversion reports it
    if arr.dtype.kind in "US" or (
        arr.dtype.kind == "O" and any(isinstance(v, (str, bytes)) for v in arr.flat)
    ):
        raise ValueError(f"{name} must be {rule}, got the text {value!r}")


def check_size(size: int, name: str, *, limit: int = MAX_ARRAY_SIZE, what: str = "entries"):
    """Refuse a computation whose ``size`` (entries, steps, ...) exceeds ``limit``.

    The message names the parameter that sets the size, so that a call such
    as ``transition_matrix(10**7, 0.5)`` fails at once and says why, instead of
    asking numpy for terabytes.
    """
    if size > limit:
        raise ValueError(
            f"{name} is too large: the computation would need {size:.3g} {what}, "
            f"more than the limit of {limit:.3g}"
        )


def broadcast(**arrays):
    """``numpy.broadcast_arrays`` of the keyword arguments, in order, with a
    ``ValueError`` that names them when their shapes do not broadcast."""
    try:
        return np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k} has shape {np.shape(v)}" for k, v in arrays.items())
        names = " and ".join(arrays)
        raise ValueError(f"{names} must broadcast to one shape: {shapes}") from None


def as_probability(value, name: str = "p") -> np.ndarray:
    """Return ``value`` as a float array after checking ``0 <= value <= 1``.

    ``nan`` and non-numeric input (strings included) are rejected as well.
    """
    reject_text(value, name, "a number in [0, 1]")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if np.isnan(arr).any():
        raise ValueError(f"{name} must be a number in [0, 1], got nan")
    if ((arr < 0) | (arr > 1)).any():
        bad = arr[(arr < 0) | (arr > 1)].flat[0]
        raise ValueError(f"{name} must lie in [0, 1], got {bad!r}")
    return arr


def as_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python ``int`` after checking it is integral and in range.

    Floats with an integral value (``20.0``) are accepted; ``20.5``, ``True``,
    strings and ``nan`` are not.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        out = int(value)
    elif isinstance(value, numbers.Real) and np.isfinite(value) and float(value).is_integer():
        out = int(value)
    else:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and out < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {out}")
    if maximum is not None and out > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {out}")
    return out


def as_int_array(value, name: str, *, minimum=None, maximum=None) -> np.ndarray:
    """Array version of :func:`as_int`: integral entries within ``[minimum, maximum]``."""
    reject_text(value, name, "an integer or an array of integers")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an integer or an array of integers") from None
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name} must be an integer or an array of integers, got {value!r}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise ValueError(f"{name} must hold integers, got {value!r}")
    arr = arr.astype(np.int64)
    if minimum is not None and (arr < minimum).any():
        raise ValueError(f"{name} must be >= {minimum}, got {arr[arr < minimum].flat[0]}")
    if maximum is not None and (arr > maximum).any():
        raise ValueError(f"{name} must be <= {maximum}, got {arr[arr > maximum].flat[0]}")
    return arr


def as_rng(rng) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from ``None``, a seed or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be None, an integer seed or a numpy Generator, got {rng!r}")


def as_pmf(pmf, name: str = "pmf", *, atol: float = 1e-12) -> np.ndarray:
    """Check a probability mass function over 0, 1, 2, ...: a 1-D array of
    non-negative, finite masses that sum to 1 within ``atol``."""
    reject_text(pmf, name, "a 1-D array of probabilities")
    try:
        arr = np.asarray(pmf, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a 1-D array of probabilities") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must hold finite numbers (no nan or inf)")
    if (arr < 0).any():
        raise ValueError(f"{name} must not have negative mass, got {arr[arr < 0][0]!r}")
    total = arr.sum()
    if abs(total - 1.0) > atol:
        raise ValueError(f"{name} must sum to 1 (within {atol:g}), sums to {total!r}")
    return arr


def as_finite_array(value, name: str) -> np.ndarray:
    """Return ``value`` as a float array after checking every entry is finite."""
    reject_text(value, name, "an array of numbers")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers") from None
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must hold finite numbers (no nan or inf)")
    return arr


def as_open_probability(value, name: str = "p") -> np.ndarray:
    """:func:`as_probability` with ``0 < value < 1`` strictly (both outcomes possible)."""
    arr = as_probability(value, name)
    if ((arr == 0) | (arr == 1)).any():
        bad = arr[(arr == 0) | (arr == 1)].flat[0]
        raise ValueError(f"{name} must lie in (0, 1) (strictly), got {bad!r}")
    return arr


def as_discount(value, name: str = "gamma") -> float:
    """A single discount factor in ``[0, 1]``, as a Python float."""
    arr = as_probability(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single number in [0, 1], got shape {arr.shape}")
    return float(arr)


def float_or_array(a):
    """A function's result: a Python float when it is 0-d, a float array otherwise."""
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else a


def as_float(value, name: str, rule: str) -> float:
    """A single number as a Python float; text, and what ``float`` refuses, raise a
    ``ValueError`` saying that ``name`` must be ``rule``.  Its range is the caller's check."""
    reject_text(value, name, rule)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {rule}, got {value!r}") from None


def as_positive(value, name: str) -> float:
    """A single finite number ``> 0`` (a rate, a time, a step size, a temperature) as a
    Python float; booleans, text and arrays are refused with a ``ValueError``."""
    if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    out = as_float(value, name, "a finite number > 0")
    if not np.isfinite(out) or out <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return out
