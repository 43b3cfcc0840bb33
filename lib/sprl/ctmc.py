r"""Continuous-time Markov chains and the Poisson process (book section 1.1.5).

A chain on the states ``0 .. n-1`` is given by its *generator* (rate matrix)
:math:`Q`: :math:`q_{ij} \ge 0` is the rate of jumps :math:`i \to j` for
:math:`j \ne i`, and :math:`q_{ii} = -q_i` with :math:`q_i = \sum_{j \ne i} q_{ij}`,
so every row sums to 0.  The transition matrix
:math:`P_{ij}(t) = \mathbb{P}(X_{s+t} = j \mid X_s = i)` solves the backward and
forward Kolmogorov equations

.. math::

   P'(t) = Q P(t) \;\text{(backward)}, \qquad P'(t) = P(t) Q \;\text{(forward)},
   \qquad P(0) = I, \qquad\text{so}\quad P(t) = e^{Qt}.

The chain waits in state :math:`i` an :math:`\operatorname{Exp}(q_i)` time and
then jumps to :math:`j` with probability :math:`q_{ij}/q_i`, independently of
the waiting time (competing exponential clocks).

Numerics.  Everything here reads only the off-diagonal rates; each
:math:`q_i` is recomputed as a sum of non-negative numbers, as in the
Grassmann-Taksar-Heyman (GTH) algorithm used for the stationary law.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from . import _gth as gth
from ._checks import as_int, as_positive, as_rng, check_size
from ._graph import closed_classes

__all__ = [
    "validate_generator",
    "transition_matrix",
    "mean_holding_times",
    "jump_chain",
    "stationary_distribution",
    "stationary_distributions",
    "simulate_ctmc",
    "poisson_process",
    "birth_death_generator",
    "birth_death_stationary",
]

#: Rows of a generator must sum to 0 within this tolerance, relative to their rates.
ROW_SUM_RTOL = 1e-12


# --------------------------------------------------------------------------- checks


def validate_generator(Q) -> np.ndarray:
    r"""Check that ``Q`` is a generator (rate matrix) and return it as a float array.

    Rules (each broken rule raises a :class:`ValueError` naming ``Q``):

    * a square, non-empty 2-D array of finite numbers;
    * off-diagonal entries :math:`q_{ij} \ge 0` (rates);
    * every row sums to 0: :math:`|\sum_j q_{ij}| \le 10^{-12}\,(|q_{ii}| + \sum_{j\ne i} q_{ij})`.

    Parameters
    ----------
    Q : array_like, shape (n, n)

    Returns
    -------
    numpy.ndarray, shape (n, n)
        ``Q`` with its diagonal recomputed as :math:`-\sum_{j \ne i} q_{ij}`,
        so that every row sums to 0 up to one rounding.

    Examples
    --------
    >>> validate_generator([[-1.0, 1.0], [2.0, -2.0]])
    array([[-1.,  1.],
           [ 2., -2.]])
    """
    try:
        Q = np.array(Q, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("Q must be a square 2-D array of rates") from None
    if Q.ndim != 2 or Q.shape[0] != Q.shape[1] or Q.shape[0] == 0:
        raise ValueError(f"Q must be a non-empty square 2-D array, got shape {Q.shape}")
    if not np.isfinite(Q).all():
        raise ValueError("Q must hold finite numbers (no nan or inf)")
    off = Q.copy()
    np.fill_diagonal(off, 0.0)
    if (off < 0).any():
        i, j = np.argwhere(off < 0)[0]
        raise ValueError(
            f"Q must have non-negative off-diagonal rates, got Q[{i}, {j}] = {Q[i, j]!r}"
        )
    out_rate = off.sum(axis=1)
    diag = np.diag(Q)
    err = np.abs(diag + out_rate)
    bad = err > ROW_SUM_RTOL * (np.abs(diag) + out_rate)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Q must have rows summing to 0 (within {ROW_SUM_RTOL:g} of the rates), "
            f"row {i} sums to {diag[i] + out_rate[i]!r}"
        )
    np.fill_diagonal(off, -out_rate)
    return off


def _rates(Q) -> tuple[np.ndarray, np.ndarray]:
    """Validated off-diagonal rate matrix (zero diagonal) and total out-rates ``q_i``."""
    Q = validate_generator(Q)
    A = Q.copy()
    np.fill_diagonal(A, 0.0)
    return A, A.sum(axis=1)


def _as_times(t, name: str = "t") -> np.ndarray:
    try:
        arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number >= 0 or an array of them, got {t!r}") from None
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a number or a 1-D array, got shape {arr.shape}")
    if np.isnan(arr).any() or np.isinf(arr).any():
        raise ValueError(f"{name} must be finite, got {arr[~np.isfinite(arr)].flat[0]!r}")
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got {arr[arr < 0].flat[0]!r}")
    return arr


# ------------------------------------------------------------------------ transition matrix


def transition_matrix(Q, t):
    r"""Transition matrix :math:`P(t) = e^{Qt}`, by scaling and squaring with stochastic rows.

    Section 1.1.5: the solution of the backward equation :math:`P' = QP` and
    of the forward equation :math:`P' = PQ` with :math:`P(0) = I`.

    Parameters
    ----------
    Q : array_like, shape (n, n)
        Generator (checked by :func:`validate_generator`).
    t : float or array_like of float, shape (m,)
        Time(s), finite and ``>= 0``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, n)`` for a scalar ``t``, ``(m, n, n)`` for an array.
        Non-negative, with rows that sum to 1 within about ``n`` units of
        roundoff for every ``t`` (they are rescaled after every squaring).

    Notes
    -----
    With :math:`\Lambda = \max_i q_i` and :math:`s = \lceil\log_2(\Lambda t)\rceil`
    (0 if :math:`\Lambda t \le 1`), :math:`P(t/2^s)` is computed by
    ``scipy.linalg.expm`` (Padé, :math:`\|Qt/2^s\|_\infty \le 2`), then squared
    :math:`s` times.  After ``expm`` and after every squaring the entries are
    clipped at 0 and each row is divided by its sum.

    Why: plain scaling and squaring (``expm(Q * t)``) doubles its error at every
    squaring, so the error grows like :math:`\|Q\|\,t\,\varepsilon`: rows off
    by :math:`1.3 \times 10^{-12}` at :math:`t = 10^4` for the 3-state
    generator of the chapter, and by :math:`2.4 \times 10^{-6}` at
    :math:`t = 10^3` for a stiff generator with rates :math:`10^8` and
    :math:`10^{-6}`.  With stochastic rows an error :math:`E` (zero row sums)
    is no longer doubled once the chain mixes:
    :math:`(P + E)^2 - P^2 \approx PE + EP` with
    :math:`\|EP\|_\infty \le \delta(P)\,\|E\|_\infty`, where
    :math:`\delta(P) = \tfrac12\max_{i,k}\sum_j|P_{ij} - P_{kj}| \le 1` is
    Dobrushin's coefficient, and :math:`\delta(P(2t)) \le \delta(P(t))^2`.
    Each squaring adds at most about :math:`n\varepsilon`, so the absolute
    error of the entries is bounded by about
    :math:`n\varepsilon\,\Lambda\min(t, t_{\mathrm{mix}})`, with
    :math:`t_{\mathrm{mix}}` the time at which :math:`\delta(P(t))` falls below
    1/2; beyond :math:`t_{\mathrm{mix}}` it grows only by about :math:`n\varepsilon`
    per doubling of :math:`t`.  This bound is pessimistic: against a
    50-digit ``mpmath`` exponential (of the generator whose diagonal is minus
    its off-diagonal row sums, the chain computed here) the largest absolute
    error was :math:`3.3 \times 10^{-16}` for the two generators above, a
    nearly decomposable one (rates :math:`10^3` within two blocks,
    :math:`10^{-3}` between them) and a random 8-state one with rates over 12
    orders of magnitude, at every :math:`t` from :math:`10^{-3}` to
    :math:`10^4` (plain ``expm``: up to :math:`5.4 \times 10^{-6}`).  Entries as
    small as :math:`10^{-17}` came out with relative errors below
    :math:`6 \times 10^{-15}` there, but only the absolute error is covered by
    the bound.

    Examples
    --------
    >>> P = transition_matrix([[-1.0, 1.0], [1.0, -1.0]], 0.5)
    >>> round(float(P[0, 1]), 12)  # (1 - exp(-2t))/2
    0.316060279414
    """
    Q = validate_generator(Q)
    t = _as_times(t)
    ts = np.atleast_1d(t)
    rate = float(-np.diag(Q).min()) if Q.size else 0.0  # Lambda = max_i q_i
    with np.errstate(divide="ignore"):
        x = math.log2(rate) + np.log2(ts) if rate > 0 else np.full(ts.shape, -np.inf)
    squarings = np.where(x > 0, np.ceil(x), 0).astype(np.int64)
    h = np.ldexp(ts, -squarings)  # t / 2**s, exact
    P = linalg.expm(h[:, None, None] * Q)
    np.maximum(P, 0.0, out=P)
    P /= P.sum(axis=2, keepdims=True)
    for k in range(int(squarings.max(initial=0))):
        idx = np.flatnonzero(squarings > k)
        Pk = P[idx]
        Pk = Pk @ Pk
        Pk /= Pk.sum(axis=2, keepdims=True)
        P[idx] = Pk
    return P[0] if t.ndim == 0 else P


def mean_holding_times(Q):
    r"""Mean time spent in each state per visit: :math:`\mathbb{E}\tau_i = 1/q_i = -1/q_{ii}`.

    The holding time in :math:`i` is :math:`\operatorname{Exp}(q_i)`, the minimum
    of the independent clocks :math:`\operatorname{Exp}(q_{ij})`, :math:`j \ne i`.
    Absorbing states (:math:`q_i = 0`) get ``inf``.  Section 1.1.5.

    Returns
    -------
    numpy.ndarray, shape (n,)

    Examples
    --------
    >>> mean_holding_times([[-2.0, 2.0], [0.0, 0.0]])
    array([0.5, inf])
    """
    _, q = _rates(Q)
    with np.errstate(divide="ignore"):
        return np.where(q > 0, 1.0 / q, np.inf)


def jump_chain(Q):
    r"""Transition matrix of the embedded jump chain.

    :math:`\Pi_{ij} = q_{ij}/q_i` for :math:`j \ne i` and :math:`\Pi_{ii} = 0`;
    an absorbing state (:math:`q_i = 0`) gets :math:`\Pi_{ii} = 1`.  The
    destination of a jump is independent of the holding time before it.
    Section 1.1.5.

    Returns
    -------
    numpy.ndarray, shape (n, n)

    Examples
    --------
    >>> jump_chain([[-3.0, 1.0, 2.0], [0.0, 0.0, 0.0], [1.0, 1.0, -2.0]])
    array([[0.        , 0.33333333, 0.66666667],
           [0.        , 1.        , 0.        ],
           [0.5       , 0.5       , 0.        ]])
    """
    A, q = _rates(Q)
    absorbing = q == 0
    Pi = A / np.where(absorbing, 1.0, q)[:, None]
    Pi[absorbing, absorbing] = 1.0
    return Pi


# ------------------------------------------------------------------- stationary distribution


def stationary_distributions(Q):
    r"""One stationary law per closed (recurrent) class of the chain.

    Every stationary law of a finite chain is a mixture of these.
    Section 1.1.5.

    Returns
    -------
    numpy.ndarray, shape (n_classes, n)
        Row ``c`` solves :math:`\pi Q = 0`, sums to 1 and is supported on the
        ``c``-th closed class (classes ordered by their smallest state).
    """
    A, _ = _rates(Q)
    classes = closed_classes(A)
    out = np.zeros((len(classes), A.shape[0]))
    for row, members in zip(out, classes):
        try:
            row[members] = gth.stationary(A[np.ix_(members, members)], overwrite=True)
        except np.linalg.LinAlgError:  # pragma: no cover - underflowing rates
            raise ValueError(
                "Q has rates so small next to the others that the elimination underflows"
            ) from None
    return out


def stationary_distribution(Q):
    r"""The stationary law :math:`\pi` with :math:`\pi Q = 0`, :math:`\sum_i \pi_i = 1`.

    Section 1.1.5.  Computed by GTH elimination (Grassmann, Taksar & Heyman),
    in blocks: only additions, multiplications and divisions of non-negative
    numbers, so every entry is accurate to a small multiple of the roundoff
    *relative to itself*, even when the entries span many orders of magnitude.
    Transient states get probability 0.

    Parameters
    ----------
    Q : array_like, shape (n, n)
        Generator.

    Returns
    -------
    numpy.ndarray, shape (n,)

    Raises
    ------
    ValueError
        If the chain has more than one closed class (then the stationary law is
        not unique; :func:`stationary_distributions` gives one per class).

    Examples
    --------
    >>> stationary_distribution([[-1.0, 1.0], [2.0, -2.0]])
    array([0.66666667, 0.33333333])
    """
    pis = stationary_distributions(Q)
    if pis.shape[0] > 1:
        raise ValueError(
            f"Q has {pis.shape[0]} closed classes, so its stationary law is not unique; "
            "use stationary_distributions(Q) for one law per class"
        )
    return pis[0]


# -------------------------------------------------------------------------------- simulation


def _compose_prefix(maps: np.ndarray) -> np.ndarray:
    """Inclusive prefix composition: ``out[k] = maps[k] o maps[k-1] o ... o maps[0]``.

    Hillis-Steele scan in ``ceil(log2 L)`` vectorised rounds (no loop per step).
    """
    out = maps.copy()
    d = 1
    while d < out.shape[0]:
        out[d:] = np.take_along_axis(out[d:], out[:-d], axis=1)
        d *= 2
    return out


def simulate_ctmc(Q, x0, t_max, rng=None):
    r"""Simulate one path of the chain on :math:`[0, t_{\max}]` from :math:`X_0 = x_0`.

    The path is built from the jump chain and independent holding times:
    in state :math:`i` wait :math:`E/q_i` with :math:`E \sim \operatorname{Exp}(1)`,
    then jump to :math:`j` with probability :math:`q_{ij}/q_i`.  Section 1.1.5.

    Vectorised in blocks of steps: for a block of :math:`L` uniforms, the
    destination of step ``k`` from *every* state is found with
    ``searchsorted`` (an :math:`L \times n` table of maps), the maps are
    composed by a parallel prefix scan, and the holding times are one array
    operation; the only Python loops are over states and over blocks.

    Parameters
    ----------
    Q : array_like, shape (n, n)
        Generator.
    x0 : int
        Initial state, ``0 <= x0 < n``.
    t_max : float
        Time horizon, finite and ``> 0``.
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    times : numpy.ndarray of float, shape (m + 1,)
        ``times[0] = 0`` and the jump times in ``(0, t_max]``.
    states : numpy.ndarray of int64, shape (m + 1,)
        ``states[i]`` is the state on ``[times[i], times[i+1])`` (the last one
        until ``t_max``).

    Examples
    --------
    >>> times, states = simulate_ctmc([[-1.0, 1.0], [1.0, -1.0]], 0, 100.0, rng=0)
    >>> bool(times[0] == 0 and states[0] == 0 and (np.diff(states) != 0).all())
    True
    """
    A, q = _rates(Q)
    n = A.shape[0]
    x0 = as_int(x0, "x0", minimum=0, maximum=n - 1)
    t_max = as_positive(t_max, "t_max")
    rng = as_rng(rng)
    with np.errstate(invalid="ignore", divide="ignore"):
        cum = np.cumsum(A / np.where(q > 0, q, 1.0)[:, None], axis=1)
    # Guard against rounding of the row sums: from the last positive rate of a
    # row on, the cumulative sum is +inf, so u in [0, 1) never lands on a state
    # that cannot be reached.
    last = A.shape[1] - 1 - np.argmax(A[:, ::-1] > 0, axis=1)
    cum[np.arange(n)[None, :] >= last[:, None]] = np.inf
    # The number of jumps is about t_max * max(q) at most: the first block is
    # that long up to 4096 steps, later blocks grow 4-fold (the path may also be
    # absorbed early), each at most ~2**22 table entries.
    q_max = float(q.max())
    L = int(min(t_max * q_max, 4096.0)) + 16
    block_cap = max(64, (1 << 22) // n)

    times_out, states_out = [np.array([0.0])], [np.array([x0])]
    t, state = 0.0, x0
    while q[state] > 0:
        L = min(L, block_cap)
        u = rng.random(L)
        maps = np.empty((L, n), dtype=np.int64)
        for i in range(n):
            maps[:, i] = np.searchsorted(cum[i], u, side="right") if q[i] > 0 else i
        path = _compose_prefix(maps)[:, state]  # state after each jump of the block
        prev = np.concatenate(([state], path[:-1]))  # state during each holding time
        # An absorbing state stops the path: its holding time is infinite.
        with np.errstate(divide="ignore"):
            hold = rng.standard_exponential(L) / q[prev]
        jump_times = t + np.cumsum(hold)
        keep = jump_times <= t_max
        n_keep = int(np.argmin(keep)) if not keep.all() else L
        times_out.append(jump_times[:n_keep])
        states_out.append(path[:n_keep])
        if n_keep < L:
            break
        t, state = float(jump_times[-1]), int(path[-1])
        L *= 4
    return np.concatenate(times_out), np.concatenate(states_out).astype(np.int64)


def poisson_process(rate, t_max, rng=None):
    r"""Arrival times of a Poisson process of intensity ``rate`` on :math:`[0, t_{\max}]`.

    Draws :math:`N \sim \operatorname{Poisson}(\lambda t_{\max})` and then
    :math:`N` sorted uniform points on :math:`[0, t_{\max}]`: given
    :math:`N_{t_{\max}} = N`, the arrival times are distributed as the order
    statistics of :math:`N` uniforms.  The gaps are then i.i.d.
    :math:`\operatorname{Exp}(\lambda)` and the :math:`n`-th arrival time is
    :math:`\operatorname{Gamma}(n, \lambda)`.  Section 1.1.5.

    Parameters
    ----------
    rate : float
        Intensity :math:`\lambda > 0` (mean arrivals per unit time).
    t_max : float
        Horizon, finite and ``> 0``.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape (N,)
        Increasing arrival times :math:`T_1 < T_2 < \dots` in :math:`[0, t_{\max}]`;
        the count up to time :math:`t` is ``np.searchsorted(arrivals, t, side="right")``.

    Examples
    --------
    >>> arrivals = poisson_process(2.0, 1000.0, rng=0)
    >>> bool(abs(arrivals.size / 1000.0 - 2.0) < 0.2)
    True
    """
    rate = as_positive(rate, "rate")
    t_max = as_positive(t_max, "t_max")
    rng = as_rng(rng)
    check_size(rate * t_max, "rate * t_max", what="arrivals on average")
    N = rng.poisson(rate * t_max)
    return np.sort(rng.uniform(0.0, t_max, size=N))


# ----------------------------------------------------------------------------- birth-death


def birth_death_generator(birth, death):
    r"""Generator of a birth-death chain on ``0 .. n-1``.

    :math:`q_{i,i+1} = \lambda_i` (``birth[i]``, ``i = 0 .. n-2``) and
    :math:`q_{i,i-1} = \nu_i` (``death[i-1]``, ``i = 1 .. n-1``).  Constant
    ``birth = [lam] * (n-1)`` and ``death = [nu] * (n-1)`` give the M/M/1
    queue with room for ``n - 1`` customers.  Section 1.1.5.

    Parameters
    ----------
    birth, death : array_like, shape (n - 1,)
        Non-negative rates.

    Returns
    -------
    numpy.ndarray, shape (n, n)
    """
    birth = np.asarray(birth, dtype=float)
    death = np.asarray(death, dtype=float)
    if birth.ndim != 1 or birth.shape != death.shape:
        raise ValueError("birth and death must be 1-D arrays of the same length")
    for name, r in (("birth", birth), ("death", death)):
        if not np.isfinite(r).all() or (r < 0).any():
            raise ValueError(f"{name} rates must be finite and >= 0")
    n = birth.size + 1
    Q = np.zeros((n, n))
    i = np.arange(n - 1)
    Q[i, i + 1] = birth
    Q[i + 1, i] = death
    Q[np.arange(n), np.arange(n)] = -Q.sum(axis=1)
    return Q


def birth_death_stationary(birth, death):
    r"""Closed-form stationary law of a birth-death chain (detailed balance).

    .. math::

       \pi_k \propto \prod_{i=0}^{k-1} \frac{\lambda_i}{\nu_{i+1}},

    for the M/M/1 queue with :math:`\rho = \lambda/\nu` a truncated geometric
    law :math:`\pi_k \propto \rho^k`.  Evaluated in logarithms (no overflow).
    Needs every ``birth`` and ``death`` rate ``> 0`` (an irreducible chain).

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    birth = np.asarray(birth, dtype=float)
    death = np.asarray(death, dtype=float)
    if birth.ndim != 1 or birth.shape != death.shape:
        raise ValueError("birth and death must be 1-D arrays of the same length")
    for name, r in (("birth", birth), ("death", death)):
        if not np.isfinite(r).all() or (r <= 0).any():
            raise ValueError(f"{name} rates must be finite and > 0")
    # w_k = prod_{i<k} r_i with r_i = birth_i/death_i, kept as mantissa * 2**exponent
    # (frexp) so that nothing under- or overflows; each w_k is off by at most
    # k + 1 roundings, relative to itself.
    mant, expo = np.frexp(birth / death)
    w_m = np.empty(mant.size)
    w_e = np.cumsum(expo, dtype=np.int64)
    carry, extra = 1.0, 0
    for start in range(0, mant.size, 256):  # 0.5**256 ~ 1e-77: no underflow in a chunk
        seg = carry * np.cumprod(mant[start : start + 256])
        w_m[start : start + 256] = seg
        w_e[start : start + 256] += extra
        carry, shift = np.frexp(seg[-1])
        extra += int(shift)
    w_m = np.concatenate(([1.0], w_m))
    w_e = np.concatenate(([0], w_e))
    # log2 of each weight, to scale the largest to about 1 before leaving frexp form.
    top = int(np.max(w_e + np.floor(np.log2(w_m)).astype(np.int64)))
    w = np.ldexp(w_m, w_e - top)
    return w / math.fsum(w)
