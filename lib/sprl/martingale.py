r"""Martingales (book section 1.2, *Martingales*).

A process :math:`(M_n)_{n \ge 0}` adapted to a filtration :math:`(\mathcal F_n)`
is a *martingale* when every :math:`M_n` is integrable and

.. math::

   \mathbb E[M_{n+1} \mid \mathcal F_n] = M_n \qquad (n \ge 0).

This module collects the martingales of part 1 and the experiments of the
chapter:

* the walk :math:`X_n = k + \xi_1 + \dots + \xi_n` with
  :math:`\mathbb P(\xi = 1) = p`, :math:`\mathbb P(\xi = -1) = q`, and its
  martingales :func:`de_moivre` :math:`(q/p)^{X_n}`, :func:`drift_martingale`
  :math:`X_n - n(p - q)` and :func:`square_martingale`
  :math:`(X_n - n(p - q))^2 - n(1 - (p - q)^2)`;
* martingale transforms ("betting systems", :func:`martingale_transform`),
  stopped walks (:func:`simulate_stopped_walk`) and the doubling strategy
  (:func:`doubling_strategy`), the counterexample to optional stopping
  without conditions;
* gambler's ruin re-derived from optional stopping in exact rational
  arithmetic (:func:`ruin_by_optional_stopping`);
* the branching martingale :math:`Z_n/\mu^n` (:func:`normalised_population`),
  a likelihood ratio (:func:`likelihood_ratio`) and Pólya's urn
  (:func:`polya_urn`, :func:`polya_pmf`);
* Doob's maximal inequalities (:func:`doob_bound`, :func:`doob_lp_bound`),
  whose exact walk references :func:`~sprl.random_walk.walk_maximum_tail` and
  :func:`~sprl.random_walk.walk_abs_moment` live beside the walk in
  :mod:`sprl.random_walk`.

The bridge to part 2 (score-function estimates on a two-state chain, whose
terms pairing a score with *past* rewards form a martingale-difference sum)
is :mod:`sprl.score_function`; its functions are importable from here too.
"""

from __future__ import annotations

import numbers
from fractions import Fraction

import numpy as np

from ._checks import as_finite_array as _finite_array
from ._checks import as_int, as_int_array, as_probability, as_rng, check_size
from .gambling import _log_odds
from .random_walk import walk_abs_moment, walk_maximum_tail  # noqa: F401  (section 1.2 uses them)
from .score_function import (  # noqa: F401  (section 1.2's look ahead uses them)
    exact_policy_gradient,
    policy_gradient_estimates,
    simulate_chain_episodes,
)

__all__ = [
    "de_moivre",
    "drift_martingale",
    "square_martingale",
    "martingale_transform",
    "simulate_stopped_walk",
    "doubling_strategy",
    "doubling_expected_fortune",
    "ruin_by_optional_stopping",
    "normalised_population",
    "likelihood_ratio",
    "polya_urn",
    "polya_pmf",
    "doob_bound",
    "doob_lp_bound",
]

#: Most rounds of the doubling strategy: stakes 2**(n-1) must stay finite in float64.
MAX_DOUBLING_ROUNDS = 1000
#: Largest size of the rationals in :func:`ruin_by_optional_stopping`: ``S`` times
#: the bits of ``q/p``'s numerator or denominator (``S = 20,000`` at ``p = 0.4``
#: given as a float, about 0.2 s; the cost grows faster than linearly beyond).
MAX_RATIONAL_BITS = 2 * 10**6


# ---------------------------------------------------------------- input checks


def _open_probability(p, name: str = "p") -> np.ndarray:
    """``p`` as a float array with ``0 < p < 1`` (the walk martingales need both steps)."""
    arr = as_probability(p, name)
    if ((arr == 0) | (arr == 1)).any():
        bad = arr[(arr == 0) | (arr == 1)].flat[0]
        raise ValueError(f"{name} must lie in (0, 1) (strictly), got {bad!r}")
    return arr


def _paths(paths, name: str = "paths") -> np.ndarray:
    arr = _finite_array(paths, name)
    if arr.ndim != 2 or arr.shape[1] < 1 or arr.shape[0] < 1:
        raise ValueError(
            f"{name} must be a 2-D array shaped (n_paths, n_steps + 1), got shape {arr.shape}"
        )
    return arr


def _scalar(a):
    """A Python float for 0-d results, the array otherwise."""
    a = np.asarray(a, dtype=float)
    return float(a) if a.ndim == 0 else a


# ------------------------------------------------------ martingales of the walk


