r"""Galton-Watson branching processes (book section 1.1.4, *Branching Processes*).

One individual (:math:`X_0 = 1`) is replaced by a random number :math:`Y` of
children, each of whom does the same independently:

.. math::

   X_{n+1} = \sum_{l=1}^{X_n} Y^{(n)}_l, \qquad Y^{(n)}_l \text{ i.i.d.} \sim Y.

An offspring law is given as a *pmf*: a 1-D array ``pmf[k] = P(Y = k)`` over
``k = 0, 1, 2, ...``.  With :math:`G(s) = \mathbb{E}[s^Y]`,
:math:`\mu = G'(1)` and :math:`\sigma^2 = \operatorname{Var} Y`,

.. math::

   G_n = G_{n-1} \circ G = G \circ G_{n-1}, \qquad
   \mathbb{E} X_n = \mu^n, \qquad
   \operatorname{Var} X_n = \sigma^2 \mu^{n-1} \frac{1 - \mu^n}{1 - \mu}
   \;(n\sigma^2 \text{ if } \mu = 1),

and the extinction probability is the smallest root of :math:`G(s) = s` in
:math:`[0, 1]`.

Numerics.  Near :math:`s = 1` the function :math:`G(s) - s` is the difference
of two nearly equal numbers.  This module works instead with the *tail
generating function*

.. math::

   T(s) = \sum_{j \ge 0} \mathbb{P}(Y > j)\, s^j = \frac{1 - G(s)}{1 - s},
   \qquad T(1) = \mu,

whose coefficients are sums of non-negative masses: :math:`G(s) = s` with
:math:`s < 1` becomes :math:`T(s) = 1`, with no cancellation, and
:math:`1 - G(s) = (1 - s)\,T(s)` keeps survival probabilities accurate when
they are tiny.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial.polynomial import polyval
from scipy import optimize, stats

from ._checks import as_int, as_int_array, as_pmf, as_probability, as_rng, check_size

__all__ = [
    "pgf",
    "generation_pgf",
    "mean_variance",
    "extinction_probability",
    "extinction_time_pmf",
    "survival_probability",
    "simulate_branching",
    "poisson_pmf",
    "geometric_pmf",
    "binomial_pmf",
]

_EPS = np.finfo(float).eps
#: Mass left beyond the truncation point of the Poisson and geometric builders.
_TAIL = 1e-18
#: Most generations :func:`generation_pgf` and :func:`survival_probability`
#: iterate (a critical law never reaches its fixed point in floating point, so
#: every generation costs a step).  Sub- and supercritical laws stop early, as
#: soon as the iterate stops changing.
MAX_GENERATIONS = 10**6


# --------------------------------------------------------------------------- checks


def _pmf(pmf) -> np.ndarray:
    """Validated pmf, rescaled so that its masses sum to 1 up to roundoff.

    Trailing zeros are dropped (but one entry is always kept).
    """
    p = as_pmf(pmf, "pmf")
    p = p / math.fsum(p)
    nz = np.flatnonzero(p)
    return p[: nz[-1] + 1]


def _tails(p: np.ndarray) -> np.ndarray:
    """``t[j] = P(Y > j)`` for ``j = 0 .. K-2``, as sums of masses (no subtraction)."""
    return np.cumsum(p[:0:-1])[::-1]


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


def _exact_terms(p: np.ndarray, weights: np.ndarray) -> list[float]:
    """Floats whose exact sum is ``sum_k weights[k] * p[k]`` (integer weights below 2**26).

    Each mass is split (Veltkamp) into a 26-bit head and a tail, so that both
    products with an integer weight below ``2**26`` are exact; ``math.fsum`` of
    the list is then the correctly rounded value of the sum.
    """
    if p.size < 2**26:
        c = p * 134217729.0  # 2**27 + 1
        head = c - (c - p)
        return list(np.concatenate((weights * head, weights * (p - head))))
    return list(weights * p)  # not a realistic offspring law; products rounded once each


def _excess(p: np.ndarray) -> float:
    r""":math:`\sum_k (k - 1)\,p_k`, correctly rounded for the float64 masses.

    Its sign is exactly the sign of :math:`\mu - 1` for the law :math:`p / \sum_k p_k`
    (it equals :math:`(\mu - 1)\sum_k p_k`), whatever the rounding of the masses'
    sum: it decides criticality.
    """
    return math.fsum(_exact_terms(p, np.arange(-1, p.size - 1, dtype=float)))


def _mean(p: np.ndarray) -> tuple[float, float, float]:
    r"""Mean ``mu``, ``mu - 1`` and ``log mu`` of the law ``p / sum(p)``.

    ``mu - 1`` is computed as :math:`\sum_k (k-1)p_k / \sum_k p_k` from exact
    products (:func:`_excess`), not as ``mu - 1``: near a critical law ``mu``
    itself is only known to 1e-16 *absolute*, while ``mu - 1`` keeps full relative
    accuracy (and its exact sign, even when the masses do not sum to exactly 1).
    """
    total = math.fsum(p)
    mu = math.fsum(_exact_terms(p, np.arange(p.size, dtype=float))) / total
    dmu = _excess(p) / total
    if mu == 0.0:
        log_mu = -math.inf
    elif dmu > -0.5:
        log_mu = math.log1p(dmu)
    else:
        log_mu = math.log(mu)
    return mu, dmu, log_mu


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
    r"""Generating function :math:`G_n(s) = \mathbb{E}[s^{X_n} \mid X_0 = 1]` of generation ``n``.

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
        ``generation_pgf(pmf, n, 0) = P(X_n = 0)``.

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
    r"""Probability :math:`\mathbb{P}(X_n > 0 \mid X_0 = 1) = 1 - G_n(0)`.

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
    r"""Mean and variance of generation ``n``, given :math:`X_0 = 1`.

    .. math::

       \mathbb{E} X_n = \mu^n, \qquad
       \operatorname{Var} X_n = \sigma^2 \mu^{n-1}\,\frac{1 - \mu^n}{1 - \mu}
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


