"""Absorption, hitting and visits: the linear-algebra quantities of section 1.1.3."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .._checks import as_int
from .._graph import classes as _classes
from .._graph import graph as _graph
from .._graph import reaching as _reaching
from ._checks import ROW_SUM_ATOL, _check_absorbing, validate_transition_matrix
from ._solve import _dense, _mmatrix_solve


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