def de_moivre(X, p):
    r"""De Moivre's martingale :math:`(q/p)^{X_n}` of the walk with up-probability ``p``.

    .. math::

       \mathbb E\bigl[(q/p)^{X_{n+1}} \mid \mathcal F_n\bigr]
       = (q/p)^{X_n}\Bigl(p\,\frac{q}{p} + q\,\frac{p}{q}\Bigr) = (q/p)^{X_n}.

    Section 1.2, Example *de Moivre's martingale*.

    Parameters
    ----------
    X : int or array_like of int
        Positions of the walk (any sign).
    p : float or array_like of float
        Probability of a step up, ``0 < p < 1``.  Broadcasts with ``X``.

    Returns
    -------
    float or numpy.ndarray
        :math:`(q/p)^X`, computed as :math:`\exp(X \log(q/p))` with
        :math:`\log(q/p)` = ``log1p((1 - 2p)/p)``, accurate for ``p`` near 1/2;
        exactly 1 at ``p = 1/2``.  May overflow to ``inf`` for huge ``|X|``.

    Examples
    --------
    >>> round(de_moivre(3, 0.25), 12)  # (0.75 / 0.25) ** 3
    27.0
    """
    X = as_int_array(X, "X")
    p = _open_probability(p, "p")
    with np.errstate(over="ignore"):
        out = np.exp(X * _log_odds(p))
    return _scalar(out)


def drift_martingale(X, n, p):
    r"""The compensated walk :math:`X_n - n(p - q)`.

    .. math::

       \mathbb E[X_{n+1} - (n+1)(p-q) \mid \mathcal F_n]
       = X_n + (p - q) - (n + 1)(p - q) = X_n - n(p - q).

    Section 1.2, Example *the compensated walk*.

    Parameters
    ----------
    X : int or array_like of int
        Position of the walk at time ``n``.
    n : int or array_like of int
        Time, ``n >= 0``.  Broadcasts with ``X`` and ``p``.
    p : float or array_like of float
        Probability of a step up, ``0 <= p <= 1``.

    Returns
    -------
    float or numpy.ndarray
    """
    X = as_int_array(X, "X")
    n = as_int_array(n, "n", minimum=0)
    p = as_probability(p, "p")
    return _scalar(X - n * (2.0 * p - 1.0))


def square_martingale(X, n, p):
    r"""The quadratic martingale :math:`(X_n - n(p-q))^2 - n\,(1 - (p - q)^2)`.

    With :math:`D_n = X_n - n(p-q)` and centred steps :math:`\eta = \xi - (p-q)`
    of variance :math:`\sigma^2 = 1 - (p-q)^2 = 4pq`,

    .. math::

       \mathbb E[D_{n+1}^2 \mid \mathcal F_n]
       = D_n^2 + 2 D_n\,\mathbb E\eta + \mathbb E\eta^2 = D_n^2 + \sigma^2,

    so :math:`D_n^2 - n\sigma^2` is a martingale; for :math:`p = 1/2` it is
    :math:`X_n^2 - n`.  Section 1.2, Example *the quadratic martingale*.

    Parameters
    ----------
    X, n, p
        As in :func:`drift_martingale`.

    Returns
    -------
    float or numpy.ndarray
    """
    X = as_int_array(X, "X")
    n = as_int_array(n, "n", minimum=0)
    p = as_probability(p, "p")
    d = 2.0 * p - 1.0
    variance = 4.0 * p * (1.0 - p)
    return _scalar((X - n * d) ** 2 - n * variance)


def martingale_transform(increments, stakes, axis=-1):
    r"""Martingale transform ("gains of a betting system") :math:`(H\cdot X)_n`.

    .. math::

       (H \cdot X)_n = \sum_{k=1}^{n} H_k\,(X_k - X_{k-1}), \qquad (H\cdot X)_0 = 0.

    If :math:`X` is a martingale and each stake :math:`H_k` is *predictable*
    (decided from :math:`\mathcal F_{k-1}`, before the :math:`k`-th increment is
    seen) and bounded, then :math:`H \cdot X` is again a martingale: no betting
    system beats a fair game.  Section 1.2, Theorem *you can't beat the system*.

    Parameters
    ----------
    increments : array_like
        :math:`X_k - X_{k-1}` for ``k = 1, ..., n`` along ``axis``.
    stakes : array_like
        :math:`H_k`, broadcastable to ``increments``.  Predictability cannot be
        checked here: ``stakes[..., k]`` must not depend on ``increments[..., k:]``.
    axis : int
        The time axis of ``increments``.

    Returns
    -------
    numpy.ndarray
        The gains, with ``n + 1`` entries along ``axis`` (the first is 0).

    Examples
    --------
    >>> martingale_transform([1, -1, 1], [1, 2, 4]).tolist()
    [0.0, 1.0, -1.0, 3.0]
    """
    dx = _finite_array(increments, "increments")
    h = _finite_array(stakes, "stakes")
    if dx.ndim == 0:
        raise ValueError("increments must have at least one (time) axis")
    try:
        h = np.broadcast_to(h, dx.shape)
    except ValueError:
        raise ValueError(
            f"stakes must broadcast to the shape of increments {dx.shape}, got {h.shape}"
        ) from None
    gains = np.cumsum(h * dx, axis=axis)
    pad = [(0, 0)] * dx.ndim
    pad[axis] = (1, 0)
    return np.pad(gains, pad)