# ------------------------------------------------------------------------------ extinction


def extinction_probability(pmf):
    r"""Probability :math:`\alpha = \mathbb{P}(T_0 < \infty \mid X_0 = 1)` that the line dies out.

    :math:`\alpha` is the smallest root of :math:`G(s) = s` in :math:`[0, 1]`:

    * :math:`\alpha = 0` when :math:`p_0 = 0` (nobody is ever childless;
      this includes the degenerate law "exactly one child", which never dies out);
    * :math:`\alpha = 1` exactly when :math:`\mu \le 1` and :math:`p_0 > 0`
      (critical and subcritical laws);
    * :math:`0 < \alpha < 1` when :math:`\mu > 1`, found by
      :func:`scipy.optimize.brentq`.

    Section 1.1.4, Theorem *extinction probability*.  Starting from ``k``
    individuals the extinction probability is :math:`\alpha^k`.

    Parameters
    ----------
    pmf : array_like, shape (K,)
        Offspring law.

    Returns
    -------
    float

    Notes
    -----
    *Criticality* is decided from the exact sign of
    :math:`\sum_k (k - 1)\,p_k = (\mu - 1)\sum_k p_k` for the float64 masses
    (every product is exact, summed by ``math.fsum``), so a law is treated as
    critical only when it is critical.  No tolerance on :math:`\mu - 1` would
    do: near criticality :math:`1 - \alpha \approx 2(\mu - 1)/\sigma^2`, so
    with a small variance a mean :math:`1 + 8 \times 10^{-16}` can give
    :math:`1 - \alpha = 8 \times 10^{-6}`.

    For :math:`s < 1`, :math:`G(s) = s` is equivalent to :math:`T(s) = 1` with
    the tail generating function :math:`T(s) = \sum_j \mathbb{P}(Y > j) s^j`
    (non-negative coefficients, :math:`T(0) = 1 - p_0`, :math:`T(1) = \mu`), so
    the root is bracketed in :math:`[0, 1]` when :math:`\mu > 1`.  Brent's
    method (relative tolerance 4 units of roundoff) is run

    * for a root :math:`\alpha \le 1/2`, on :math:`(s - G(s))/(1 - s)` (keeps
      tiny roots such as :math:`e^{-100}` accurate);
    * for a root :math:`\alpha > 1/2`, on :math:`u = 1 - s`, with

      .. math::

         T(1 - u) - 1 = (\mu - 1) - \sum_{j \ge 1} \mathbb{P}(Y > j)\,
         \bigl(1 - (1 - u)^j\bigr),

      :math:`\mu - 1` from exact products and every term of the sum positive
      (:math:`1 - (1-u)^j` by ``expm1``/``log1p``): :math:`1 - \alpha` comes out
      with a small *relative* error however close :math:`\alpha` is to 1, and
      :math:`\alpha = 1 - u` is correctly rounded up to a few units.  So a
      slightly supercritical float law can still return ``1.0``, when
      :math:`1 - \alpha` is below half a unit of roundoff: ``geometric_pmf(0.5)``
      has :math:`\mu - 1 = 5 \times 10^{-17}` after rounding of its masses and
      :math:`1 - \alpha \approx 5 \times 10^{-17}`.

    Examples
    --------
    >>> extinction_probability([0.25, 0.5, 0.25])     # critical
    1.0
    >>> extinction_probability([0.25, 0.25, 0.5])     # G(s) = s: roots 1/2 and 1
    0.5
    >>> extinction_probability([0.0, 1.0])            # one child, always
    0.0
    """
    p = _pmf(pmf)
    if p[0] == 0.0:
        return 0.0
    excess = _excess(p)  # (mu - 1) * sum(p), exact sign
    if excess <= 0.0:
        return 1.0
    tails = _tails(p)  # tails[j] = P(Y > j), sums of masses
    j = np.arange(1, tails.size, dtype=float)
    tj = tails[1:]

    def low(s):
        # (s - G(s)) / (1 - s) = T(s) - 1 for s <= 1/2 (T(0) = 1 - p0 would round).
        return (s - float(_horner(p, np.array(s)))) / (1.0 - s)

    def high(u):
        # (T(1 - u) - 1) * sum(p): excess minus a sum of positive terms.
        if u == 0.0:
            return excess
        return excess - math.fsum(tj * -np.expm1(j * math.log1p(-u)))

    opts = dict(xtol=np.finfo(float).tiny, rtol=4 * _EPS, maxiter=500)
    if high(0.5) < 0.0:  # high(0) = excess > 0: the root is above 1/2
        return 1.0 - float(optimize.brentq(high, 0.0, 0.5, **opts))
    if low(0.5) <= 0.0:  # both forms vanish at 1/2 to rounding
        return 0.5
    # low(0) = -p0 < 0 < low(1/2)
    return float(optimize.brentq(low, 0.0, 0.5, **opts))


