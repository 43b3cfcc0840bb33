r"""Optional stopping: where it fails (the doubling strategy) and where it holds
(gambler's ruin re-derived in exact rational arithmetic), book section 1.2."""

from __future__ import annotations

import numbers
from fractions import Fraction

import numpy as np

from .._checks import as_int, as_int_array, as_probability, as_rng, check_size, float_or_array

#: Most rounds of the doubling strategy: stakes 2**(n-1) must stay finite in float64.
MAX_DOUBLING_ROUNDS = 1000
#: Largest size of the rationals in :func:`ruin_by_optional_stopping`: ``S`` times
#: the bits of ``q/p``'s numerator or denominator (``S = 20,000`` at ``p = 0.4``
#: given as a float, about 0.2 s; the cost grows faster than linearly beyond).
MAX_RATIONAL_BITS = 2 * 10**6


# ------------------------------------------------------- the doubling strategy


def doubling_strategy(p, n_rounds, n_paths, rng=None):
    r"""Simulate the doubling strategy: stake :math:`2^{k-1}` on round ``k`` until the first win.

    Each round is won with probability ``p``.  With :math:`T` the round of the
    first win (geometric, :math:`\mathbb P(T < \infty) = 1` for ``p > 0``) the
    fortune is

    .. math::

       W_n = -(2^n - 1) \ (n < T), \qquad W_n = 1 \ (n \ge T),

    the martingale transform of the p-walk (the fair walk when p = 1/2) by the predictable stakes
    :math:`H_k = 2^{k-1}\,\mathbb 1\{T \ge k\}`.  So :math:`W_T = 1` almost
    surely while :math:`\mathbb E W_n = 1 - (2q)^n`, which is ``0`` for every
    ``n`` when ``p = 1/2``: optional stopping fails because neither ``T`` nor
    the stakes nor the losses are bounded.  Section 1.2, Example
    *the doubling strategy*.

    Parameters
    ----------
    p : float
        Probability of winning a round, ``0 <= p <= 1``.
    n_rounds : int
        Rounds played, ``1 <= n_rounds <= 1000`` (so that :math:`2^n` is finite).
    n_paths : int
        Number of independent gamblers, ``>= 1``.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    fortune : numpy.ndarray of float, shape (n_paths, n_rounds + 1)
        :math:`W_0 = 0, W_1, \dots, W_{n}` (integers, stored as float).
    first_win : numpy.ndarray of int64, shape (n_paths,)
        :math:`T`, or ``-1`` where no round up to ``n_rounds`` was won.
    """
    p = float(as_probability(p, "p"))
    n_rounds = as_int(n_rounds, "n_rounds", minimum=1, maximum=MAX_DOUBLING_ROUNDS)
    n_paths = as_int(n_paths, "n_paths", minimum=1)
    rng = as_rng(rng)

    wins = rng.random((n_paths, n_rounds)) < p
    won = wins.any(axis=1)
    first_win = np.where(won, wins.argmax(axis=1) + 1, -1).astype(np.int64)
    time = np.arange(n_rounds + 1)
    losing = -(np.ldexp(1.0, time) - 1.0)  # -(2^n - 1), exact for n <= 53
    after = won[:, None] & (time[None, :] >= first_win[:, None])
    fortune = np.where(after, 1.0, losing[None, :]) + 0.0  # + 0.0 turns -0.0 into 0.0
    return fortune, first_win