def simulate_stopped_walk(k, S, p, n_steps, n_paths, rng=None):
    r"""Paths of the walk from ``k`` stopped on leaving ``(0, S)``: :math:`X_{n \wedge T}`.

    :math:`T = \inf\{n : X_n \in \{0, S\}\}` is a stopping time, and a stopped
    martingale is a martingale, so e.g. ``de_moivre(paths, p).mean(axis=0)``
    stays at :math:`(q/p)^k` for every ``n``.  Section 1.2, *stopping times*.

    Vectorised: one draw of all steps, a cumulative sum, the first exit by
    ``argmax``; no Python loop over steps or paths.

    Parameters
    ----------
    k : int
        Start, ``0 <= k <= S``.
    S : int
        Upper barrier, ``S >= 1``.
    p : float
        Probability of a step up, ``0 <= p <= 1``.
    n_steps : int
        Number of steps, ``>= 1``.
    n_paths : int
        Number of paths, ``>= 1``.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    paths : numpy.ndarray of int64, shape (n_paths, n_steps + 1)
        :math:`X_{n \wedge T}` for ``n = 0, ..., n_steps``.
    T : numpy.ndarray of int64, shape (n_paths,)
        The exit time, or ``-1`` where the path is still inside ``(0, S)``
        after ``n_steps`` steps.
    """
    S = as_int(S, "S", minimum=1)
    k = as_int(k, "k", minimum=0, maximum=S)
    p = float(as_probability(p, "p"))
    n_steps = as_int(n_steps, "n_steps", minimum=1)
    n_paths = as_int(n_paths, "n_paths", minimum=1)
    rng = as_rng(rng)

    steps = np.where(rng.random((n_paths, n_steps)) < p, 1, -1).astype(np.int64)
    free = np.empty((n_paths, n_steps + 1), dtype=np.int64)
    free[:, 0] = k
    np.cumsum(steps, axis=1, out=free[:, 1:])
    free[:, 1:] += k
    outside = (free <= 0) | (free >= S)
    exited = outside.any(axis=1)
    T = np.where(exited, outside.argmax(axis=1), -1).astype(np.int64)
    time = np.arange(n_steps + 1)
    frozen = exited[:, None] & (time[None, :] > T[:, None])
    stop_value = free[np.arange(n_paths), np.where(exited, T, 0)]
    paths = np.where(frozen, stop_value[:, None], free)
    return paths, T


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
    return _scalar(out + 0.0)


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


# ------------------------------------------------------ branching and likelihood


def normalised_population(Z, mean):
    r"""The branching-process martingale :math:`W_n = Z_n / \mu^n`.

    Given :math:`Z_n = z`, the next generation is a sum of :math:`z`
    independent offspring counts of mean :math:`\mu`, so
    :math:`\mathbb E[Z_{n+1} \mid \mathcal F_n] = \mu Z_n` and
    :math:`\mathbb E[W_{n+1} \mid \mathcal F_n] = W_n`.  :math:`W_n \ge 0`
    converges almost surely (section 1.2, *martingale convergence*).

    Parameters
    ----------
    Z : array_like of int
        Generation sizes :math:`Z_0, Z_1, \dots` along the last axis
        (e.g. shaped ``(n_runs, n_generations + 1)``), all ``>= 0``.
    mean : float
        Mean offspring number :math:`\mu > 0`.

    Returns
    -------
    numpy.ndarray of float
        :math:`Z_n \mu^{-n}`, shaped like ``Z``.
    """
    Z = as_int_array(Z, "Z", minimum=0)
    try:
        mu = float(mean)
    except (TypeError, ValueError):
        raise ValueError(f"mean must be a positive number, got {mean!r}") from None
    if not (np.isfinite(mu) and mu > 0):
        raise ValueError(f"mean must be a positive finite number, got {mean!r}")
    if Z.ndim == 0:
        raise ValueError("Z must have a (generation) axis")
    n = np.arange(Z.shape[-1], dtype=float)
    with np.errstate(over="ignore", under="ignore"):
        return Z / np.power(mu, n)


