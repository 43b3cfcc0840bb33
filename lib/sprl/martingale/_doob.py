r"""Doob's maximal inequalities, estimated from sample paths (book section 1.2).

Their exact references for the walk, :func:`~sprl.random_walk.walk_maximum_tail`
and :func:`~sprl.random_walk.walk_abs_moment`, live beside the walk in
:mod:`sprl.random_walk`.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_finite_array


def _paths(paths, name: str = "paths") -> np.ndarray:
    arr = as_finite_array(paths, name)
    if arr.ndim != 2 or arr.shape[1] < 1 or arr.shape[0] < 1:
        raise ValueError(
            f"{name} must be a 2-D array shaped (n_paths, n_steps + 1), got shape {arr.shape}"
        )
    return arr


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
    c = float(as_finite_array(c, "c"))
    if not c > 0:
        raise ValueError(f"c must be > 0, got {c!r}")
    order = float(as_finite_array(order, "order"))
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
    order = float(as_finite_array(order, "order"))
    if not order > 1:
        raise ValueError(f"order must be > 1, got {order!r}")
    a = np.abs(m)
    lhs = float((a.max(axis=1) ** order).mean())
    rhs = float((order / (order - 1.0)) ** order * (a[:, -1] ** order).mean())
    return lhs, rhs
