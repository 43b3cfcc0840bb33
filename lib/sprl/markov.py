r"""Discrete-time Markov chains (book section 1.1.3, *Discrete-Time Markov Chains*).

A chain on the states :math:`0, \dots, n-1` is given by its transition matrix
:math:`P` (rows sum to 1); distributions are row vectors,
:math:`\pi_{n+1} = \pi_n P`.  Every function accepts a dense array or a
``scipy.sparse`` matrix and checks it with :func:`validate_transition_matrix`.

The quantities of the chapter, for a set :math:`A` of absorbing states, its
hitting time :math:`T_A = \inf\{n \ge 0 : Z_n \in A\}` and the return time
:math:`T_j^r = \inf\{n \ge 1 : Z_n = j\}`:

* :func:`absorption_probabilities` :math:`g_l(k) = \mathbb{P}(Z_{T_A} = l \mid Z_0 = k)`;
* :func:`expected_absorption_time`
  :math:`h_A(k) = \mathbb{E}[\sum_{n=0}^{T_A - 1} r(Z_n) \mid Z_0 = k]`
  (:math:`r \equiv 1`: :math:`\mathbb{E}[T_A]`);
* :func:`fundamental_matrix` :math:`N = (I - Q)^{-1}`;
* :func:`expected_return_time` :math:`\mu_j(i) = \mathbb{E}[T_j^r \mid Z_0 = i]`;
* :func:`hitting_probability` :math:`p_{ij} = \mathbb{P}(T_j^r < \infty \mid Z_0 = i)`;
* :func:`expected_visits` :math:`\mathbb{E}[R_j \mid Z_0 = i]`,
  :math:`R_j = \sum_{n \ge 1}\mathbb 1\{Z_n = j\}`;
* :func:`stationary_distribution` :math:`\pi = \pi P`;
* :func:`simulate_chain`.

Accuracy.  All linear systems here have the form :math:`M x = b` with
:math:`M = I - Q` for a sub-stochastic :math:`Q`: an M-matrix.  They are
solved by GTH-style elimination (Grassmann, Taksar and Heyman): the diagonal
:math:`1 - Q_{ii}` is never formed by a subtraction but recomputed as the sum
of the other transition probabilities out of state :math:`i` (off-diagonal
entries plus the probability of leaving the set); every other operation
adds or multiplies non-negative numbers.  So each entry of the result carries
a small *relative* error, even for probabilities of :math:`10^{-35}` next to
probabilities near 1, where a normal LU solve only promises a small error
relative to the largest entry.  The elimination is blocked: a block of
states is removed at once through the censored chain (Schur complement)
:math:`W_{22} + W_{21}(I - W_{11})^{-1}W_{12}`, a sum of non-negative terms,
so the work is done by matrix products (BLAS), close to the speed of a LAPACK
solve.

Sparse input.  The elimination is dense.  A ``scipy.sparse`` ``P`` is
densified, so it gets exactly the accuracy above, for every stationary
distribution (class by class) and for every linear system of at most
``SPARSE_DENSE_MAX`` = 4096 states.  A larger sparse system is solved by a
sparse LU (``scipy.sparse.linalg.splu``) of the same matrix :math:`I - Q` with
the GTH diagonal: no densification, but only backward stability, i.e. an
error up to :math:`\varepsilon` times the condition number of :math:`I - Q`
relative to the largest entry of the result, which is large exactly for the
chains with rare transitions (forced through the sparse LU, the 28-state KMR
chain of the tests gets its mean return times with relative errors of
:math:`10^{-4}` to 0.04, or a numerically singular factor); a
``ValueError`` is raised, never a
``RuntimeError``, when that LU finds the system numerically singular.  Pass a
dense ``P`` for entrywise accuracy at any size.
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph
from scipy.sparse.linalg import splu

from ._checks import as_int, as_rng
from ._graph import classes as _classes
from ._graph import graph as _graph
from ._graph import reaching as _reaching
from ._gth import Elimination as _GTH

__all__ = [
    "validate_transition_matrix",
    "communicating_classes",
    "recurrent_classes",
    "transient_states",
    "evolve_distribution",
    "absorption_probabilities",
    "expected_absorption_time",
    "fundamental_matrix",
    "expected_return_time",
    "hitting_probability",
    "expected_visits",
    "stationary_distribution",
    "stationary_distributions",
    "simulate_chain",
]

#: Tolerance on row sums (and on P[s, s] = 1 for absorbing states).
ROW_SUM_ATOL = 1e-12
#: Sparse input: linear systems of up to this many states are densified and
#: solved by GTH elimination (entrywise accurate, O(m**3) time, 8 m**2 bytes);
#: larger ones go to a sparse LU, which is only backward stable.
SPARSE_DENSE_MAX = 4096



# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# graph structure
# --------------------------------------------------------------------------


def communicating_classes(P):
    """The communicating classes of the chain, and which of them are closed.

    Section 1.1.3.  States ``i`` and ``j`` communicate when each can be
    reached from the other; a class is *closed* (recurrent, for a finite
    chain) when no transition leaves it, otherwise its states are transient.
    Found as the strongly connected components of the transition graph
    (``scipy.sparse.csgraph.connected_components``).

    Returns
    -------
    classes : list of numpy.ndarray
        The states of each class, sorted; classes ordered by their smallest state.
    closed : numpy.ndarray of bool, shape (len(classes),)
    """
    P = validate_transition_matrix(P)
    labels, closed = _classes(P)
    classes = [np.flatnonzero(labels == c) for c in range(closed.size)]
    order = np.argsort([c[0] for c in classes])
    return [classes[o] for o in order], closed[order]


def recurrent_classes(P):
    """The closed (recurrent) classes, each a sorted array of states, ordered by smallest state."""
    classes, closed = communicating_classes(P)
    return [c for c, k in zip(classes, closed) if k]


def transient_states(P):
    """Sorted array of the transient states (those outside every closed class)."""
    P = validate_transition_matrix(P)
    labels, closed = _classes(P)
    return np.flatnonzero(~closed[labels])


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
    """``_GTH(Q, exits).solve(b)``, with an underflowing pivot reported as a ValueError."""
    try:
        return _GTH(Q, exits, overwrite=overwrite).solve(b)
    except np.linalg.LinAlgError:
        raise ValueError(
            "P has transition probabilities so small that the elimination underflows "
            "(a pivot, the probability of leaving a state, is 0 in float64)"
        ) from None


# --------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------


def evolve_distribution(P, pi0, n_steps):
    r"""Distributions :math:`\pi_0, \pi_1, \dots, \pi_n` with :math:`\pi_{m+1} = \pi_m P`.

    Section 1.1.3 (distributions are row vectors).

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
    pi0 : array_like, shape (n,)
        Initial distribution (non-negative, sums to 1).
    n_steps : int
        Number of steps, ``>= 0``.

    Returns
    -------
    numpy.ndarray, shape (n_steps + 1, n)
        Row ``m`` is :math:`\pi_m`.
    """
    P = validate_transition_matrix(P)
    n = P.shape[0]
    n_steps = as_int(n_steps, "n_steps", minimum=0)
    pi = np.asarray(pi0, dtype=float)
    if pi.shape != (n,) or not np.isfinite(pi).all() or (pi < 0).any():
        raise ValueError(f"pi0 must be a non-negative vector of length {n}")
    if abs(pi.sum() - 1.0) > ROW_SUM_ATOL * max(n, 1):
        raise ValueError(f"pi0 must sum to 1, sums to {float(pi.sum())!r}")
    out = np.empty((n_steps + 1, n))
    out[0] = pi
    PT = P.T
    for m in range(n_steps):
        out[m + 1] = PT @ out[m]
    return out


def absorption_probabilities(P, absorbing):
    r"""Absorption probabilities :math:`g_l(k) = \mathbb{P}(Z_{T_A} = l \mid Z_0 = k)`.

    Section 1.1.3.  For :math:`k \notin A` they solve

    .. math::

       g_l(k) = P_{kl} + \sum_{m \notin A} P_{km}\, g_l(m),
       \qquad\text{i.e.}\qquad (I - Q)\,G = R

    in the canonical form :math:`P = \begin{pmatrix} Q & R \\ 0 & I\end{pmatrix}`,
    and :math:`g_l(l) = 1`, :math:`g_l(k) = 0` for the other :math:`k \in A`.

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
        Transition matrix.
        Sparse input is as accurate as dense up to ``SPARSE_DENSE_MAX`` (4096)
        states; larger sparse systems use a sparse LU that is only backward
        stable (see *Sparse input* in the module notes).
    absorbing : sequence of int
        The states of :math:`A`; each must have ``P[s, s] == 1``.

    Returns
    -------
    numpy.ndarray, shape (n, len(absorbing))
        Entry ``[k, i]`` is the probability that the chain started at ``k`` is
        absorbed in ``absorbing[i]`` (columns in the order given).  Rows of
        states from which :math:`A` is reached with probability one sum to 1;
        from a state that may never reach :math:`A` the row sums to less
        (to 0 if :math:`A` is unreachable).

    Notes
    -----
    Solved by blocked GTH elimination (module notes): entries keep a small
    relative error even when they are as small as :math:`10^{-30}`.

    Examples
    --------
    Grinstead & Snell's drunkard's walk on 0..4 (absorbing ends):

    >>> from sprl.gambling import transition_matrix
    >>> absorption_probabilities(transition_matrix(4, 0.5), [0, 4])[1:4].round(12).tolist()
    [[0.75, 0.25], [0.5, 0.5], [0.25, 0.75]]
    """
    P = validate_transition_matrix(P)
    n = P.shape[0]
    A = _check_absorbing(P, absorbing)
    G = _graph(P)
    can = _reaching(G, A)
    is_A = np.zeros(n, dtype=bool)
    is_A[A] = True
    S = np.flatnonzero(can & ~is_A)
    out = np.zeros((n, A.size))
    out[A, np.arange(A.size)] = 1.0
    if S.size:
        rhs = _dense(P[S][:, A]) if sp.issparse(P) else P[np.ix_(S, A)]
        out[S] = _mmatrix_solve(P, S, rhs)
    return out


def _certain_absorption(P, G, A: np.ndarray, blocked=None) -> np.ndarray:
    """Mask of the states outside A from which A is hit with probability one."""
    n = P.shape[0]
    is_A = np.zeros(n, dtype=bool)
    is_A[A] = True
    can = _reaching(G, A, blocked)
    lost = np.flatnonzero(~can & ~is_A)
    if lost.size == 0:
        return ~is_A
    stuck = _reaching(G, lost, A if blocked is None else np.union1d(A, blocked))
    return ~is_A & ~stuck


def expected_absorption_time(P, absorbing, reward=None):
    r"""Expected time to absorption, or expected total reward collected before it.

    .. math::

       h_A(k) = \mathbb{E}\Bigl[\sum_{n=0}^{T_A - 1} r(Z_n) \Bigm| Z_0 = k\Bigr],
       \qquad T_A = \inf\{n \ge 0 : Z_n \in A\},

    which solves :math:`h_A(k) = r(k) + \sum_{m \notin A} P_{km} h_A(m)` for
    :math:`k \notin A` (:math:`h_A = r + Q h_A`) and :math:`h_A = 0` on
    :math:`A`.  With the default :math:`r \equiv 1` it is
    :math:`\mathbb{E}[T_A \mid Z_0 = k]`.  Section 1.1.3 (the notes sum to
    :math:`T_A`, which does not match :math:`h_A = r + Qh_A`; see the errata).

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
        Sparse input is as accurate as dense up to ``SPARSE_DENSE_MAX`` (4096)
        states; larger sparse systems use a sparse LU that is only backward
        stable (see *Sparse input* in the module notes).
    absorbing : sequence of int
        The states of :math:`A` (each with ``P[s, s] == 1``).
    reward : array_like, shape (n,), optional
        :math:`r(k)`, finite.  Default: all ones.

    Returns
    -------
    numpy.ndarray, shape (n,)
        :math:`h_A(k)` for every state (0 on :math:`A`).  With the default
        reward, ``inf`` where absorption is not certain.

    Raises
    ------
    ValueError
        With a custom ``reward``, if absorption is not certain from some
        state (the expected total reward is then not defined by the equation).

    Examples
    --------
    >>> from sprl.gambling import transition_matrix
    >>> expected_absorption_time(transition_matrix(4, 0.5), [0, 4]).round(12).tolist()
    [0.0, 3.0, 4.0, 3.0, 0.0]
    """
    P = validate_transition_matrix(P)
    n = P.shape[0]
    A = _check_absorbing(P, absorbing)
    if reward is None:
        r = np.ones(n)
    else:
        try:
            r = np.asarray(reward, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"reward must be a finite array of length {n}") from None
        if r.shape != (n,) or not np.isfinite(r).all():
            raise ValueError(f"reward must be a finite array of length {n}, got shape {r.shape}")
    certain = _certain_absorption(P, _graph(P), A)
    is_A = np.zeros(n, dtype=bool)
    is_A[A] = True
    uncertain = np.flatnonzero(~certain & ~is_A)
    if uncertain.size and reward is not None:
        raise ValueError(
            f"absorption in `absorbing` is not certain from state(s) {uncertain[:10].tolist()}: "
            "the expected total reward is not defined there"
        )
    S = np.flatnonzero(certain)
    h = np.zeros(n)
    h[uncertain] = np.inf
    if S.size:
        h[S] = _mmatrix_solve(P, S, r[S])
    return h


def fundamental_matrix(P, absorbing):
    r"""The fundamental matrix :math:`N = (I - Q)^{-1}` of an absorbing chain.

    :math:`Q` is :math:`P` restricted to the non-absorbing states :math:`T`
    (in increasing order).  :math:`N_{ij}` is the expected number of visits to
    :math:`j` (counting time 0) before absorption, starting from :math:`i`;
    :math:`N\mathbf 1` is the expected absorption time and :math:`NR` the
    absorption probabilities.  Section 1.1.3; Grinstead & Snell, ch. 11.

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
        Sparse input is as accurate as dense up to ``SPARSE_DENSE_MAX`` (4096)
        states; larger sparse systems use a sparse LU that is only backward
        stable (see *Sparse input* in the module notes).
    absorbing : sequence of int
        Absorbing states; absorption must be certain from every other state.

    Returns
    -------
    numpy.ndarray, shape (n - len(absorbing), n - len(absorbing))
        Rows and columns follow the non-absorbing states in increasing order.

    Raises
    ------
    ValueError
        If absorption is not certain from some state (then :math:`I - Q` is
        singular).

    Examples
    --------
    >>> from sprl.gambling import transition_matrix
    >>> fundamental_matrix(transition_matrix(4, 0.5), [0, 4]).round(12).tolist()
    [[1.5, 1.0, 0.5], [1.0, 2.0, 1.0], [0.5, 1.0, 1.5]]
    """
    P = validate_transition_matrix(P)
    n = P.shape[0]
    A = _check_absorbing(P, absorbing)
    certain = _certain_absorption(P, _graph(P), A)
    is_A = np.zeros(n, dtype=bool)
    is_A[A] = True
    T = np.flatnonzero(~is_A)
    if not certain[T].all():
        bad = T[~certain[T]][:10].tolist()
        raise ValueError(
            f"absorption in `absorbing` is not certain from state(s) {bad}: I - Q is singular"
        )
    return _mmatrix_solve(P, T, np.eye(T.size))


def expected_return_time(P, j):
    r"""Mean first-passage times :math:`\mu_j(i) = \mathbb{E}[T_j^r \mid Z_0 = i]` to ``j``.

    :math:`T_j^r = \inf\{n \ge 1 : Z_n = j\}`, so :math:`\mu_j(j)` is the mean
    return time.  Section 1.1.3: first-step analysis gives

    .. math::

       \mu_j(i) = 1 + \sum_{m \ne j} P_{im}\, \mu_j(m)

    (the sum leaves out :math:`m = j`: arriving at :math:`j` ends the count;
    see the errata).  For an irreducible chain :math:`\mu_j(j) = 1/\pi_j`.

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
        Sparse input is as accurate as dense up to ``SPARSE_DENSE_MAX`` (4096)
        states; larger sparse systems use a sparse LU that is only backward
        stable (see *Sparse input* in the module notes).
    j : int
        Target state.

    Returns
    -------
    numpy.ndarray, shape (n,)
        :math:`\mu_j(i)` for every ``i``; ``inf`` where :math:`j` is missed with
        positive probability (then the mean is infinite).

    Examples
    --------
    >>> expected_return_time([[0.5, 0.5], [0.25, 0.75]], 0).tolist()  # 1/pi_0 = 3
    [3.0, 4.0]
    """
    P = validate_transition_matrix(P)
    n = P.shape[0]
    j = as_int(j, "j", minimum=0, maximum=n - 1)
    G = _graph(P)
    target = np.array([j])
    # States i != j from which j is hit with probability one (paths may not pass j).
    good = _certain_absorption(P, G, target, blocked=target)
    S = np.flatnonzero(good)
    mu = np.full(n, np.inf)
    if S.size:
        mu[S] = _mmatrix_solve(P, S, np.ones(S.size))
    row = _dense(P[[j]]).ravel() if sp.issparse(P) else P[j]
    others = np.ones(n, dtype=bool)
    others[j] = False
    if (row[others & ~good] > 0).any():
        mu[j] = np.inf
    else:
        mu[j] = 1.0 + row[S] @ mu[S]
    return mu


def _transient_data(P):
    """Transient states T, labels, closed flags and N = (I - Q_TT)^{-1} (GTH)."""
    labels, closed = _classes(P)
    T = np.flatnonzero(~closed[labels])
    N = _mmatrix_solve(P, T, np.eye(T.size)) if T.size else np.zeros((0, 0))
    return T, labels, closed, N


def hitting_probability(P):
    r"""Return probabilities :math:`p_{ij} = \mathbb{P}(T_j^r < \infty \mid Z_0 = i)`, all pairs.

    :math:`T_j^r = \inf\{n \ge 1: Z_n = j\}`.

    Section 1.1.3 (:math:`p_{ij} = \sum_{n \ge 1} f_{ij}^{(n)}`).  Computed from
    the class structure and the fundamental matrix :math:`N = (I - Q)^{-1}` of
    the transient states :math:`T`:

    * :math:`j` recurrent, in the closed class :math:`C`: :math:`p_{ij} = 1` for
      :math:`i \in C`, the probability of ever entering :math:`C`,
      :math:`(N P_{TC}\mathbf 1)_i`, for transient :math:`i`, and 0 otherwise;
    * :math:`j` transient: :math:`p_{ij} = N_{ij}/N_{jj}` for transient
      :math:`i \ne j`,
      :math:`p_{jj} = P_{jj} + \sum_{m \in T, m \ne j} P_{jm} N_{mj}/N_{jj}`,
      and 0 from recurrent :math:`i`.

    Every term is non-negative, so small probabilities keep their relative
    accuracy (:math:`p_{jj}` is not formed as :math:`1 - 1/N_{jj}`).

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
        Sparse input is as accurate as dense up to ``SPARSE_DENSE_MAX`` (4096)
        states; larger sparse systems use a sparse LU that is only backward
        stable (see *Sparse input* in the module notes).

    Returns
    -------
    numpy.ndarray, shape (n, n)

    Examples
    --------
    >>> from sprl.gambling import transition_matrix
    >>> hitting_probability(transition_matrix(4, 0.5))[2].round(12).tolist()
    [0.5, 0.666666666667, 0.5, 0.666666666667, 0.5]
    """
    P = validate_transition_matrix(P)
    n = P.shape[0]
    T, labels, closed, N = _transient_data(P)
    Pd = _dense(P)
    H = np.zeros((n, n))
    # j recurrent
    for c in np.flatnonzero(closed):
        C = np.flatnonzero(labels == c)
        H[np.ix_(C, C)] = 1.0
        if T.size:
            enter = N @ Pd[np.ix_(T, C)].sum(axis=1)
            H[np.ix_(T, C)] = enter[:, None]
    # j transient
    if T.size:
        Njj = np.diagonal(N)
        ratio = N / Njj[None, :]  # P(reach j from i), i != j, within T
        H[np.ix_(T, T)] = ratio
        PTT = Pd[np.ix_(T, T)]
        off = PTT.copy()
        np.fill_diagonal(off, 0.0)
        ratio_off = ratio.copy()
        np.fill_diagonal(ratio_off, 0.0)
        H[T, T] = np.diagonal(PTT) + np.einsum("jm,mj->j", off, ratio_off)
    return H


def expected_visits(P):
    r"""Expected numbers of visits :math:`\mathbb{E}[R_j \mid Z_0 = i]`, all pairs.

    :math:`R_j = \sum_{n \ge 1}\mathbb 1\{Z_n = j\}` counts the visits after time 0.

    Section 1.1.3.  :math:`R_j` is 0 with probability :math:`1 - p_{ij}` and
    otherwise geometric, so

    .. math::

       \mathbb{E}[R_j \mid Z_0 = i] = \frac{p_{ij}}{1 - p_{jj}}
       = \sum_{n \ge 1} [P^n]_{ij},

    infinite when :math:`p_{ij} > 0` and :math:`j` is recurrent
    (:math:`p_{jj} = 1`).  For transient :math:`i, j` it equals
    :math:`N_{ij} - \mathbb 1\{i = j\}` with :math:`N = (I - Q)^{-1}` (the notes
    write :math:`(I - P)^{-1}`, which does not exist; see the errata).

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
        Sparse input is as accurate as dense up to ``SPARSE_DENSE_MAX`` (4096)
        states; larger sparse systems use a sparse LU that is only backward
        stable (see *Sparse input* in the module notes).

    Returns
    -------
    numpy.ndarray, shape (n, n)
        With ``inf`` entries where the expected number is infinite.

    Examples
    --------
    >>> from sprl.gambling import transition_matrix
    >>> expected_visits(transition_matrix(4, 0.5))[2].tolist()
    [inf, 1.0, 1.0, 1.0, inf]
    """
    P = validate_transition_matrix(P)
    H = hitting_probability(P)
    T, _, _, N = _transient_data(P)
    E = np.where(H > 0, np.inf, 0.0)  # recurrent j: infinitely many returns once hit
    if T.size:
        # Transient j: p_ij N_jj, which is N_ij itself for i != j (1/(1 - p_jj) = N_jj).
        E[:, T] = 0.0
        block = N.copy()
        np.fill_diagonal(block, H[T, T] * np.diagonal(N))
        E[np.ix_(T, T)] = block
    return E


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
    to 0.87, every entry is right to about :math:`10^{-15}` relative.  On a
    dense 3000-state chain it took 0.41 s on the idle 2-core project machine,
    0.78 times a LAPACK solve and 23.5 times faster than quantecon's unblocked
    GTH (6-8 times under load from other jobs; ``benchmarks/bench_markov.py``,
    results in ``benchmarks/README.md``).

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


# --------------------------------------------------------------------------
# simulation
# --------------------------------------------------------------------------


class _Successors:
    """Inverse-CDF sampling of the next state, row by row.

    The positive entries of each row are packed to the left (``cols``), their
    cumulative sums in ``cum`` with the last one set to exactly 1 (so that a
    uniform in [0, 1) never falls past the last possible state, and a state of
    probability zero is never drawn).
    """

    def __init__(self, P):
        n = P.shape[0]
        if sp.issparse(P):
            Pc = P.copy()
            Pc.eliminate_zeros()
            nnz = np.diff(Pc.indptr)
            m = int(nnz.max())
            pos = np.arange(Pc.indices.size) - np.repeat(Pc.indptr[:-1], nnz)
            rows = np.repeat(np.arange(n), nnz)
            vals = np.zeros((n, m))
            cols = np.zeros((n, m), dtype=np.int64)
            vals[rows, pos] = Pc.data
            cols[rows, pos] = Pc.indices
        else:
            positive = P > 0
            nnz = positive.sum(axis=1)
            m = int(nnz.max())
            if nnz.min() == n:  # no zero entries: nothing to pack
                vals, cols = P, None
            else:
                order = np.argsort(~positive, axis=1, kind="stable")[:, :m]
                vals = np.take_along_axis(P, order, axis=1)
                cols = order
        cum = np.cumsum(vals, axis=1)
        cum[np.arange(m)[None, :] >= (nnz - 1)[:, None]] = 1.0
        self.cum, self.cols = cum, cols

    def draw(self, states, sizes, u: np.ndarray) -> np.ndarray:
        """``sizes[i]`` next states drawn from each of ``states[i]``, grouped by state.

        ``u`` holds ``sum(sizes)`` uniforms; inverse CDF by ``searchsorted`` on
        one row at a time (a row is small enough to stay in cache).
        """
        out = np.empty(u.size, dtype=np.int64)
        end = 0
        for s, k in zip(states, sizes):
            j = np.searchsorted(self.cum[s], u[end : end + k], side="right")
            out[end : end + k] = j if self.cols is None else self.cols[s][j]
            end += k
        return out


def simulate_chain(P, x0, n_steps, rng=None):
    r"""Simulate one path :math:`Z_0 = x_0, Z_1, \dots, Z_{n}` of the chain.

    No Python-level work per step.  The next states are drawn *per state*,
    ahead of time and vectorised: state :math:`i` gets a stack of independent
    draws from row :math:`i` of :math:`P` (inverse CDF with ``searchsorted``).
    The path then takes, at each visit to :math:`i`, the next unused draw of
    :math:`i`'s stack; since every draw is fresh and independent, this is
    exactly the Markov chain.  That walk through the stacks runs inside
    CPython's C iterators (a list that feeds itself through ``map(next, ...)``),
    about as fast as a compiled loop; a stack that runs out is refilled,
    sized from the visits seen so far.

    Parameters
    ----------
    P : array_like or sparse, shape (n, n)
    x0 : int
        Initial state.
    n_steps : int
        Number of steps, ``>= 0``.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    numpy.ndarray of int64, shape (n_steps + 1,)
        ``path[t]`` is :math:`Z_t`; ``path[0] == x0``.

    Examples
    --------
    >>> path = simulate_chain([[0.0, 1.0], [1.0, 0.0]], 0, 5, rng=1)
    >>> path.tolist()
    [0, 1, 0, 1, 0, 1]
    """
    P = validate_transition_matrix(P)
    n = P.shape[0]
    x0 = as_int(x0, "x0", minimum=0, maximum=n - 1)
    n_steps = as_int(n_steps, "n_steps", minimum=0)
    rng = as_rng(rng)
    if n_steps == 0:
        return np.array([x0], dtype=np.int64)
    succ = _Successors(P)
    names = np.array(list(range(n)), dtype=object)  # one int object per state, shared
    its = [iter(()) for _ in range(n)]  # its[i]: the unused draws of state i
    drawn = np.zeros(n, dtype=np.int64)  # draws made per state
    visits = np.zeros(n, dtype=np.int64)  # departures per state so far

    def refill(states, sizes):
        states_l, sizes_l = states.tolist(), sizes.tolist()
        objs = names[succ.draw(states_l, sizes_l, rng.random(int(sizes.sum())))].tolist()
        end = 0
        for s, k in zip(states_l, sizes_l):
            stack = list(its[s])  # what is left of the old stack
            stack += objs[end : end + k]
            end += k
            its[s] = iter(stack)
        drawn[states] += sizes

    # First guess: about n_steps / n visits per state.
    refill(np.arange(n), np.full(n, n_steps // n + 8, dtype=np.int64))
    pieces = []
    x = x0
    left = n_steps
    while True:
        # The path feeds itself: map reads seg while extend appends to it,
        # seg[t + 1] = next(its[seg[t]]).  A stack that runs out raises
        # StopIteration, which ends the extend early.
        seg = [names[x]]
        seg.extend(itertools.islice(map(next, map(its.__getitem__, seg)), left))
        steps = len(seg) - 1
        piece = np.fromiter(seg, dtype=np.int64, count=steps + 1)
        pieces.append(piece[:-1])
        visits += np.bincount(piece[:-1], minlength=n)
        left -= steps
        x = int(piece[-1])
        if not left:
            break
        # x's stack ran out.  Refill every state whose stack may not last:
        # 1.25 x its expected remaining departures, from the visit rate seen so
        # far (with one pseudo-visit per state, so early guesses stay modest).
        done = n_steps - left
        need = np.ceil(left * (visits + 1) / (done + n) * 1.25).astype(np.int64) + 8
        short = np.flatnonzero(drawn - visits < need)
        short = np.union1d(short, [x])
        refill(short, need[short])
    pieces.append(np.array([x], dtype=np.int64))
    return np.concatenate(pieces)