def likelihood_ratio(flips, p, p_alt):
    r"""Likelihood-ratio martingale of coin flips under the true bias ``p``.

    .. math::

       L_n = \prod_{i=1}^{n} \frac{p_{\rm alt}^{x_i}(1 - p_{\rm alt})^{1 - x_i}}
                                  {p^{x_i}(1 - p)^{1 - x_i}}, \qquad L_0 = 1 .

    Under :math:`\mathbb P_p` each factor has mean
    :math:`p\,\tfrac{p_{\rm alt}}{p} + q\,\tfrac{1 - p_{\rm alt}}{q} = 1`, so
    :math:`L_n` is a martingale with :math:`\mathbb E L_n = 1`; yet
    :math:`L_n \to 0` almost surely when :math:`p_{\rm alt} \ne p`.  The
    product of importance ratios :math:`\prod_t \pi_\theta/\bar\pi` of
    section 2.3.5 is the same kind of martingale.  Section 1.2.

    Parameters
    ----------
    flips : array_like of {0, 1} or bool
        Outcomes along the last axis.
    p : float
        True probability of a 1, ``0 < p < 1``.
    p_alt : float
        Alternative probability, ``0 <= p_alt <= 1``.

    Returns
    -------
    numpy.ndarray of float
        :math:`L_0, \dots, L_n` along the last axis (one more entry than
        ``flips``), computed as the exponential of a cumulative sum of logs.
    """
    x = np.asarray(flips)
    if x.ndim == 0:
        raise ValueError("flips must have a (time) axis")
    if not np.isin(x, (0, 1)).all():
        raise ValueError("flips must hold only 0 and 1 (or booleans)")
    p = _open_probability(p, "p")
    p_alt = as_probability(p_alt, "p_alt")
    for name, value in (("p", p), ("p_alt", p_alt)):
        if value.ndim:
            raise ValueError(f"{name} must be a single number, got shape {value.shape}")
    p, p_alt = float(p), float(p_alt)
    x = x.astype(bool)
    with np.errstate(divide="ignore"):
        up = np.log(p_alt) - np.log(p)
        down = np.log1p(-p_alt) - np.log1p(-p)
    logs = np.where(x, up, down)
    log_l = np.cumsum(logs, axis=-1)
    pad = [(0, 0)] * x.ndim
    pad[-1] = (1, 0)
    return np.exp(np.pad(log_l, pad))


# ---------------------------------------------------------------- Pólya's urn


def polya_urn(red, black, n_draws, n_runs, rng=None, path=True):
    r"""Pólya's urn: draw a ball, put it back with one more of its colour.

    Starting from ``red`` red and ``black`` black balls, the fraction of red
    after :math:`n` draws, :math:`M_n = R_n/(\text{red} + \text{black} + n)`, is
    a martingale:

    .. math::

       \mathbb E[M_{n+1} \mid \mathcal F_n]
       = M_n\,\frac{R_n + 1}{N_n + 1} + (1 - M_n)\frac{R_n}{N_n + 1} = M_n,
       \qquad N_n = \text{red} + \text{black} + n,

    bounded in :math:`[0, 1]`, so it converges almost surely; the limit has the
    :math:`\mathrm{Beta}(\text{red}, \text{black})` law.  Section 1.2,
    Example *Pólya's urn*.

    Vectorised over runs: the only loop is over draws.

    Parameters
    ----------
    red, black : int
        Initial numbers of balls, each ``>= 1``.
    n_draws : int
        Number of draws, ``>= 1``.
    n_runs : int
        Number of independent urns, ``>= 1``.
    rng : None, int or numpy.random.Generator
    path : bool
        Return the whole path (default) or only the final fraction.

    Returns
    -------
    numpy.ndarray of float
        :math:`M_0, \dots, M_n` shaped ``(n_runs, n_draws + 1)``, or
        :math:`M_n` shaped ``(n_runs,)`` when ``path=False``.
    """
    red = as_int(red, "red", minimum=1)
    black = as_int(black, "black", minimum=1)
    n_draws = as_int(n_draws, "n_draws", minimum=1)
    n_runs = as_int(n_runs, "n_runs", minimum=1)
    rng = as_rng(rng)

    n_red = np.full(n_runs, red, dtype=np.int64)
    total = red + black
    out = np.empty((n_runs, n_draws + 1)) if path else None
    if path:
        out[:, 0] = red / total
    for t in range(n_draws):
        n_red += rng.random(n_runs) * (total + t) < n_red
        if path:
            out[:, t + 1] = n_red / (total + t + 1)
    return out if path else n_red / (total + n_draws)


