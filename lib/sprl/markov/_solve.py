"""The linear systems of :mod:`sprl.markov`: (I - Q) x = b for a sub-stochastic Q, by GTH
elimination (dense) or a sparse LU (large sparse input)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from .._gth import Elimination as _GTH




def _dense(P) -> np.ndarray:
    return P.toarray() if sp.issparse(P) else P


def _mmatrix_solve(P, states: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve (I - P[S, S]) x = b for S = ``states``, with the GTH diagonal.

    The diagonal 1 - P_ii is never formed by a subtraction: it is the sum of
    P[i, j] over j != i, inside and outside S.  The caller guarantees that S
    is left with positive probability from each of its states (M nonsingular).
    Dense P, and sparse P with at most ``SPARSE_DENSE_MAX`` states in S: blocked
    GTH elimination (sparse rows are densified).  Larger sparse systems: a
    sparse LU (``splu``) of the same matrix, which is only backward stable
    (error up to eps * cond(M) relative to the largest entry of the solution).
    """
    from . import SPARSE_DENSE_MAX  # the package's setting, read at call time

    b = np.asarray(b, dtype=float)
    m = states.size
    if m == 0:
        return np.zeros((0,) + b.shape[1:])
    inside = np.zeros(P.shape[0], dtype=bool)
    inside[states] = True
    if sp.issparse(P):
        rows = P[states].tocoo()  # validated CSR: no duplicate entries
        i, j, v = rows.row, rows.col, rows.data
        pos = np.full(P.shape[0], -1)
        pos[states] = np.arange(m)
        keep = inside[j] & (j != states[i])  # off-diagonal entries within S
        leave = ~inside[j]
        exits = np.bincount(i[leave], weights=v[leave], minlength=m)
        if m <= SPARSE_DENSE_MAX:
            Q = np.zeros((m, m))
            Q[i[keep], pos[j[keep]]] = v[keep]
            return _gth_solve(Q, exits, b, overwrite=True)
        off = exits + np.bincount(i[keep], weights=v[keep], minlength=m)
        W = sp.csc_matrix((v[keep], (i[keep], pos[j[keep]])), shape=(m, m))
        M = sp.csc_matrix(sp.diags(off)) - W
        try:
            return splu(M).solve(b)
        except RuntimeError:  # "Factor is exactly singular": cancellation in the LU
            raise ValueError(
                f"P is sparse and the linear system for its {m} states is larger than "
                f"SPARSE_DENSE_MAX = {SPARSE_DENSE_MAX}, so it goes to a sparse LU, which "
                "found it numerically singular (transition probabilities too small next to "
                "1 for a normwise-accurate solver); pass P.toarray() for the entrywise-accurate "
                "dense GTH elimination"
            ) from None
    Q = P[np.ix_(states, states)]
    exits = P[np.ix_(states, np.flatnonzero(~inside))].sum(axis=1)
    return _gth_solve(Q, exits, b, overwrite=True)


def _gth_solve(Q: np.ndarray, exits: np.ndarray, b: np.ndarray, *, overwrite: bool) -> np.ndarray:
    """``_GTH(Q, exits).solve(b)``; a pivot that underflows to 0, or a solution beyond
    the float64 range, is reported as a ValueError instead of returned as inf or nan."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            x = _GTH(Q, exits, overwrite=overwrite).solve(b)
    except np.linalg.LinAlgError:
        raise ValueError(
            "P has transition probabilities so small that the elimination underflows "
            "(a pivot, the probability of leaving a state, is 0 in float64)"
        ) from None
    if not np.isfinite(x).all():
        # e.g. a state left only along a path of probability 1e-432: the expected
        # number of visits, about 1e432, is finite but not a float64
        raise ValueError(
            "P has transition probabilities so small that the result overflows: an "
            "expected number of visits or steps is above the float64 range (1.8e308)"
        )
    return x
