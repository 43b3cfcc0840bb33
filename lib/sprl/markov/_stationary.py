"""Stationary distributions by blocked GTH elimination (section 1.1.3)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._graph import classes as _classes
from .._gth import Elimination as _GTH
from ._checks import validate_transition_matrix
from ._solve import _dense


def stationary_distributions(P):
    r"""One stationary distribution per recurrent (closed) class.

    Section 1.1.3.  Every stationary distribution of a finite chain is a
    mixture of these.  Each is computed on its class by blocked GTH
    elimination (module notes), which gives every entry to a small relative
    error even when entries span dozens of orders of magnitude.

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
        Sparse input is densified class by class (the elimination is dense:
        :math:`O(m^3)` for a class of :math:`m` states).

    Returns
    -------
    numpy.ndarray, shape (n_recurrent_classes, n)
        Row ``c`` is the stationary distribution supported on the ``c``-th
        closed class (classes ordered by their smallest state, as in
        :func:`recurrent_classes`); zero on transient states.
    """
    P = validate_transition_matrix(P)  # a fresh copy: ours to overwrite
    n = P.shape[0]
    if _dense_irreducible(P):  # fast path: no graph search needed
        classes = [np.arange(n)]
    else:
        labels, closed = _classes(P)
        classes = [np.flatnonzero(labels == c) for c in np.flatnonzero(closed)]
        classes.sort(key=lambda c: c[0])
    out = np.zeros((len(classes), n))
    for row, C in zip(out, classes):
        if C.size == 1:
            row[C] = 1.0
            continue
        if C.size == n and not sp.issparse(P):
            W, own = P, True
        else:
            W, own = (_dense(P[C][:, C]) if sp.issparse(P) else P[np.ix_(C, C)]), True
        try:
            x = _GTH(W, singular=True, overwrite=own).stationary()
        except np.linalg.LinAlgError:  # pragma: no cover - underflowing rates
            raise ValueError(
                "P has transition probabilities so small that the elimination underflows"
            ) from None
        row[C] = x / x.sum()
    return out


def _dense_irreducible(P) -> bool:
    """True for a dense P whose off-diagonal entries are all positive (then irreducible)."""
    if sp.issparse(P):
        return False
    positive = P > 0
    np.fill_diagonal(positive, True)
    return bool(positive.all())


def stationary_distribution(P):
    r"""The stationary distribution :math:`\pi = \pi P` of a chain with one recurrent class.

    Section 1.1.3.  Computed by blocked GTH elimination (see the module
    notes): on the KMR-type test chain, whose entries span :math:`10^{-35}`
    to 0.87, every entry is right to about :math:`10^{-15}` relative.  Its
    speed is about that of a LAPACK solve and many times that of an unblocked
    GTH (``benchmarks/bench_markov.py``, results in ``benchmarks/README.md``).

    The diagonal of ``P`` is never used: :math:`P_{kk}` is taken as one minus
    the off-diagonal row sum, i.e. the result is exact for the chain whose rows
    sum to exactly 1.  (Rounding in the rows of a float matrix acts like a tiny
    leak, which can move entries near :math:`10^{-30}` by orders of magnitude
    in methods that use the stored diagonal.)

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
        Sparse input is densified class by class, as in
        :func:`stationary_distributions` (same accuracy as dense input).

    Returns
    -------
    numpy.ndarray, shape (n,)
        Zero on transient states.

    Raises
    ------
    ValueError
        If the chain has several recurrent classes (then the stationary
        distribution is not unique; use :func:`stationary_distributions`).

    Examples
    --------
    >>> stationary_distribution([[0.5, 0.5], [0.25, 0.75]]).round(12).tolist()
    [0.333333333333, 0.666666666667]
    """
    pis = stationary_distributions(P)
    if pis.shape[0] != 1:
        classes = [np.flatnonzero(row > 0).tolist()[:5] for row in pis]
        raise ValueError(
            f"P has {pis.shape[0]} recurrent classes (starting {classes}), so its stationary "
            "distribution is not unique; use stationary_distributions(P) for one per class"
        )
    return pis[0]
