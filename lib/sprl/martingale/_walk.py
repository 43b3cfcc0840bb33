r"""Martingales of the walk, betting systems and stopped walks (book section 1.2).

The walk :math:`X_n = k + \xi_1 + \dots + \xi_n` with
:math:`\mathbb P(\xi = 1) = p`, :math:`\mathbb P(\xi = -1) = q`.
"""

from __future__ import annotations

import numpy as np

from .._checks import (
    as_finite_array,
    as_int,
    as_int_array,
    as_open_probability,
    as_probability,
    as_rng,
    float_or_array,
)
from ..gambling import _log_odds


# ------------------------------------------------------ martingales of the walk


def _walk_at(X, n, p):
    """Checked position ``X``, time ``n >= 0`` and up-probability ``p`` of the walk."""
    return as_int_array(X, "X"), as_int_array(n, "n", minimum=0), as_probability(p, "p")


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
    p = as_open_probability(p, "p")
    with np.errstate(over="ignore"):
        out = np.exp(X * _log_odds(p))
    return float_or_array(out)


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
    X, n, p = _walk_at(X, n, p)
    return float_or_array(X - n * (2.0 * p - 1.0))


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
    X, n, p = _walk_at(X, n, p)
    d = 2.0 * p - 1.0
    variance = 4.0 * p * (1.0 - p)
    return float_or_array((X - n * d) ** 2 - n * variance)


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
    dx = as_finite_array(increments, "increments")
    h = as_finite_array(stakes, "stakes")
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
