r"""Gambler's ruin (book section 1.1.1, *Gambling Problems*).

Player A holds :math:`k` of the :math:`S` coins in play and wins each round
with probability :math:`p` (taking one coin from B) or loses it with
probability :math:`q = 1 - p`.  The game ends when A holds :math:`0` or
:math:`S` coins.  With :math:`r = q/p`,

.. math::

   f_S(k) = \frac{1 - r^k}{1 - r^S}, \qquad
   h_S(k) = \frac{1}{q - p}\Bigl(k - S\,\frac{1 - r^k}{1 - r^S}\Bigr)
   \quad (p \ne q),

and :math:`f_S(k) = k/S`, :math:`h_S(k) = k(S - k)` when :math:`p = q = 1/2`.

Both closed forms are evaluated through :math:`x = \log(q/p)` with
``expm1``/``log1p`` so that they never form :math:`r^S` (which overflows for
:math:`S = 10^6`) and stay accurate as :math:`p \to 1/2`, where the textbook
expression for :math:`h_S` loses every digit to cancellation.
"""

from __future__ import annotations

import numpy as np

from ._checks import (
    as_int,
    as_int_array,
    as_probability,
    as_rng,
    broadcast,
    check_size,
    float_or_array,
)

__all__ = ["win_probability", "expected_duration", "simulate_ruin", "transition_matrix"]

# Terms of the series used for h_S(k) when 0 <= S log(q/p) <= 1; since g_m <= m, the
# remainder after 25 terms is below 2/26! ~ 5e-27 relative, far under float64's resolution.
_SERIES_TERMS = 25

#: Most rounds :func:`simulate_ruin` may expect to play (``n_games`` times the
#: expected duration), about half a minute of work here.  Beyond it a simulation
#: would look like a hang: ``simulate_ruin(5, 10**12, 0.5, 10)`` expects 5e13 rounds.
MAX_SIMULATED_ROUNDS = 10**9


def _check(k, S, p):
    S = as_int(S, "S", minimum=1)
    k = as_int_array(k, "k", minimum=0, maximum=S)
    p = as_probability(p, "p")
    return k, S, p


def _log_odds(p: np.ndarray) -> np.ndarray:
    r"""Return :math:`x = \log(q/p)` for an array ``p`` in [0, 1], to full relative accuracy.

    Three forms, each free of cancellation where it is used:

    * ``p < 1/4``: ``log1p(-p) - log(p)`` (also right for subnormal ``p``);
    * ``1/4 <= p <= 3/4``: ``log1p((1 - 2p)/p)``, where ``1 - 2p = q - p`` is exact,
      so :math:`x` keeps its relative accuracy however close :math:`p` is to 1/2;
    * ``p > 3/4``: ``log(q) - log1p(-q)`` with ``q = 1 - p`` exact (Sterbenz).

    ``p = 0`` gives ``+inf`` and ``p = 1`` gives ``-inf``.
    """
    p = np.asarray(p, dtype=float)
    q = 1.0 - p
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        low = np.log1p(-p) - np.log(p)
        mid = np.log1p((1.0 - 2.0 * p) / np.where(p > 0, p, 1.0))
        high = np.log(q) - np.log1p(-q)
    return np.where(p < 0.25, low, np.where(p > 0.75, high, mid))


def win_probability(k, S, p):
    r"""Probability :math:`f_S(k)` that A, starting with ``k`` coins, reaches ``S``.

    .. math::

       f_S(k) = \frac{1 - (q/p)^k}{1 - (q/p)^S} \quad (p \ne 1/2), \qquad
       f_S(k) = \frac{k}{S} \quad (p = 1/2).

    Section 1.1.1, Theorem *win probability*.  The source notes print
    :math:`((p/q)^{S-k} - 1)/((p/q)^S - 1)`, which is the *ruin* probability
    :math:`1 - f_S(k)` (see the errata).

    Parameters
    ----------
    k : int or array_like of int
        A's starting fortune, ``0 <= k <= S``.
    S : int
        Total number of coins, ``S >= 1``.
    p : float or array_like of float
        Probability that A wins a round, ``0 <= p <= 1``.  Broadcasts with ``k``.

    Returns
    -------
    float or numpy.ndarray
        :math:`f_S(k)`, shaped like ``broadcast(k, p)``; a Python float for
        scalar input.

    Notes
    -----
    With :math:`x = \log(q/p)` the formula is
    :math:`\operatorname{expm1}(kx) / \operatorname{expm1}(Sx)`, evaluated for
    :math:`x > 0` as :math:`e^{(k-S)x}\,\operatorname{expm1}(-kx)/\operatorname{expm1}(-Sx)`
    so that nothing overflows.  It is continuous through :math:`p = 1/2` and
    exact at ``k = 0`` and ``k = S``.

    Examples
    --------
    >>> round(win_probability(10, 20, 0.5), 12)
    0.5
    >>> round(win_probability(90, 100, 0.45), 6)  # Feller's table: ruin 0.866
    0.134431
    """
    k, S, p = _check(k, S, p)
    k, p = broadcast(k=k, p=p)
    x = _log_odds(p)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # p > 1/2 (x < 0): both expm1 terms lie in (-1, 0].
        down = np.expm1(k * x) / np.expm1(S * x)
        # p < 1/2 (x > 0): divide numerator and denominator by e^{Sx}.
        up = np.exp((k - S) * x) * np.expm1(-k * x) / np.expm1(-S * x)
    f = np.where(x < 0, down, np.where(x > 0, up, k / S))
    # The degenerate games (x = +-inf) directly; + 0.0 turns -0.0 into 0.0.
    f = np.where(p == 0, (k == S).astype(float), f)
    f = np.where(p == 1, (k > 0).astype(float), f) + 0.0
    return float_or_array(f)


