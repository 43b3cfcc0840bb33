r"""GTH elimination (Grassmann, Taksar and Heyman), shared by :mod:`sprl.markov`
and :mod:`sprl.ctmc`.

Both chapters need the same two computations on a matrix ``W`` of
non-negative transition rates between states (its diagonal is ignored):

* solve :math:`M x = b` with :math:`M = \operatorname{diag}(W\mathbf 1 + e) - W`,
  an M-matrix (``e`` the rates of leaving the set of states): the linear
  systems of absorption probabilities, times and visits;
* the stationary vector of the irreducible chain with rates ``W`` (``e = 0``):
  :math:`\pi(W - \operatorname{diag}(W\mathbf 1)) = 0`, which is
  :math:`\pi P = \pi` for a transition matrix (``W`` its off-diagonal part)
  and :math:`\pi Q = 0` for a generator (``W`` its off-diagonal rates).

Every pivot is recomputed as a sum of rates, never as a difference, and
every other operation adds or multiplies non-negative numbers, so each entry
of the result has a small error *relative to itself*.  The elimination is
blocked: ``BLOCK`` states at a time are removed through their censored chain
(a Schur complement of non-negative matrix products, done by BLAS), the
block's inverse built recursively down to ``LEAF`` states.
"""

from __future__ import annotations

import numpy as np

BLOCK = 256
LEAF = 32


