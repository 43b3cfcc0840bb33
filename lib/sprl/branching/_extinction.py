r"""Extinction: its probability, the smallest root of :math:`G(s) = s`, and the law of
the extinction time (book section 1.1.4)."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from .._checks import as_int
from ._generations import _horner
from ._offspring import _excess, _pmf, _tails

_EPS = np.finfo(float).eps


def extinction_probability(pmf):
    r"""Probability :math:`\alpha = \mathbb{P}(T_0 < \infty \mid Z_0 = 1)` that the line dies out.

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
    r"""Law of the extinction time :math:`T_0 = \inf\{n \ge 0 : Z_n = 0\}` from :math:`Z_0 = 1`.

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