def doubling_expected_fortune(p, n):
    r"""Exact :math:`\mathbb E W_n = 1 - (2q)^n` for the doubling strategy.

    .. math::

       \mathbb E W_n = \mathbb P(T \le n)\cdot 1 - \mathbb P(T > n)(2^n - 1)
       = (1 - q^n) - q^n (2^n - 1) = 1 - (2q)^n .

    Zero for every ``n`` at ``p = 1/2``; tends to 1 for ``p > 1/2`` and to
    :math:`-\infty` for ``p < 1/2``.  Section 1.2.

    Parameters
    ----------
    p : float or array_like
        ``0 <= p <= 1``.
    n : int or array_like of int
        ``n >= 0``.

    Returns
    -------
    float or numpy.ndarray
    """
    p = as_probability(p, "p")
    n = as_int_array(n, "n", minimum=0)
    # 1 - (2q)^n = -expm1(n log1p(q - p)): no cancellation as p -> 1/2.
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        log_two_q = np.log1p(1.0 - 2.0 * p)
        out = -np.expm1(np.where(n == 0, 0.0, n * log_two_q))
    return float_or_array(out + 0.0)


# ------------------------------------------- gambler's ruin by optional stopping


def _as_fraction(p, name: str = "p") -> Fraction:
    if isinstance(p, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number in (0, 1), got {p!r}")
    if isinstance(p, Fraction):
        f = p
    elif isinstance(p, numbers.Rational):
        f = Fraction(int(p.numerator), int(p.denominator))
    elif isinstance(p, numbers.Real) and np.isfinite(float(p)):
        f = Fraction(float(p))  # exact: every float is a dyadic rational
    else:
        raise ValueError(f"{name} must be a number in (0, 1), got {p!r}")
    if not 0 < f < 1:
        raise ValueError(f"{name} must lie in (0, 1) (strictly), got {p!r}")
    return f


def ruin_by_optional_stopping(k, S, p):
    r"""Gambler's ruin from the optional stopping theorem, in exact rational arithmetic.

    With :math:`T` the end of the game and :math:`f = \mathbb P(X_T = S)`:

    * de Moivre's martingale (bounded up to :math:`T`) gives
      :math:`r^k = \mathbb E\, r^{X_T} = f r^S + (1 - f)`, :math:`r = q/p`, so
      :math:`f = (1 - r^k)/(1 - r^S)`;
    * the compensated walk (increments bounded, :math:`\mathbb E T < \infty`)
      gives :math:`k = \mathbb E X_T - (p - q)\,\mathbb E T`, so
      :math:`\mathbb E T = (S f - k)/(p - q)`;
    * for :math:`p = 1/2`: :math:`X_n` gives :math:`f = k/S` and
      :math:`X_n^2 - n` gives :math:`\mathbb E T = S^2 f - k^2 = k(S - k)`.

    Section 1.2, *Gambler's ruin revisited*.  The float results agree with
    :func:`sprl.gambling.win_probability` and
    :func:`sprl.gambling.expected_duration`.

    Parameters
    ----------
    k : int
        Start, ``0 <= k <= S``.
    S : int
        ``S >= 1``.  The cost grows like ``S`` times the bits of ``p``: ``S``
        times the bits of ``q/p`` may not exceed ``MAX_RATIONAL_BITS``.
    p : float, int or fractions.Fraction
        ``0 < p < 1``.  A float is converted *exactly* (every float is a
        dyadic rational), so ``p = 0.5 + 1e-12`` is handled without any
        cancellation.

    Returns
    -------
    win : fractions.Fraction
        :math:`f_S(k)`.
    duration : fractions.Fraction
        :math:`h_S(k) = \mathbb E T`.

    Examples
    --------
    >>> ruin_by_optional_stopping(1, 3, 0.5)
    (Fraction(1, 3), Fraction(2, 1))
    """
    S = as_int(S, "S", minimum=1)
    k = as_int(k, "k", minimum=0, maximum=S)
    p = _as_fraction(p, "p")
    q = 1 - p
    if p == q:
        win = Fraction(k, S)
        return win, S * S * win - k * k
    r = q / p
    bits = S * max(r.numerator.bit_length(), r.denominator.bit_length())
    check_size(bits, "S (with the bits of p)", limit=MAX_RATIONAL_BITS,
               what="bits in r**S")
    win = (1 - r**k) / (1 - r**S)
    return win, (S * win - k) / (p - q)