def extinction_time_pmf(pmf, n_max):
    r"""Law of the extinction time :math:`T_0 = \inf\{n \ge 0 : X_n = 0\}` from :math:`X_0 = 1`.

    .. math::

       \mathbb{P}(T_0 = n) = G_n(0) - G_{n-1}(0) \quad (n \ge 1), \qquad
       \mathbb{P}(T_0 = 0) = 0.

    Section 1.1.4.  The entries sum to
    :math:`G_{n_{\max}}(0) = \mathbb{P}(T_0 \le n_{\max})`; the rest of the
    mass is :math:`\mathbb{P}(n_{\max} < T_0 < \infty) + 1 - \alpha`.

    Parameters
    ----------
    pmf : array_like, shape (K,)
        Offspring law.
    n_max : int
        Last generation, ``n_max >= 0``.

    Returns
    -------
    numpy.ndarray, shape (n_max + 1,)
        ``out[n] = P(T_0 = n)``.

    Notes
    -----
    The differences are not formed by subtraction (which would lose every
    digit once :math:`G_n(0)` has converged).  With :math:`a_n = G_n(0)` and
    :math:`d_n = a_n - a_{n-1}`,

    .. math::

       d_1 = p_0, \qquad
       d_n = G(a_{n-1}) - G(a_{n-2}) = d_{n-1} \sum_{k \ge 1} p_k\,
       a_{n-1}^{k-1}\,\frac{1 - r^k}{1 - r}, \quad r = \frac{a_{n-2}}{a_{n-1}},

    where :math:`1 - r = d_{n-1}/a_{n-1}` is known accurately and
    :math:`1 - r^k = -\operatorname{expm1}(k \operatorname{log1p}(-(1-r)))`:
    every term is positive, so each :math:`\mathbb{P}(T_0 = n)` has full
    relative accuracy, even in the far tail.

    Examples
    --------
    >>> extinction_time_pmf([0.5, 0.5], 3)  # geometric: (1/2)**n
    array([0.   , 0.5  , 0.25 , 0.125])
    """
    p = _pmf(pmf)
    n_max = as_int(n_max, "n_max", minimum=0)
    out = np.zeros(n_max + 1)
    if n_max == 0 or p[0] == 0.0:
        return out
    k = np.arange(1, p.size, dtype=float)
    pk = p[1:]
    out[1] = d = p[0]
    a = p[0]  # a_{n-1}; a_{n-2} = a - d
    for n in range(2, n_max + 1):
        if d == 0.0 or pk.size == 0:
            break
        x = d / a  # 1 - r, in (0, 1]
        log_r = math.log1p(-x) if x < 1.0 else -math.inf
        h = np.exp((k - 1) * math.log(a)) * -np.expm1(k * log_r) / x
        d = d * math.fsum(pk * h)
        out[n] = d
        a = float(_horner(p, np.array(a)))
    return out


