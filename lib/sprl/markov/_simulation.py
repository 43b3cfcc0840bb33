"""Simulating a path of the chain (section 1.1.3)."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

from .._checks import as_int, as_rng
from ._checks import validate_transition_matrix


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