def expected_duration(k, S, p):
    r"""Expected length :math:`h_S(k) = \mathbb{E}[T_{0,S} \mid X_0 = k]` of the game.

    .. math::

       h_S(k) = \frac{1}{q - p}\Bigl(k - S\,\frac{1 - (q/p)^k}{1 - (q/p)^S}\Bigr)
       \quad (p \ne 1/2), \qquad h_S(k) = k(S - k) \quad (p = 1/2).

    Section 1.1.1, Theorem *expected duration*.

    Parameters
    ----------
    k : int or array_like of int
        A's starting fortune, ``0 <= k <= S``.
    S : int
        Total number of coins, ``S >= 1``.
    p : float or array_like of float
        Probability that A wins a round, ``0 <= p <= 1``.  Broadcasts with ``k``.

    Returns
    -------
    float or numpy.ndarray
        :math:`h_S(k)` in rounds, shaped like ``broadcast(k, p)``.

    Notes
    -----
    By the symmetry :math:`h_S(k; p) = h_S(S - k; 1 - p)` we may take
    :math:`p \le 1/2`, so :math:`x = \log(q/p) \ge 0`.  Put :math:`u = kx`,
    :math:`v = Sx`, :math:`d = q - p`.  Expanding both exponentials gives the
    cancellation-free series

    .. math::

       h_S(k) = k(S - k)\,\frac{x}{d}\,\frac{v}{e^v - 1}
                \sum_{m \ge 1} \frac{g_m}{(m + 1)!},\qquad
       g_1 = 1,\; g_{m+1} = v\,g_m + u^m,

    (:math:`g_m = (v^m - u^m)/(v - u)`, all terms positive), used for
    :math:`v \le 1`; it reduces to :math:`k(S-k)` at :math:`p = 1/2`.  For
    :math:`v > 1` the closed form :math:`h = (k - S f_S(k))/d` is used with
    :math:`k - S f_S(k)` arranged to avoid cancellation: directly for
    :math:`k \le S/2`, where :math:`S f_S(k) \le 0.76\,k`, and as
    :math:`S\,(1 - e^{-jx})/(1 - e^{-v}) - j` with :math:`j = S - k` for
    :math:`k > S/2`, where the first term is at least :math:`1.24\,j`.  Either
    way the subtraction loses less than a factor 5 in relative accuracy, for
    any :math:`S`.

    Examples
    --------
    >>> expected_duration(10, 20, 0.5)
    100.0
    >>> round(expected_duration(90, 100, 0.45), 1)  # Feller's table
    765.6
    """
    k, S, p = _check(k, S, p)
    k, p = broadcast(k=k, p=p)
    # Reflect to p <= 1/2; 1 - p is exact for p in [1/2, 1] (Sterbenz).
    flip = p > 0.5
    k = np.where(flip, S - k, k).astype(float)
    p = np.where(flip, 1.0 - p, p)
    d = 1.0 - 2.0 * p  # q - p >= 0, exact for p >= 1/4
    x = _log_odds(p)  # >= 0, +inf at p = 0
    v = S * x
    with np.errstate(invalid="ignore"):
        u = np.where(k > 0, k * x, 0.0)

    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # Series branch (v <= 1).  Evaluate on a clipped copy so that the
        # unused lanes of np.where cannot produce overflow noise.
        vs, us = np.minimum(v, 1.0), np.minimum(u, 1.0)
        g = np.ones_like(vs)
        u_pow = us.copy()
        total = np.zeros_like(vs)
        fact = 1.0
        for m in range(1, _SERIES_TERMS + 1):
            fact *= m + 1
            total += g / fact
            g = vs * g + u_pow
            u_pow = u_pow * us
        x_over_d = np.where(d > 0, x / np.where(d > 0, d, 1.0), 2.0)
        v_over_expm1 = np.where(vs > 0, vs / np.expm1(vs), 1.0)
        series = k * (S - k) * x_over_d * v_over_expm1 * total

        # Closed form (v > 1), in one of two arrangements of k - S f, each free of
        # cancellation on its half (see Notes): A for k <= S/2, B for k > S/2.
        f = np.exp((k - S) * x) * np.expm1(-u) / np.expm1(-v)
        form_a = k - S * f
        j = S - k
        form_b = S * np.expm1(-j * x) / np.expm1(-v) - j
        gap = np.where(k <= S / 2, form_a, form_b)
        # p = 0 (x = inf): every round is lost, the game lasts k rounds.
        gap = np.where(np.isinf(x), np.where(k < S, k, 0.0), gap)
        closed = gap / np.where(d > 0, d, 1.0)

    h = np.where(v <= 1.0, series, closed)
    return float_or_array(h)