def _leaf_inverse(W: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Inverse of M = diag(offdiag row sums of W + s) - offdiag(W), subtraction-free.

    Unblocked GTH factorisation M = L U (pivots recomputed as sums), then the
    inverses of the triangular factors by recurrences whose terms are all
    non-negative.  W is not modified.
    """
    b = W.shape[0]
    A = W.copy()
    s = s.astype(float, copy=True)
    d = np.empty(b)
    for k in range(b):
        row = A[k, k + 1 :]
        dk = row.sum() + s[k]
        if not dk > 0:
            raise np.linalg.LinAlgError("zero pivot in GTH elimination")
        d[k] = dk
        if k + 1 < b:
            col = A[k + 1 :, k]
            col /= dk
            A[k + 1 :, k + 1 :] += col[:, None] * row
            s[k + 1 :] += col * s[k]
    # L = I - strict_lower(A): L^{-1} row i = e_i + sum_{k<i} A[i, k] L^{-1} row k.
    Linv = np.eye(b)
    for i in range(1, b):
        Linv[i, :i] += A[i, :i] @ Linv[:i, :i]
    # U = diag(d) - strict_upper(A): U^{-1} row i = (e_i + A[i, i+1:] U^{-1}[i+1:]) / d_i.
    Uinv = np.zeros((b, b))
    for i in range(b - 1, -1, -1):
        if i + 1 < b:
            Uinv[i, i + 1 :] = A[i, i + 1 :] @ Uinv[i + 1 :, i + 1 :]
        Uinv[i, i] = 1.0
        Uinv[i, i:] /= d[i]
    return Uinv @ Linv


def _block_inverse(W: np.ndarray, s: np.ndarray) -> np.ndarray:
    """(Recursive) GTH inverse of M = diag(offdiag(W) 1 + s) - offdiag(W); all terms >= 0.

    With M = [[A, -W12], [-W21, D]] and S the (GTH) Schur complement,
    M^{-1} = [[A^{-1} + X S^{-1} Y', X S^{-1}], [S^{-1} Y', S^{-1}]] where
    X = A^{-1} W12 and Y' = W21 A^{-1}: every block is a product of
    non-negative matrices.
    """
    b = W.shape[0]
    if b <= LEAF:
        return _leaf_inverse(W, s)
    h = b // 2
    W12, W21 = W[:h, h:], W[h:, :h]
    Ai = _block_inverse(W[:h, :h], W12.sum(axis=1) + s[:h])
    X = Ai @ W12
    S = W[h:, h:] + W21 @ X  # its diagonal is ignored (only off-diagonal rates count)
    s2 = s[h:] + W21 @ (Ai @ s[:h])
    Si = _block_inverse(S, s2)
    Y = Si @ (W21 @ Ai)
    out = np.empty((b, b))
    out[:h, :h] = Ai + X @ Y
    out[:h, h:] = X @ Si
    out[h:, :h] = Y
    out[h:, h:] = Si
    return out


class Elimination:
    """Blocked GTH elimination of the states of W, in order, BLOCK at a time.

    ``W`` holds the transition rates between the states (its diagonal is
    ignored) and ``e`` the rate of leaving the set of states.  After
    elimination block k keeps, in place of W:

    * ``W[B, B]``: ``Minv_k``, the inverse of ``I - (censored chain on B)``;
    * ``W[B, R]``: ``Minv_k @ W[B, R]`` (R = the later states);
    * ``W[R, B]``: the rates from R into B at the time B was eliminated;

    while ``W[R, R]`` becomes the censored chain on R,
    ``W[R, R] + W[R, B] Minv_k W[B, R]``.  With ``singular=True`` (a closed,
    irreducible chain: no exits) the last block is not inverted: its censored
    chain is kept for the stationary distribution.
    """

    def __init__(self, W: np.ndarray, e: np.ndarray | None = None, *, singular: bool = False,
                 overwrite: bool = False):
        n = W.shape[0]
        if not (overwrite and W.flags.c_contiguous and W.dtype == float):
            W = np.array(W, dtype=float, order="C")
        np.fill_diagonal(W, 0.0)
        e = np.zeros(n) if e is None else np.array(e, dtype=float)
        self.W, self.n, self.singular = W, n, singular
        self.blocks = [(k0, min(k0 + BLOCK, n)) for k0 in range(0, n, BLOCK)]
        buf = None
        for k0, k1 in self.blocks:
            W11, W12, W21 = W[k0:k1, k0:k1], W[k0:k1, k1:], W[k1:, k0:k1]
            if k1 == n and singular:
                break
            Minv = _block_inverse(W11, W12.sum(axis=1) + e[k0:k1])
            if k1 < n:
                X = Minv @ W12
                m = n - k1
                if buf is None:
                    buf = np.empty((m, m))
                prod = buf[:m, :m]
                np.matmul(W21, X, out=prod)
                W[k1:, k1:] += prod
                if e[k0:k1].any():
                    e[k1:] += W21 @ (Minv @ e[k0:k1])
                W12[...] = X
            W11[...] = Minv

    def solve(self, b: np.ndarray) -> np.ndarray:
        """x with M x = b (b of shape (n,) or (n, k)); exact-sign terms for b >= 0."""
        W = self.W
        b = np.array(b, dtype=float)
        c = []
        for k0, k1 in self.blocks:  # forward: eliminate block k from the right-hand side
            ck = W[k0:k1, k0:k1] @ b[k0:k1]
            if k1 < self.n:
                b[k1:] += W[k1:, k0:k1] @ ck
            c.append(ck)
        x = np.empty_like(b)
        for (k0, k1), ck in zip(reversed(self.blocks), reversed(c)):  # backward
            x[k0:k1] = ck + W[k0:k1, k1:] @ x[k1:] if k1 < self.n else ck
        return x

    def stationary(self) -> np.ndarray:
        """Unnormalised stationary vector (singular mode)."""
        W = self.W
        k0, k1 = self.blocks[-1]
        x = np.zeros(self.n)
        x[k0:] = unblocked_stationary(W[k0:, k0:])
        for j0, j1 in reversed(self.blocks[:-1]):
            x[j0:j1] = (x[j1:] @ W[j1:, j0:j1]) @ W[j0:j1, j0:j1]
        return x


def unblocked_stationary(R: np.ndarray) -> np.ndarray:
    """Stationary vector of the irreducible chain with off-diagonal rates R (classic GTH)."""
    A = np.array(R, dtype=float)
    n = A.shape[0]
    np.fill_diagonal(A, 0.0)
    for k in range(n - 1):
        scale = A[k, k + 1 :].sum()
        if not scale > 0:
            raise np.linalg.LinAlgError("zero pivot in GTH elimination")
        col = A[k + 1 :, k]
        col /= scale
        A[k + 1 :, k + 1 :] += col[:, None] * A[k, k + 1 :]
    x = np.zeros(n)
    x[-1] = 1.0
    for k in range(n - 2, -1, -1):
        x[k] = x[k + 1 :] @ A[k + 1 :, k]
    return x / x.sum()


def stationary(W: np.ndarray, *, overwrite: bool = False) -> np.ndarray:
    """Stationary probability vector of the irreducible chain with rates ``W``.

    Raises :class:`numpy.linalg.LinAlgError` if a pivot underflows to zero.
    """
    if W.shape[0] == 1:
        return np.ones(1)
    x = Elimination(W, singular=True, overwrite=overwrite).stationary()
    return x / x.sum()
