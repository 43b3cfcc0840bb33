"""Input checks of :mod:`sprl.markov`: transition matrices, state lists, absorbing states."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._checks import reject_text



#: Tolerance on row sums (and on P[s, s] = 1 for absorbing states).
ROW_SUM_ATOL = 1e-12


def validate_transition_matrix(P, name: str = "P", *, atol: float = ROW_SUM_ATOL):
    """Check that ``P`` is a transition matrix and return it as floats.

    The rules: a square, non-empty 2-D matrix of finite, non-negative numbers
    whose rows each sum to 1 within ``atol``.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix, shape (n, n)
    name : str
        The name used in error messages.
    atol : float
        Tolerance on the row sums.

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_array
        A float64 copy: dense input stays dense, sparse input becomes CSR
        (duplicates summed, indices sorted).

    Raises
    ------
    ValueError
        Naming ``name`` and the rule that failed.
    """
    if sp.issparse(P):
        try:
            M = sp.csr_array(P, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a matrix of numbers") from None
        M.sum_duplicates()
        M.sort_indices()
        data = M.data
    else:
        reject_text(P, name, "a square matrix of numbers")
        try:
            M = np.array(P, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a square matrix of numbers") from None
        data = M
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty square 2-D matrix, got shape {M.shape}")
    if not np.isfinite(data).all():
        raise ValueError(f"{name} must hold finite numbers (no nan or inf)")
    if (data < 0).any():
        if sp.issparse(M):
            i, j = M.nonzero()
            bad = int(np.flatnonzero(M.data < 0)[0])
            where, value = (int(i[bad]), int(j[bad])), M.data[bad]
        else:
            where = tuple(int(v) for v in np.argwhere(M < 0)[0])
            value = M[where]
        raise ValueError(
            f"{name} must not have negative entries: "
            f"{name}[{where[0]}, {where[1]}] = {float(value)!r}"
        )
    sums = np.asarray(M.sum(axis=1)).ravel()
    off = np.abs(sums - 1.0) > atol
    if off.any():
        i = int(np.flatnonzero(off)[0])
        raise ValueError(
            f"rows of {name} must sum to 1 (within {atol:g}); row {i} sums to {float(sums[i])!r}"
        )
    return M


def _as_states(states, n: int, name: str) -> np.ndarray:
    """A non-empty array of distinct state indices in [0, n) (order kept)."""
    arr = np.atleast_1d(np.asarray(states))
    if arr.ndim != 1 or arr.dtype == bool or arr.dtype == object:
        raise ValueError(f"{name} must be a list of state indices (integers)")
    if arr.size == 0:
        raise ValueError(f"{name} must name at least one state")
    if not np.issubdtype(arr.dtype, np.integer):
        try:
            f = arr.astype(float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a list of state indices (integers)") from None
        if not (np.isfinite(f).all() and (f == np.round(f)).all()):
            raise ValueError(f"{name} must be a list of state indices (integers)")
    arr = arr.astype(np.int64)
    if ((arr < 0) | (arr >= n)).any():
        bad = arr[(arr < 0) | (arr >= n)][0]
        raise ValueError(f"{name} must hold states in 0..{n - 1}, got {bad}")
    if np.unique(arr).size != arr.size:
        raise ValueError(f"{name} must not repeat a state")
    return arr


def _check_absorbing(P, absorbing, atol=ROW_SUM_ATOL) -> np.ndarray:
    n = P.shape[0]
    A = _as_states(absorbing, n, "absorbing")
    diag = np.asarray(P.diagonal() if sp.issparse(P) else np.diagonal(P))[A]
    bad = np.abs(diag - 1.0) > atol
    if bad.any():
        s = int(A[np.flatnonzero(bad)[0]])
        raise ValueError(
            f"absorbing state {s} has P[{s}, {s}] = {float(diag[np.flatnonzero(bad)[0]])!r}; "
            "an absorbing state must have P[s, s] = 1"
        )
    return A