def polya_pmf(red, black, n_draws):
    r"""Exact law of the number :math:`K` of red draws among the first ``n_draws``.

    Beta-binomial:

    .. math::

       \mathbb P(K = j) = \binom{n}{j}
       \frac{B(\text{red} + j,\ \text{black} + n - j)}{B(\text{red}, \text{black})},
       \qquad j = 0, \dots, n,

    and :math:`M_n = (\text{red} + K)/(\text{red} + \text{black} + n)`.
    Section 1.2, Example *Pólya's urn*.  A thin wrapper of
    ``scipy.stats.betabinom(n_draws, red, black).pmf`` that checks its input.

    Returns
    -------
    numpy.ndarray, shape (n_draws + 1,)
        :math:`\mathbb P(K = j)` for ``j = 0, ..., n_draws``.
    """
    from scipy.stats import betabinom

    red = as_int(red, "red", minimum=1)
    black = as_int(black, "black", minimum=1)
    n = as_int(n_draws, "n_draws", minimum=0)
    check_size(n + 1, "n_draws")
    return betabinom.pmf(np.arange(n + 1), n, red, black)


# ------------------------------------------------------ Doob's maximal inequality


def doob_bound(paths, c, order=1):
    r"""Both sides of Doob's maximal inequality, estimated from sample paths.

    For a martingale :math:`M` (or a non-negative submartingale) and :math:`c > 0`,

    .. math::

       \mathbb P\Bigl(\max_{k \le n} |M_k| \ge c\Bigr)
       \le \frac{\mathbb E|M_n|^{r}}{c^{r}}, \qquad r = 1, 2,\ \dots

    (:math:`r = 1` is Doob's inequality; :math:`r = 2` is Kolmogorov's, Doob's
    applied to the submartingale :math:`M^2`).  Section 1.2,
    Theorem *Doob's maximal inequality*.

    Parameters
    ----------
    paths : array_like, shape (n_paths, n + 1)
        Sample paths :math:`M_0, \dots, M_n`.
    c : float
        Level, ``c > 0``.
    order : float
        The power :math:`r \ge 1`.

    Returns
    -------
    probability : float
        Fraction of paths with :math:`\max_{k \le n} |M_k| \ge c`.
    bound : float
        Sample mean of :math:`|M_n|^r / c^r`.
    """
    m = _paths(paths)
    c = float(_finite_array(c, "c"))
    if not c > 0:
        raise ValueError(f"c must be > 0, got {c!r}")
    order = float(_finite_array(order, "order"))
    if not order >= 1:
        raise ValueError(f"order must be >= 1, got {order!r}")
    probability = float((np.abs(m).max(axis=1) >= c).mean())
    bound = float((np.abs(m[:, -1]) ** order).mean() / c**order)
    return probability, bound


def doob_lp_bound(paths, order=2):
    r"""Both sides of Doob's :math:`L^r` inequality, estimated from sample paths.

    .. math::

       \mathbb E\Bigl[\max_{k \le n} |M_k|^r\Bigr]
       \le \Bigl(\frac{r}{r - 1}\Bigr)^{r} \mathbb E|M_n|^r \qquad (r > 1);

    for :math:`r = 2`: :math:`\mathbb E \max_k M_k^2 \le 4\,\mathbb E M_n^2`.
    Section 1.2, Theorem *Doob's maximal inequality*.

    Parameters
    ----------
    paths : array_like, shape (n_paths, n + 1)
    order : float
        :math:`r > 1`.

    Returns
    -------
    lhs : float
        Sample mean of :math:`\max_{k\le n}|M_k|^r`.
    rhs : float
        :math:`(r/(r-1))^r` times the sample mean of :math:`|M_n|^r`.
    """
    m = _paths(paths)
    order = float(_finite_array(order, "order"))
    if not order > 1:
        raise ValueError(f"order must be > 1, got {order!r}")
    a = np.abs(m)
    lhs = float((a.max(axis=1) ** order).mean())
    rhs = float((order / (order - 1.0)) ** order * (a[:, -1] ** order).mean())
    return lhs, rhs