# ------------------------------------------------------------------------------ simulation


def simulate_branching(pmf, n_generations, n_runs, rng=None, *, max_population=10**15):
    r"""Simulate ``n_runs`` independent branching processes from :math:`X_0 = 1`.

    Vectorised: the sum of :math:`X_n` i.i.d. offspring counts is
    :math:`\sum_k k\,N_k` with :math:`(N_0, N_1, \dots) \sim
    \operatorname{Multinomial}(X_n; p_0, p_1, \dots)`, one multinomial draw per
    run, all runs at once (``Generator.multinomial`` with an array of trial
    counts); the only Python loop is over generations.  Section 1.1.4.

    Parameters
    ----------
    pmf : array_like, shape (K,)
        Offspring law.
    n_generations : int
        Number of generations after the first, ``>= 0``.
    n_runs : int
        Number of independent runs, ``>= 1``.
    rng : None, int or numpy.random.Generator
        Source of randomness.
    max_population : int, keyword-only
        Cap against blow-up (default :math:`10^{15}`, below :math:`2^{53}` so
        every count is an exact float).  A run whose population exceeds it is
        no longer sampled: its later generations are advanced by their mean,
        :math:`X_{n+1} = \mu X_n`.  This drops the random fluctuation of
        :math:`X_{n+1}/X_n` around :math:`\mu`, whose standard deviation is
        :math:`\sigma/(\mu\sqrt{X_n}) \le 3.2 \times 10^{-8}\,\sigma/\mu` at the
        default cap: below :math:`10^{-7}` only when :math:`\sigma/\mu \le 3`
        (the law :math:`p_0 = 0.99`, :math:`p_{200} = 0.01`, with
        :math:`\mu = 2` and :math:`\sigma/\mu \approx 10`, gives
        :math:`3 \times 10^{-7}`).  The fluctuations dropped in all later
        generations add up to a relative standard deviation of
        :math:`\sigma/(\mu\sqrt{X_n}) \cdot (1 - 1/\mu)^{-1/2}` (they are
        independent and shrink by :math:`\mu^{-1/2}` per generation): a
        factor 1.4 more for :math:`\mu = 2`, 10 for :math:`\mu = 1.01`.  Such a
        run dies out with probability :math:`\alpha^{X_n} \approx 0`.  Values
        too large for float64 become ``inf``.

    Returns
    -------
    numpy.ndarray of float64, shape (n_runs, n_generations + 1)
        ``X[r, n]`` is the size of generation ``n`` of run ``r``; ``X[:, 0] = 1``.
        Counts are exact integers below ``max_population``.

    Examples
    --------
    >>> X = simulate_branching([0.25, 0.25, 0.5], 30, 2000, rng=0)
    >>> bool(abs((X[:, -1] == 0).mean() - 0.5) < 0.05)
    True
    """
    p = _pmf(pmf)
    n_generations = as_int(n_generations, "n_generations", minimum=0)
    n_runs = as_int(n_runs, "n_runs", minimum=1)
    max_population = as_int(max_population, "max_population", minimum=1, maximum=2**53)
    rng = as_rng(rng)
    k = np.arange(p.size, dtype=float)
    mu = _mean(p)[0]
    X = np.zeros((n_runs, n_generations + 1))
    X[:, 0] = 1.0
    for n in range(n_generations):
        cur = X[:, n]
        sampled = (cur > 0) & (cur <= max_population)
        big = cur > max_population
        nxt = np.zeros(n_runs)
        if sampled.any():
            counts = rng.multinomial(cur[sampled].astype(np.int64), p)
            nxt[sampled] = counts @ k
        with np.errstate(over="ignore"):
            nxt[big] = cur[big] * mu
        X[:, n + 1] = nxt
    return X


# -------------------------------------------------------------------------- offspring laws


def _truncate(pmf_head: np.ndarray, tail_mass: float) -> np.ndarray:
    out = pmf_head.astype(float).copy()
    out[-1] += tail_mass
    return out


