r"""The generations :math:`Z_n`: their generating function :math:`G_n = G^{\circ n}`,
survival probability, mean and variance (book section 1.1.4)."""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial.polynomial import polyval

from .._checks import as_int, as_int_array
from ._offspring import _mean, _pmf, _tails

#: Most generations :func:`generation_pgf` and :func:`survival_probability`
#: iterate (a critical law never reaches its fixed point in floating point, so
#: every generation costs a step).  Sub- and supercritical laws stop early, as
#: soon as the iterate stops changing.
MAX_GENERATIONS = 10**6


def _as_s(s) -> np.ndarray:
    try:
        s = np.asarray(s, dtype=float)
    except (TypeError, ValueError):
        msg = f"s must be a number or an array of numbers in [-1, 1], got {s!r}"
        raise ValueError(msg) from None
    if np.isnan(s).any():
        raise ValueError("s must lie in [-1, 1], got nan")
    if (np.abs(s) > 1).any():
        raise ValueError(f"s must lie in [-1, 1], got {s[np.abs(s) > 1].flat[0]!r}")
    return s


def _horner(coef: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``sum_k coef[k] s**k`` (numpy's ``polyval``: Horner's rule, vectorised over ``s``)."""
    return np.asarray(polyval(s, coef), dtype=float)


def _iterate(coef: np.ndarray, s: np.ndarray, n: int) -> np.ndarray:
    """``n`` Horner compositions ``s -> sum_k coef[k] s**k``, stopping early once the
    iterate is a floating-point fixed point (every later one is then the same)."""
    if s.size == 1:  # the common scalar case: Python floats are ~20x faster here
        backwards, x = coef[::-1].tolist(), float(s.flat[0])
        for _ in range(n):
            y = 0.0
            for c in backwards:
                y = y * x + c
            if y == x:
                break
            x = y
        return np.full(s.shape, x)
    for _ in range(n):
        new = _horner(coef, s)
        if np.array_equal(new, s):
            break
        s = new
    return s



# ----------------------------------------------------------------------- generating functions


def pgf(pmf, s):
    r"""Probability generating function :math:`G(s) = \mathbb{E}[s^Y] = \sum_k p_k s^k`.

    Section 1.1.4.

    Parameters
    ----------
    pmf : array_like, shape (K,)
        Offspring law, ``pmf[k] = P(Y = k)``: non-negative, summing to 1
        within ``1e-12`` (it is rescaled to sum to 1).
    s : float or array_like
        Points in :math:`[-1, 1]`.

    Returns
    -------
    float or numpy.ndarray
        :math:`G(s)`, shaped like ``s``.

    Examples
    --------
    >>> float(pgf([0.25, 0.5, 0.25], 0.5))  # ((1 + s)/2)**2 at s = 1/2
    0.5625
    """
    p = _pmf(pmf)
    s = _as_s(s)
    out = _horner(p, s)
    return out[()] if out.ndim == 0 else out


def generation_pgf(pmf, n, s):
    r"""Generating function :math:`G_n(s) = \mathbb{E}[s^{Z_n} \mid Z_0 = 1]` of generation ``n``.

    .. math::

       G_0(s) = s, \qquad G_n(s) = G_{n-1}(G(s)) = G(G_{n-1}(s)),

    so :math:`G_n` is the ``n``-fold composition of :math:`G`.  Section 1.1.4.

    Parameters
    ----------
    pmf : array_like, shape (K,)
        Offspring law.
    n : int
        Generation, ``0 <= n <= MAX_GENERATIONS``.
    s : float or array_like
        Points in :math:`[-1, 1]`.

    Returns
    -------
    float or numpy.ndarray
        :math:`G_n(s)`, shaped like ``s``.  In particular
        ``generation_pgf(pmf, n, 0) = P(Z_n = 0)``.

    Examples
    --------
    >>> float(generation_pgf([0.5, 0.0, 0.5], 2, 0.0))  # 1/2 + (1/2)(1/2)**2
    0.625
    """
    p = _pmf(pmf)
    n = as_int(n, "n", minimum=0, maximum=MAX_GENERATIONS)
    out = _iterate(p, _as_s(s).copy(), n)
    return out[()] if out.ndim == 0 else out


def survival_probability(pmf, n):
    r"""Probability :math:`\mathbb{P}(Z_n > 0 \mid Z_0 = 1) = 1 - G_n(0)`.

    Computed without forming :math:`1 - G_n(0)`: with :math:`c_n = 1 - G_n(0)`,
    :math:`c_0 = 1` and :math:`c_n = c_{n-1}\,T(1 - c_{n-1})`, where :math:`T` is
    the tail generating function (module docstring).  So a subcritical
    survival probability of :math:`10^{-200}` keeps its relative accuracy.
    Section 1.1.4.

    Parameters
    ----------
    pmf : array_like, shape (K,)
        Offspring law.
    n : int or array_like of int
        Generation(s), ``0 <= n <= MAX_GENERATIONS``.

    Returns
    -------
    float or numpy.ndarray
        Shaped like ``n``.

    Examples
    --------
    >>> round(float(survival_probability([0.5, 0.5], 10)), 12)  # (1/2)**10
    0.0009765625
    """
    p = _pmf(pmf)
    n_arr = np.asarray(n)
    if n_arr.ndim == 0:
        n_max = as_int(n, "n", minimum=0, maximum=MAX_GENERATIONS)
        idx = np.array(n_max)
    else:
        idx = as_int_array(n, "n", minimum=0, maximum=MAX_GENERATIONS)
        n_max = int(idx.max()) if idx.size else 0
    backwards = _tails(p)[::-1].tolist()
    c = np.empty(n_max + 1)
    c[0] = 1.0
    for k in range(1, n_max + 1):
        prev, t = c[k - 1], 0.0
        for coef in backwards:  # T(1 - prev) by Horner's rule, in Python floats
            t = t * (1.0 - prev) + coef
        c[k] = prev * t
        if c[k] == prev:  # a floating-point fixed point: every later c is the same
            c[k:] = prev
            break
    out = c[idx]
    return out[()] if out.ndim == 0 else out


# --------------------------------------------------------------------------------- moments


def mean_variance(pmf, n):
    r"""Mean and variance of generation ``n``, given :math:`Z_0 = 1`.

    .. math::

       \mathbb{E} Z_n = \mu^n, \qquad
       \operatorname{Var} Z_n = \sigma^2 \mu^{n-1}\,\frac{1 - \mu^n}{1 - \mu}
       = \sigma^2 \mu^{n-1} \sum_{j=0}^{n-1} \mu^j,

    (:math:`n \sigma^2` when :math:`\mu = 1`), the solution of the
    law-of-total-variance recursion
    :math:`\sigma_n^2 = \mu^2 \sigma_{n-1}^2 + \mu^{n-1}\sigma^2`.
    Section 1.1.4, Theorem *mean and variance of generation n*.

    Parameters
    ----------
    pmf : array_like, shape (K,)
        Offspring law.
    n : int or array_like of int
        Generation(s), ``0 <= n <= MAX_GENERATIONS``.

    Returns
    -------
    mean, variance : float or numpy.ndarray
        Shaped like ``n``.  Values too large for float64 are ``inf``.

    Notes
    -----
    With :math:`x = \log\mu` (computed as ``log1p(mu - 1)`` from a correctly
    rounded :math:`\mu - 1`, so accurate for :math:`\mu` near 1) the geometric sum is
    :math:`\operatorname{expm1}(nx)/\operatorname{expm1}(x)`, which has full
    relative accuracy as :math:`\mu \to 1` and no :math:`0/0`; for
    :math:`\mu > 1` the variance is assembled in logarithms so that it
    overflows only when the true value does.

    Examples
    --------
    >>> mean_variance([0.25, 0.5, 0.25], 10)  # critical: mean 1, variance n sigma^2
    (1.0, 5.0)
    """
    p = _pmf(pmf)
    n = as_int_array(n, "n", minimum=0)
    k = np.arange(p.size)
    mu, _, x = _mean(p)
    sigma2 = math.fsum(p * (k - mu) ** 2)
    nf = n.astype(float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if mu == 0.0:
            mean = (n == 0).astype(float)
        else:
            mean = np.exp(nf * x)
        if sigma2 == 0.0:
            var = np.zeros_like(nf)
        elif x == 0.0:
            var = sigma2 * nf
        elif x < 0.0:
            ratio = np.expm1(nf * x) / math.expm1(x)  # sum_{j<n} mu^j, no cancellation
            var = sigma2 * np.exp((nf - 1.0) * x) * ratio
            var = np.where(n == 0, 0.0, var)
        else:
            # log of expm1(n x) without overflow: n x + log1p(-exp(-n x)).
            log_num = np.where(nf * x > 1.0, nf * x + np.log1p(-np.exp(-nf * x)),
                               np.log(np.expm1(np.minimum(nf * x, 1.0))))
            log_var = math.log(sigma2) + (nf - 1.0) * x + log_num - math.log(math.expm1(x))
            var = np.where(n == 0, 0.0, np.exp(log_var))
    mean = np.asarray(mean, dtype=float)
    var = np.asarray(var, dtype=float)
    if mean.ndim == 0:
        return float(mean), float(var)
    return mean, var
