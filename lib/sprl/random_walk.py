r"""Bernoulli random walks (book section 1.1.2, *Random Walks*).

The steps :math:`X_1, X_2, \dots` are independent with
:math:`\mathbb{P}(X_i = +1) = p` and :math:`\mathbb{P}(X_i = -1) = q = 1 - p`,
and :math:`S_n = S_0 + X_1 + \dots + X_n` with :math:`S_0 = 0` unless said
otherwise.  The first return time to the origin is
:math:`T_0^r = \inf\{n \ge 1 : S_n = 0\}`.  With

.. math::

   h(n) = \mathbb{P}(S_n = 0 \mid S_0 = 0), \qquad
   g(n) = \mathbb{P}(T_0^r = n \mid S_0 = 0),

the generating functions are
:math:`H(s) = \sum_n h(n) s^n = (1 - 4pqs^2)^{-1/2}` and
:math:`G(s) = \sum_n g(n) s^n = 1 - \sqrt{1 - 4pqs^2}`, so that
:math:`\mathbb{P}(T_0^r < \infty) = G(1) = 1 - |p - q|` and

.. math::

   g(2k) = \frac{1}{2k - 1}\binom{2k}{k}(pq)^k, \qquad
   h(2k) = \binom{2k}{k}(pq)^k.

Everything is evaluated without overflow or cancellation: binomial
coefficients through :math:`u_k = \binom{2k}{k}4^{-k}` (a table for small
:math:`k`, an asymptotic series beyond), :math:`\log(4pq)` as
:math:`\operatorname{log1p}(-(p - q)^2)` for :math:`1/4 \le p \le 3/4` and as
:math:`\log 4 + \log p + \operatorname{log1p}(-p)` (mirrored for
:math:`p > 3/4`) outside, and :math:`1 - 4pqs^2` as the sum of non-negative
terms :math:`(p - q)^2 + 4pq(1 - s)(1 + s)`.  The point probabilities are
computed as :math:`\exp` of a sum of logarithms, so their relative error grows
with the size of the exponent (see :func:`first_return_pmf`).
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np
from scipy import stats

from ._checks import as_finite_array as _finite_array
from ._checks import (
    as_int,
    as_int_array,
    as_probability,
    as_rng,
    broadcast,
    check_size,
    float_or_array,
)
from .gambling import _log_odds

__all__ = [
    "return_probability",
    "escape_probability",
    "first_return_pmf",
    "return_pmf",
    "distribution",
    "return_generating_function",
    "first_return_generating_function",
    "simulate_walk",
    "first_return_time",
    "walk_maximum_tail",
    "walk_abs_moment",
]

# u_k = C(2k, k) / 4**k, correctly rounded, for k < _U_TABLE_SIZE; beyond, the
# asymptotic series of log Gamma(k + 1/2) - log Gamma(k + 1) below is exact to
# float64 (its first omitted term is below 1e-17 at k = 30).
_U_TABLE_SIZE = 30
_U_TABLE = np.array([float(Fraction(comb(2 * k, k), 4**k)) for k in range(_U_TABLE_SIZE)])
_LOG_SQRT_PI = 0.5 * np.log(np.pi)
_LOG_4 = np.log(4.0)


def _log_central(k: np.ndarray) -> np.ndarray:
    r"""Return :math:`\log u_k = \log\bigl(\binom{2k}{k} 4^{-k}\bigr)` for integers ``k >= 0``.

    :math:`u_k = \Gamma(k + \tfrac12) / (\sqrt{\pi}\,\Gamma(k + 1))`.  For large
    ``k`` the difference of the two log-gamma values is summed from its
    asymptotic series (Bernoulli-polynomial expansion),

    .. math::

       \log\frac{\Gamma(k + 1/2)}{\Gamma(k + 1)} = -\tfrac12\log k
       - \frac{1}{8k} + \frac{1}{192k^3} - \frac{1}{640k^5}
       + \frac{17}{14336k^7} - \frac{31}{18432k^9} + \dots,

    which avoids subtracting two huge ``gammaln`` values (that loses ~5
    digits at ``k = 5000``).
    """
    k = np.asarray(k, dtype=np.int64)
    small = k < _U_TABLE_SIZE
    out = np.empty(k.shape, dtype=float)
    out[small] = np.log(_U_TABLE[k[small]])
    kb = k[~small].astype(float)
    if kb.size:
        inv = 1.0 / kb
        inv2 = inv * inv
        series = inv * (
            -1.0 / 8
            + inv2 * (1.0 / 192 + inv2 * (-1.0 / 640 + inv2 * (17.0 / 14336 - inv2 * 31.0 / 18432)))
        )
        out[~small] = -0.5 * np.log(kb) + series - _LOG_SQRT_PI
    return out


def _log_4pq(p: np.ndarray) -> np.ndarray:
    r""":math:`\log(4pq)` with a small absolute error for every :math:`p \in [0, 1]`.

    Three branches, so that nothing cancels:

    * :math:`1/4 \le p \le 3/4`: :math:`\log(4pq) = \operatorname{log1p}(-d^2)` with
      :math:`d = q - p = 1 - 2p` (exact in floating point there), accurate as
      :math:`p \to 1/2`;
    * :math:`p < 1/4`: :math:`\log 4 + \log p + \operatorname{log1p}(-p)`;
    * :math:`p > 3/4`: the same with :math:`q = 1 - p` (exact there) in place of :math:`p`.

    (``log1p(-d*d)`` alone cancels as :math:`d^2 \to 1`: the rounding of
    :math:`d^2` leaves :math:`1 - d^2 = 4pq` with a relative error of order
    :math:`\varepsilon/(4pq)`, and :math:`d^2` rounds to 1, so the result to
    :math:`\log 1 = 0`, for :math:`p \lesssim 5 \times 10^{-17}`.)
    The absolute error is a few units of roundoff times
    :math:`\max(1, |\log 4pq|)`; ``-inf`` at :math:`p = 0, 1`.
    """
    p = np.asarray(p, dtype=float)
    small = np.minimum(p, 1.0 - p)  # min(p, q); exact subtraction for p >= 1/2
    d = 1.0 - 2.0 * p  # q - p, exact for p >= 1/4
    with np.errstate(divide="ignore", invalid="ignore"):
        middle = np.log1p(-d * d)
        edge = _LOG_4 + np.log(small) + np.log1p(-small)
    return np.where(small < 0.25, edge, middle)


def return_probability(p):
    r"""Probability that the walk started at 0 ever returns to 0.

    .. math::

       \mathbb{P}(T_0^r < \infty \mid S_0 = 0) = G(1) = 1 - |p - q|
       = 2\min(p, q).

    Section 1.1.2, Theorem *return probability*.  The walk is recurrent
    (returns with probability one) only for :math:`p = 1/2`.

    Parameters
    ----------
    p : float or array_like of float
        Probability of a step up, ``0 <= p <= 1``.

    Returns
    -------
    float or numpy.ndarray
        Shaped like ``p``.  Evaluated as :math:`2\min(p, 1 - p)`, which is
        exact in floating point (no cancellation in :math:`1 - |p - q|`).

    Examples
    --------
    >>> return_probability(0.5)
    1.0
    >>> return_probability(0.6)  # 1 - |0.6 - 0.4|
    0.8
    """
    p = as_probability(p, "p")
    return float_or_array(2.0 * np.minimum(p, 1.0 - p))


def escape_probability(k, p):
    r"""Probability that the walk started at ``k`` never visits 0.

    With the hitting time :math:`T_0 = \inf\{n \ge 0 : S_n = 0\}`,

    .. math::

       \mathbb{P}(T_0 = \infty \mid S_0 = k) =
       \begin{cases}
       \max\{0,\ 1 - (q/p)^{k}\} & k > 0,\\
       0 & k = 0,\\
       \max\{0,\ 1 - (p/q)^{|k|}\} & k < 0.
       \end{cases}

    Section 1.1.2, Theorem *escape probability*.  For :math:`k > 0` it is the
    limit :math:`\lim_{S \to \infty} f_S(k)` of the gambler's win probability
    (section 1.1.1); the case :math:`k < 0` is its mirror image (swap
    :math:`p` and :math:`q`).  Since :math:`(q/p)^k = (p/q)^{|k|}` for
    :math:`k < 0`, both cases are :math:`\max\{0, 1 - (q/p)^k\}`.  A walk
    started at 0 has already hit 0 at time 0, so the value there is 0; the
    probability that it never *returns* is ``1 - return_probability(p)``
    :math:`= |p - q|` (for :math:`k \ne 0` the two notions coincide).

    Parameters
    ----------
    k : int or array_like of int
        Starting point, any integer.
    p : float or array_like of float
        Probability of a step up, ``0 <= p <= 1``.  Broadcasts with ``k``.

    Returns
    -------
    float or numpy.ndarray
        Shaped like ``broadcast(k, p)``.

    Notes
    -----
    :math:`1 - (q/p)^k` is evaluated as ``-expm1(k * log(q/p))`` with
    :math:`\log(q/p)` from ``log1p``, so it keeps full relative accuracy as
    :math:`p \downarrow 1/2` (where it tends to 0) and never overflows.

    Examples
    --------
    >>> round(escape_probability(1, 0.6), 12)  # 1 - 0.4/0.6
    0.333333333333
    >>> escape_probability(-1, 0.6), escape_probability(0, 0.6)
    (0.0, 0.0)
    """
    k = as_int_array(k, "k")
    p = as_probability(p, "p")
    k, p = broadcast(k=k, p=p)
    up = p > 0.5  # drift up: escape possible from k > 0
    down = p < 0.5  # drift down: escape possible from k < 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x_up = _log_odds(np.where(up, p, 0.75))  # log(q/p) < 0
        x_down = -_log_odds(np.where(down, p, 0.25))  # log(p/q) = -log(q/p) < 0
        esc_up = -np.expm1(np.where(k > 0, k, 1) * x_up)
        esc_down = -np.expm1(np.where(k < 0, -k, 1) * x_down)
    out = np.where((k > 0) & up, esc_up, np.where((k < 0) & down, esc_down, 0.0)) + 0.0
    return float_or_array(out)


def first_return_pmf(n, p):
    r"""Distribution of the first return time: :math:`g(n) = \mathbb{P}(T_0^r = n \mid S_0 = 0)`.

    .. math::

       g(2k) = \frac{1}{2k - 1}\binom{2k}{k}(pq)^k \quad (k \ge 1), \qquad
       g(n) = 0 \text{ for odd } n \text{ and for } n = 0.

    Section 1.1.2, Theorem *first-return distribution*: the coefficients of
    :math:`G(s) = 1 - \sqrt{1 - 4pqs^2}`.  They sum to
    ``return_probability(p)``, not to 1, when :math:`p \ne 1/2` (the rest
    of the mass sits at :math:`T_0^r = \infty`).

    Parameters
    ----------
    n : int or array_like of int
        Times, ``n >= 0``.
    p : float or array_like of float
        Probability of a step up.  Broadcasts with ``n``.

    Returns
    -------
    float or numpy.ndarray
        Shaped like ``broadcast(n, p)``.

    Notes
    -----
    Evaluated as :math:`\exp\bigl(\log u_k + k\log(4pq) - \log(2k - 1)\bigr)`
    with :math:`u_k = \binom{2k}{k}4^{-k}` (see the module notes): no
    overflow for any ``n`` (``n = 10**4`` and far beyond), and no cancellation
    in :math:`\log(4pq)` for any :math:`p` (``p = 1e-17`` gives
    :math:`g(2) = 2pq \approx 2 \times 10^{-17}`, not 0).  The exponent carries an absolute
    error of a few units of roundoff times its size, which becomes a relative
    error of the result: against 60-digit ``mpmath`` the relative error is below

    .. math::

       \bigl(4 + 2\log(k + 1) + 2k\,|\log 4pq|\bigr)\,\varepsilon
       \quad (1/4 \le p \le 3/4), \qquad
       \text{plus } 3k\varepsilon \text{ for other } p,

    with :math:`\varepsilon = 2^{-52}`: a few units in the last place near
    :math:`p = 1/2` and moderate ``n``, about :math:`50\varepsilon` for
    ``n = 2`` at ``p = 1e-10`` (measured: :math:`15\varepsilon`).  Since
    :math:`g(2k) \le (4pq)^k`, a result above the underflow threshold has
    :math:`k|\log 4pq| < 709`, so its relative error stays below about
    :math:`2 \times 10^{-12}`.

    Examples
    --------
    >>> first_return_pmf([1, 2, 4], 0.5)  # 2pq, 2(pq)^2
    array([0.   , 0.5  , 0.125])
    """
    n = as_int_array(n, "n", minimum=0)
    p = as_probability(p, "p")
    n, p = broadcast(n=n, p=p)
    k = n // 2
    valid = (n % 2 == 0) & (n > 0)
    kk = np.where(valid, k, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_g = _log_central(kk) + kk * _log_4pq(p) - np.log(2.0 * kk - 1.0)
        g = np.where(valid, np.exp(log_g), 0.0)
    return float_or_array(g)


def return_pmf(n, p):
    r"""Probability :math:`h(n) = \mathbb{P}(S_n = 0 \mid S_0 = 0)` of being at 0 at time ``n``.

    .. math::

       h(2k) = \binom{2k}{k}(pq)^k, \qquad h(2k + 1) = 0, \qquad h(0) = 1.

    Section 1.1.2: the coefficients of :math:`H(s) = (1 - 4pqs^2)^{-1/2}`.

    Parameters
    ----------
    n : int or array_like of int
        Times, ``n >= 0``.
    p : float or array_like of float
        Probability of a step up.  Broadcasts with ``n``.

    Returns
    -------
    float or numpy.ndarray
        Shaped like ``broadcast(n, p)``.

    Notes
    -----
    Evaluated as :math:`\exp\bigl(\log u_k + k\log(4pq)\bigr)`, with the
    accuracy stated in :func:`first_return_pmf` (relative error of order
    :math:`k\,|\log 4pq|\,\varepsilon`, a few ulps near :math:`p = 1/2`).

    Examples
    --------
    >>> return_pmf([0, 1, 2], 0.5)
    array([1. , 0. , 0.5])
    """
    n = as_int_array(n, "n", minimum=0)
    p = as_probability(p, "p")
    n, p = broadcast(n=n, p=p)
    k = n // 2
    with np.errstate(divide="ignore", invalid="ignore"):
        log_h = _log_central(k) + np.where(k > 0, k * _log_4pq(p), 0.0)
        h = np.where(n % 2 == 0, np.exp(log_h), 0.0)
    return float_or_array(h)


def distribution(n, p):
    r"""Distribution of :math:`S_n` for the walk started at 0.

    .. math::

       \mathbb{P}(S_n = 2j - n) = \binom{n}{j} p^j q^{n - j}, \qquad j = 0, \dots, n,

    (``j`` steps up).  Section 1.1.2: in particular
    :math:`\mathbb{P}(S_{2m} = 2k) = \binom{2m}{m + k}p^{m+k}q^{m-k}` and
    :math:`S_n` has the parity of :math:`n`.

    Parameters
    ----------
    n : int
        Number of steps, ``n >= 0``.
    p : float
        Probability of a step up.

    Returns
    -------
    values : numpy.ndarray of int64, shape (n + 1,)
        The reachable values :math:`-n, -n + 2, \dots, n`.
    pmf : numpy.ndarray of float, shape (n + 1,)
        Their probabilities (``scipy.stats.binom``, evaluated in logs: no
        overflow for large ``n``).

    Examples
    --------
    >>> values, pmf = distribution(2, 0.5)
    >>> values.tolist(), np.round(pmf, 12).tolist()
    ([-2, 0, 2], [0.25, 0.5, 0.25])
    """
    n = as_int(n, "n", minimum=0)
    p = float(as_probability(p, "p"))
    check_size(n + 1, "n")
    j = np.arange(n + 1)
    return 2 * j - n, stats.binom.pmf(j, n, p)


def _one_minus_4pqs2(s, p):
    r""":math:`1 - 4pqs^2 = (p - q)^2 + 4pq(1 - s)(1 + s)`: non-negative terms for |s| <= 1."""
    d = 1.0 - 2.0 * p
    return d * d + 4.0 * p * (1.0 - p) * (1.0 - s) * (1.0 + s)


def _check_s(s, name="s"):
    try:
        s = np.asarray(s, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number in [-1, 1]") from None
    if np.isnan(s).any() or (np.abs(s) > 1).any():
        raise ValueError(f"{name} must lie in [-1, 1] (the generating functions are used there)")
    return s


def return_generating_function(s, p):
    r"""The generating function :math:`H(s) = \sum_{n \ge 0} h(n) s^n = (1 - 4pqs^2)^{-1/2}`.

    Section 1.1.2.  :math:`H` is the generating function of the return
    probabilities :math:`h(n) = \mathbb{P}(S_n = 0)`, **not** of the return
    time (see the errata: the notes write it as
    :math:`\mathbb{E}[s^{T_0^r}\mathbb 1\{T_0^r < \infty\}]`, which is
    :math:`G(s)`).

    Parameters
    ----------
    s : float or array_like, ``-1 <= s <= 1``
    p : float or array_like
        Broadcasts with ``s``.

    Returns
    -------
    float or numpy.ndarray
        ``inf`` at :math:`s = \pm 1` when :math:`p = 1/2` (the expected number
        of visits to 0 is infinite for the symmetric walk).
    """
    s = _check_s(s)
    p = as_probability(p, "p")
    with np.errstate(divide="ignore"):
        return float_or_array(1.0 / np.sqrt(_one_minus_4pqs2(s, p)))


def first_return_generating_function(s, p):
    r"""The generating function :math:`G(s) = \mathbb{E}[s^{T_0^r}\mathbb 1\{T_0^r < \infty\}]`.

    :math:`G(s) = 1 - \sqrt{1 - 4pqs^2}`.

    Section 1.1.2, from the renewal identity :math:`H = 1 + GH`.  Evaluated as
    :math:`4pqs^2 / (1 + \sqrt{1 - 4pqs^2})`, which keeps full relative
    accuracy when :math:`4pqs^2` is tiny.

    Parameters
    ----------
    s : float or array_like, ``-1 <= s <= 1``
    p : float or array_like
        Broadcasts with ``s``.

    Returns
    -------
    float or numpy.ndarray
        :math:`G(1) = 1 - |p - q|` is ``return_probability(p)``.
    """
    s = _check_s(s)
    p = as_probability(p, "p")
    x = 4.0 * p * (1.0 - p) * s * s
    return float_or_array(x / (1.0 + np.sqrt(_one_minus_4pqs2(s, p))))


def simulate_walk(n_steps, p, n_walks=1, rng=None, start=0):
    """Simulate ``n_walks`` independent walks of ``n_steps`` steps.

    Vectorised: all steps of all walks are drawn at once and summed with
    ``cumsum``; there is no Python loop.

    Parameters
    ----------
    n_steps : int
        Number of steps, ``>= 0``.
    p : float
        Probability of a step up.
    n_walks : int
        Number of independent walks, ``>= 1``.
    rng : None, int or numpy.random.Generator
        Source of randomness.
    start : int
        :math:`S_0` (default 0).

    Returns
    -------
    numpy.ndarray of int64, shape (n_walks, n_steps + 1)
        ``paths[w, n]`` is :math:`S_n` of walk ``w``; column 0 holds
        :math:`S_0` = ``start``.  Always two-dimensional, also for
        ``n_walks=1``.

    Examples
    --------
    >>> paths = simulate_walk(4, 0.5, n_walks=3, rng=0)
    >>> paths.shape, paths[:, 0].tolist()
    ((3, 5), [0, 0, 0])
    """
    n_steps = as_int(n_steps, "n_steps", minimum=0)
    p = float(as_probability(p, "p"))
    n_walks = as_int(n_walks, "n_walks", minimum=1)
    start = as_int(start, "start")
    rng = as_rng(rng)
    check_size(n_walks * (n_steps + 1), "n_steps * n_walks", what="path entries")
    paths = np.empty((n_walks, n_steps + 1), dtype=np.int64)
    paths[:, 0] = start
    if n_steps:
        steps = np.where(rng.random((n_walks, n_steps)) < p, 1, -1).astype(np.int64)
        np.cumsum(steps, axis=1, out=paths[:, 1:])
        paths[:, 1:] += start
    return paths


def first_return_time(paths):
    """First time ``n >= 1`` at which each path is back at its starting value.

    Parameters
    ----------
    paths : array_like of int, shape (n_walks, n_steps + 1)
        Paths as returned by :func:`simulate_walk` (a 1-D array is one path).

    Returns
    -------
    numpy.ndarray of int64, shape (n_walks,)
        :math:`T^r = \\min\\{n \\ge 1 : S_n = S_0\\}`, or ``-1`` where the path
        does not return within its ``n_steps`` steps (the return time is then
        larger than ``n_steps``, possibly infinite).

    Examples
    --------
    >>> first_return_time([[0, 1, 0, -1], [0, 1, 2, 3]]).tolist()
    [2, -1]
    """
    paths = np.asarray(paths)
    if paths.ndim == 1:
        paths = paths[None, :]
    if paths.ndim != 2 or paths.shape[1] < 1 or not np.issubdtype(paths.dtype, np.integer):
        raise ValueError("paths must be a 2-D integer array shaped (n_walks, n_steps + 1)")
    back = paths[:, 1:] == paths[:, :1]
    hit = back.any(axis=1)
    return np.where(hit, back.argmax(axis=1) + 1, -1).astype(np.int64)


# ----------------------------------------------- exact references for Doob's inequality

#: Most steps of :func:`walk_maximum_tail`'s dynamic programme (one numpy pass
#: each) and most entries it touches in all, ``n`` times the number of levels.
MAX_WALK_STEPS = 10**6
MAX_WALK_WORK = 10**9


def walk_maximum_tail(n, c, p=0.5):
    r"""Exact :math:`\mathbb P(\max_{k \le n} |X_k| \ge c)` for the walk from :math:`X_0 = 0`.

    Dynamic programming over the walk killed on reaching :math:`\pm c`
    (:math:`O(nc)` operations): the answer is the mass killed in the first
    ``n`` steps, *added up* as it is killed.  (One minus the mass still alive
    would cancel: at ``n = 100``, ``c = 80`` the answer is :math:`3.4 \cdot
    10^{-17}`, below the spacing of floats near 1.)  The exact left side of
    Doob's inequality for the fair walk (section 1.2).

    Parameters
    ----------
    n : int
        Number of steps, ``0 <= n <= MAX_WALK_STEPS``.
    c : int
        Level, ``c >= 1``; ``n * min(c, n)`` at most ``MAX_WALK_WORK``.
    p : float
        Probability of a step up, ``0 <= p <= 1``.

    Returns
    -------
    float

    Examples
    --------
    >>> walk_maximum_tail(2, 1), walk_maximum_tail(2, 2), walk_maximum_tail(2, 3)
    (1.0, 0.5, 0.0)
    """
    n = as_int(n, "n", minimum=0, maximum=MAX_WALK_STEPS)
    c = as_int(c, "c", minimum=1)
    p = float(as_probability(p, "p"))
    if c > n:
        return 0.0  # n steps of size one cannot reach level c
    check_size(n * c, "n * c", limit=MAX_WALK_WORK, what="operations")
    up, down = p, 1.0 - p
    # alive[i] is the mass at level i - (c - 1), for the levels -(c-1) .. c-1
    alive = np.zeros(2 * c - 1)
    alive[c - 1] = 1.0
    new = np.empty_like(alive)
    killed = 0.0
    for _ in range(n):
        killed += up * alive[-1] + down * alive[0]  # steps onto +c and -c
        new[0] = 0.0
        np.multiply(alive[:-1], up, out=new[1:])
        new[:-1] += down * alive[1:]
        alive, new = new, alive
    return float(min(killed, 1.0))


def walk_abs_moment(n, p=0.5, order=1):
    r"""Exact :math:`\mathbb E|X_n|^r` for the walk from 0 (a binomial sum).

    :math:`X_n = 2B - n` with :math:`B \sim \mathrm{Bin}(n, p)`.  The exact
    right side of Doob's inequality for the fair walk (section 1.2).

    Parameters
    ----------
    n : int
        ``n >= 0``.
    p : float
        ``0 <= p <= 1``.
    order : float
        ``r > 0``.

    Returns
    -------
    float
    """
    n = as_int(n, "n", minimum=0)
    p = float(as_probability(p, "p"))
    order = float(_finite_array(order, "order"))
    if not order > 0:
        raise ValueError(f"order must be > 0, got {order!r}")
    b = np.arange(n + 1)
    return float(np.sum(stats.binom.pmf(b, n, p) * np.abs(2 * b - n) ** order))