def poisson_pmf(lam, kmax=None):
    r"""Poisson(:math:`\lambda`) offspring law on ``0 .. kmax``.

    :math:`p_k = e^{-\lambda}\lambda^k/k!`; the mass
    :math:`\mathbb{P}(Y > k_{\max})` is added to the last entry so that the
    result is a law.  With ``kmax=None`` the support is cut where that tail
    falls below :math:`10^{-18}` (so the change is below float64 resolution).
    Generating function :math:`G(s) = e^{\lambda(s - 1)}`; the extinction
    probability is :math:`\alpha = -W_0(-\lambda e^{-\lambda})/\lambda` for
    :math:`\lambda > 1` (Lambert :math:`W`) and 1 otherwise.

    Parameters
    ----------
    lam : float
        Mean, ``lam >= 0``.
    kmax : int, optional
        Largest number of children kept.

    Returns
    -------
    numpy.ndarray, shape (kmax + 1,)
    """
    try:
        lam = float(lam)
    except (TypeError, ValueError):
        raise ValueError(f"lam must be a number >= 0, got {lam!r}") from None
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    if kmax is None:
        # sf(k) < 1e-18 well before lam + 12 sqrt(lam) + 60 (Chernoff bound).
        check_size(lam + 12.0 * math.sqrt(lam) + 60.0, "lam", what="support points")
        ks = np.arange(int(lam + 12.0 * math.sqrt(lam) + 60.0))
        kmax = int(np.argmax(stats.poisson.sf(ks, lam) < _TAIL)) if lam > 0 else 0
    kmax = as_int(kmax, "kmax", minimum=0)
    check_size(kmax + 1, "kmax", what="support points")
    k = np.arange(kmax + 1)
    if lam == 0:
        return (k == 0).astype(float)
    tail = float(stats.poisson.sf(kmax, lam))
    head = stats.poisson.pmf(k, lam)
    # For large lam each mass carries a relative error ~ k log(lam) eps: rescale
    # the head to its exact total 1 - tail.
    head = head * ((1.0 - tail) / math.fsum(head))
    return _truncate(head, tail)


def geometric_pmf(p, kmax=None):
    r"""Geometric offspring law :math:`p_k = p\,(1 - p)^k` on ``0 .. kmax``.

    Mean :math:`(1-p)/p`, generating function :math:`G(s) = p/(1 - (1-p)s)`;
    :math:`G(s) = s` has the roots 1 and :math:`p/(1-p)`, so the extinction
    probability is :math:`\min(1, p/(1-p))`.  The tail
    :math:`(1-p)^{k_{\max}+1}` is added to the last entry; with ``kmax=None``
    the support is cut where it falls below :math:`10^{-18}`.

    Parameters
    ----------
    p : float
        Probability of no child, ``0 < p <= 1``.
    kmax : int, optional
        Largest number of children kept.

    Returns
    -------
    numpy.ndarray, shape (kmax + 1,)
    """
    try:
        p = float(p)
    except (TypeError, ValueError):
        raise ValueError(f"p must be a number in (0, 1], got {p!r}") from None
    if not (0.0 < p <= 1.0):
        raise ValueError(f"p must lie in (0, 1], got {p!r}")
    log_q = math.log1p(-p) if p < 1.0 else -math.inf
    if kmax is None:
        # (1 - p)**(kmax + 1) < 1e-18; a float, which is inf for a subnormal p
        support = 1.0 if p == 1.0 else math.log(_TAIL) / log_q
        check_size(support, "p (too small: the support to cut at 1e-18)",
                   what="support points")
        kmax = max(0, math.ceil(support) - 1)
    kmax = as_int(kmax, "kmax", minimum=0)
    check_size(kmax + 1, "kmax", what="support points")
    k = np.arange(kmax + 1)
    head = p * np.exp(k * log_q) if p < 1.0 else (k == 0).astype(float)
    tail = math.exp((kmax + 1) * log_q) if p < 1.0 else 0.0
    return _truncate(head, tail)


def binomial_pmf(m, p):
    r"""Binomial(:math:`m, p`) offspring law on ``0 .. m`` (:math:`\mu = mp`).

    Parameters
    ----------
    m : int
        Most children, ``m >= 0``.
    p : float
        Probability of each potential child, in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray, shape (m + 1,)
    """
    m = as_int(m, "m", minimum=0)
    p = float(as_probability(p, "p"))
    check_size(m + 1, "m", what="support points")
    return stats.binom.pmf(np.arange(m + 1), m, p)