def simulate_ruin(k, S, p, n_games, rng=None):
    """Play ``n_games`` independent games of gambler's ruin from fortune ``k``.

    Vectorised over games and over blocks of rounds: each pass draws a block
    of rounds for every unfinished game at once, takes the cumulative sum and
    finds the first exit from ``(0, S)`` with ``argmax``; there is no Python
    loop per round or per game.

    Parameters
    ----------
    k : int
        A's starting fortune, ``0 <= k <= S``.
    S : int
        Total number of coins, ``S >= 1``.
    p : float
        Probability that A wins a round, ``0 <= p <= 1``.
    n_games : int
        Number of games, ``>= 1``.  The expected total number of rounds,
        ``n_games * expected_duration(k, S, p)``, may not exceed
        ``MAX_SIMULATED_ROUNDS``.
    rng : None, int or numpy.random.Generator
        Source of randomness (a seed makes the result reproducible).

    Returns
    -------
    won : numpy.ndarray of bool, shape (n_games,)
        Whether A reached ``S``.
    duration : numpy.ndarray of int64, shape (n_games,)
        Number of rounds played, :math:`T_{0,S}`.

    Examples
    --------
    >>> won, duration = simulate_ruin(10, 20, 0.5, 10_000, rng=1)
    >>> bool(abs(won.mean() - 0.5) < 0.02), bool(abs(duration.mean() - 100) < 5)
    (True, True)
    """
    S = as_int(S, "S", minimum=1)
    k = as_int(k, "k", minimum=0, maximum=S)
    p = float(as_probability(p, "p"))
    n_games = as_int(n_games, "n_games", minimum=1)
    rng = as_rng(rng)
    check_size(n_games * float(expected_duration(k, S, p)), "S (or n_games)",
               limit=MAX_SIMULATED_ROUNDS, what="rounds on average")

    position = np.full(n_games, k, dtype=np.int64)
    duration = np.zeros(n_games, dtype=np.int64)
    active = np.flatnonzero((position > 0) & (position < S))
    elapsed = 0
    # Block length: a quarter of the expected duration (measured best in
    # benchmarks/bench_gambling.py: longer blocks waste draws on finished games,
    # shorter ones pay numpy's per-call overhead), capped so one block of draws
    # stays near 2**23 numbers (~64 MB) however many games are still running.
    typical = int(min(expected_duration(k, S, p), 1e6)) // 4 + 16
    while active.size:
        block = max(1, min(typical, (1 << 23) // active.size))
        # +1 with probability p, -1 otherwise, as int8 (the cumulative sum is the hot spot).
        steps = (rng.random((active.size, block)) < p).view(np.int8) * np.int8(2) - np.int8(1)
        paths = position[active, None] + np.cumsum(steps, axis=1, dtype=np.int64)
        exited = (paths <= 0) | (paths >= S)
        done = exited.any(axis=1)
        first = exited.argmax(axis=1)
        finished = active[done]
        position[finished] = paths[done, first[done]]
        duration[finished] = elapsed + first[done] + 1
        position[active[~done]] = paths[~done, -1]
        active = active[~done]
        elapsed += block
    return position == S, duration


def transition_matrix(S, p):
    """Transition matrix of the gambler's chain on states ``0, 1, ..., S``.

    ``P[i, i+1] = p`` and ``P[i, i-1] = q`` for ``0 < i < S``; the states ``0``
    and ``S`` are absorbing.  Used to check the closed forms against exact
    linear algebra (sections 1.1.1 and 1.1.3).

    Returns
    -------
    numpy.ndarray, shape (S + 1, S + 1)
    """
    S = as_int(S, "S", minimum=1)
    p = float(as_probability(p, "p"))
    check_size((S + 1) ** 2, "S", what="matrix entries")
    P = np.zeros((S + 1, S + 1))
    inner = np.arange(1, S)
    P[inner, inner + 1] = p
    P[inner, inner - 1] = 1.0 - p
    P[0, 0] = P[S, S] = 1.0
    return P
