r"""Small finite MDPs solved exactly (book sections 2.1 to 2.4 and 2.6).

A finite MDP has states :math:`s \in \{0, \dots, S-1\}`, actions
:math:`a \in \{0, \dots, A-1\}`, transition probabilities
:math:`P(s' \mid s, a)` = ``P[s, a, s']``, rewards ``R[s, a, s']`` (their mean
:math:`r(s, a) = \sum_{s'} P(s' \mid s, a) R(s, a, s')`), an initial law
:math:`\mu_0` and a set of terminal states, where an episode ends.

A policy :math:`\pi(a \mid s)` = ``pi[s, a]`` turns the MDP into a Markov chain
on states (section 2.1):

.. math::

   P_\pi(s, s') = \sum_a \pi(a \mid s) P(s' \mid s, a), \qquad
   r_\pi(s) = \sum_a \pi(a \mid s)\, r(s, a),

and its value is the solution of the linear system
:math:`(I - \gamma P_\pi) V^\pi = r_\pi` on the non-terminal states
(:math:`V^\pi = 0` on terminal ones).  Everything here is exact linear algebra
or a vectorised simulation; there is no torch in this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from .._checks import as_int, as_int_array, as_probability, as_rng

__all__ = [
    "TabularMDP",
    "Episodes",
    "gridworld",
    "softmax_policy",
    "policy_gradient",
    "score_function_gradients",
    "plot_gridworld",
    "policy_kl",
    "policy_tv",
    "performance_difference",
    "surrogate",
    "trpo_lower_bound",
]


def _as_discount(gamma) -> float:
    arr = as_probability(gamma, "gamma")
    if arr.ndim != 0:
        raise ValueError(f"gamma must be a single number in [0, 1], got shape {arr.shape}")
    return float(arr)


@dataclass(frozen=True)
class Episodes:
    """A batch of episodes of a :class:`TabularMDP`, time along axis 0.

    Episodes of different lengths are padded after their end: ``mask[t, i]``
    is true exactly when episode ``i`` took a step at time ``t``; padded
    entries hold state and action 0 and reward 0.

    Attributes
    ----------
    states, actions, next_states : numpy.ndarray of int64, shape (T, N)
        :math:`s_t`, :math:`a_t`, :math:`s_{t+1}` (time index ``t = 0`` is the
        book's step 1).
    rewards : numpy.ndarray of float, shape (T, N)
        :math:`r_t = R(s_t, a_t, s_{t+1})`.
    mask : numpy.ndarray of bool, shape (T, N)
    lengths : numpy.ndarray of int64, shape (N,)
        Number of steps of each episode.
    truncated : numpy.ndarray of bool, shape (N,)
        True where the episode was cut at ``max_steps`` before it ended.
    """

    states: np.ndarray
    actions: np.ndarray
    next_states: np.ndarray
    rewards: np.ndarray
    mask: np.ndarray
    lengths: np.ndarray
    truncated: np.ndarray

    @property
    def n_episodes(self) -> int:
        return self.states.shape[1]

    def returns(self, gamma=1.0) -> np.ndarray:
        r"""Discounted return :math:`\sum_{t=1}^{T} \gamma^{t-1} r_t` of each episode, (N,)."""
        gamma = _as_discount(gamma)
        discounts = gamma ** np.arange(self.rewards.shape[0])
        return discounts @ self.rewards


class TabularMDP:
    r"""A finite MDP with terminal states, solved exactly.

    Parameters
    ----------
    P : array_like, shape (S, A, S)
        ``P[s, a, s']`` :math:`= P(s' \mid s, a)`; every ``P[s, a]`` is a pmf.
        Terminal states must be absorbing (``P[s, a, s] = 1``).
    R : array_like, shape (S, A) or (S, A, S)
        Reward for taking ``a`` in ``s`` (and landing in ``s'``).  Rewards of
        terminal states are never collected.
    mu0 : array_like, shape (S,)
        Initial distribution :math:`\mu_0`.  It does not depend on the policy.
    terminal : sequence of int, optional
        Terminal (absorbing) states; an episode ends on entering one.
    labels : sequence of str, optional
        Names of the states (for printing).
    layout : dict, optional
        Plotting information (used by :func:`plot_gridworld`).
    """

    def __init__(self, P, R, mu0, terminal=(), labels=None, layout=None):
        P = np.asarray(P, dtype=float)
        if P.ndim != 3 or P.shape[0] != P.shape[2] or P.shape[0] == 0 or P.shape[1] == 0:
            raise ValueError(f"P must have shape (S, A, S), got {P.shape}")
        if not np.isfinite(P).all() or (P < 0).any():
            raise ValueError("P must hold non-negative finite probabilities")
        if not np.allclose(P.sum(axis=2), 1.0, rtol=0, atol=1e-10):
            raise ValueError("P must have every P[s, a, :] summing to 1")
        S, A, _ = P.shape
        R = np.asarray(R, dtype=float)
        if R.shape == (S, A):
            R = np.repeat(R[:, :, None], S, axis=2)
        if R.shape != (S, A, S):
            raise ValueError(f"R must have shape (S, A) = {(S, A)} or (S, A, S), got {R.shape}")
        if not np.isfinite(R).all():
            raise ValueError("R must hold finite numbers")
        mu0 = np.asarray(mu0, dtype=float)
        if mu0.shape != (S,):
            raise ValueError(f"mu0 must have shape ({S},), got {mu0.shape}")
        if not np.isfinite(mu0).all() or (mu0 < 0).any() or abs(mu0.sum() - 1) > 1e-10:
            raise ValueError("mu0 must be a pmf: non-negative entries summing to 1")
        term = np.zeros(S, dtype=bool)
        for s in terminal:
            term[as_int(s, "terminal", minimum=0, maximum=S - 1)] = True
        for s in np.flatnonzero(term):
            if not np.allclose(P[s, :, s], 1.0):
                raise ValueError(f"terminal state {s} must be absorbing (P[{s}, a, {s}] = 1)")
        R = np.where(term[:, None, None], 0.0, R)  # nothing is collected after the end
        self.P, self.R_full, self.mu0, self.terminal = P, R, mu0, term
        self.R = (P * R).sum(axis=2)  # r(s, a) = sum_s' P(s'|s,a) R(s,a,s')
        self.n_states, self.n_actions = S, A
        self.labels = list(labels) if labels is not None else [str(s) for s in range(S)]
        self.layout = layout
        self._cumP = np.cumsum(P, axis=2)

    # ------------------------------------------------------------------ policies
    def check_policy(self, pi, name: str = "pi") -> np.ndarray:
        """Return ``pi`` as an (S, A) array after checking each row is a pmf."""
        try:
            pi = np.asarray(pi, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an (S, A) array of probabilities") from None
        shape = (self.n_states, self.n_actions)
        if pi.shape != shape:
            raise ValueError(f"{name} must have shape (S, A) = {shape}, got {pi.shape}")
        if not np.isfinite(pi).all() or (pi < 0).any():
            raise ValueError(f"{name} must hold non-negative finite probabilities")
        if not np.allclose(pi.sum(axis=1), 1.0, rtol=0, atol=1e-10):
            raise ValueError(f"{name} must have rows summing to 1 (one pmf per state)")
        return pi

    def deterministic_policy(self, actions) -> np.ndarray:
        """The (S, A) policy that takes ``actions[s]`` in state ``s``."""
        actions = np.asarray(actions)
        if actions.shape != (self.n_states,):
            raise ValueError(f"actions must have shape ({self.n_states},), got {actions.shape}")
        if not np.issubdtype(actions.dtype, np.integer) or (
            (actions < 0) | (actions >= self.n_actions)
        ).any():
            raise ValueError(f"actions must be integers in [0, {self.n_actions - 1}]")
        return np.eye(self.n_actions)[actions]

    def markov_chain(self, pi):
        r"""The chain a policy induces: :math:`(P_\pi, r_\pi)` (section 2.1).

        .. math::

           P_\pi(s, s') = \sum_a \pi(a \mid s) P(s' \mid s, a), \qquad
           r_\pi(s) = \sum_a \pi(a \mid s) r(s, a).

        Returns
        -------
        P_pi : numpy.ndarray, shape (S, S)
            A stochastic matrix (terminal states absorbing).
        r_pi : numpy.ndarray, shape (S,)
            Expected one-step reward (0 on terminal states).
        """
        pi = self.check_policy(pi)
        P_pi = np.einsum("sa,sat->st", pi, self.P)
        r_pi = np.einsum("sa,sa->s", pi, self.R)
        return P_pi, r_pi

    def _transient(self, P_pi, gamma):
        """Non-terminal states; with gamma = 1 check that the episode ends a.s."""
        nt = ~self.terminal
        if gamma == 1.0:
            reach = self.terminal.copy()
            while True:  # states that reach a terminal state with positive probability
                grown = reach | (P_pi[:, reach] > 0).any(axis=1)
                if (grown == reach).all():
                    break
                reach = grown
            if not reach.all():
                bad = np.flatnonzero(~reach)[0]
                raise ValueError(
                    "gamma = 1 needs a policy under which every episode ends, but from "
                    f"state {bad} ({self.labels[bad]}) no terminal state is reachable; "
                    "use gamma < 1"
                )
        return nt

    def evaluate(self, pi, gamma):
        r"""Exact :math:`V^\pi` by one linear solve: :math:`(I - \gamma P_\pi) V = r_\pi`.

        Solved on the non-terminal states; :math:`V^\pi = 0` on terminal ones.
        ``gamma = 1`` is allowed when every episode ends with probability 1.

        Returns
        -------
        numpy.ndarray, shape (S,)
        """
        gamma = _as_discount(gamma)
        P_pi, r_pi = self.markov_chain(pi)
        nt = self._transient(P_pi, gamma)
        V = np.zeros(self.n_states)
        n = int(nt.sum())
        if n:
            V[nt] = linalg.solve(np.eye(n) - gamma * P_pi[np.ix_(nt, nt)], r_pi[nt])
        return V

    def q_values(self, pi, gamma):
        r""":math:`Q^\pi(s, a) = r(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V^\pi(s')`, (S, A)."""
        gamma = _as_discount(gamma)
        V = self.evaluate(pi, gamma)
        Q = self.R + gamma * self.P @ V
        return np.where(self.terminal[:, None], 0.0, Q)

    def advantages(self, pi, gamma):
        r""":math:`A^\pi(s, a) = Q^\pi(s, a) - V^\pi(s)`, shape (S, A)."""
        pi = self.check_policy(pi)
        Q = self.q_values(pi, gamma)
        return Q - (pi * Q).sum(axis=1, keepdims=True)

    def objective(self, pi, gamma):
        r""":math:`J(\pi) = \mathbb{E}_{s_1 \sim \mu_0}[V^\pi(s_1)] = \mu_0^\top V^\pi`."""
        return float(self.mu0 @ self.evaluate(pi, gamma))

    def visitation(self, pi, gamma):
        r"""Discounted visits :math:`d^\pi_\gamma(s) = \sum_{t \ge 1} \gamma^{t-1} \Pr(s_t = s)`.

        :math:`d^\top = \mu_0^\top (I - \gamma P_\pi)^{-1}` on the non-terminal
        states (0 on terminal ones).  With ``gamma = 1`` it is the expected
        number of visits to each state in one episode.

        Returns
        -------
        numpy.ndarray, shape (S,)
        """
        gamma = _as_discount(gamma)
        P_pi, _ = self.markov_chain(pi)
        nt = self._transient(P_pi, gamma)
        d = np.zeros(self.n_states)
        n = int(nt.sum())
        if n:
            d[nt] = linalg.solve((np.eye(n) - gamma * P_pi[np.ix_(nt, nt)]).T, self.mu0[nt])
        return d

    # ------------------------------------------------------------------ control
    def greedy(self, Q) -> np.ndarray:
        """Greedy actions ``argmax_a Q[s, a]`` (ties to the lowest index), shape (S,)."""
        return np.argmax(np.asarray(Q) + 0.0, axis=1)

    def value_iteration(self, gamma, tol=1e-12, max_iter=100_000):
        r"""Value iteration :math:`V \leftarrow \max_a [r(s,a) + \gamma \sum_{s'} P(s'|s,a) V(s')]`.

        Stops when the update changes :math:`V` by less than ``tol`` (sup norm).
        With ``gamma = 1`` it converges when every optimal policy ends the
        episode (as in the grid world).

        Returns
        -------
        V : numpy.ndarray, shape (S,)
            Optimal values :math:`V^*`.
        policy : numpy.ndarray of int, shape (S,)
            A greedy (optimal) action per state.
        n_iter : int
            Number of sweeps.
        """
        gamma = _as_discount(gamma)
        max_iter = as_int(max_iter, "max_iter", minimum=1)
        V = np.zeros(self.n_states)
        for n_iter in range(1, max_iter + 1):
            Q = np.where(self.terminal[:, None], 0.0, self.R + gamma * self.P @ V)
            V_new = Q.max(axis=1)
            done = np.max(np.abs(V_new - V)) < tol
            V = V_new
            if done:
                return V, self.greedy(Q), n_iter
        raise ValueError(f"value iteration did not converge in max_iter = {max_iter} sweeps")

    def policy_iteration(self, gamma, pi0=None, max_iter=1000):
        r"""Policy iteration: exact evaluation, then greedy improvement, until stable.

        Starts from ``pi0`` (default: the uniform policy, under which the
        episodes of the grid world end, so ``gamma = 1`` works).  Each
        iteration evaluates the current policy exactly and replaces it by the
        greedy policy (ties to the lowest action, after rounding ``Q`` to 12
        decimals so that ties do not flip-flop); it stops when the greedy
        policy equals the current one in every non-terminal state.

        Returns
        -------
        V : numpy.ndarray, shape (S,)
        policy : numpy.ndarray of int, shape (S,)
        n_improve : int
            Number of improvement steps that changed the policy (in some
            non-terminal state).  The number of exact policy evaluations is
            ``n_improve + 1``; starting from an optimal deterministic policy
            gives ``n_improve = 0``.
        """
        gamma = _as_discount(gamma)
        max_iter = as_int(max_iter, "max_iter", minimum=1)
        pi = np.full((self.n_states, self.n_actions), 1.0 / self.n_actions) if pi0 is None else pi0
        pi = self.check_policy(pi, "pi0")
        nt = ~self.terminal
        # a deterministic pi0 is a candidate fixed point; a stochastic one is not
        actions = pi.argmax(axis=1) if (pi.max(axis=1) == 1.0).all() else None
        n_improve = 0
        for _ in range(max_iter):
            Q = self.q_values(pi, gamma)
            new = self.greedy(np.round(Q, 12))  # rounding: ties do not flip-flop
            if actions is not None and (new[nt] == actions[nt]).all():
                return self.evaluate(pi, gamma), actions, n_improve
            actions = new
            pi = self.deterministic_policy(actions)
            n_improve += 1
        raise ValueError(f"policy iteration did not converge in max_iter = {max_iter} steps")

    # ------------------------------------------------------------------ simulation
    def sample_episodes(self, pi, n_episodes, rng=None, max_steps=1000, start=None) -> Episodes:
        """Simulate ``n_episodes`` episodes under ``pi``, all at once.

        Each time step draws the actions and next states of every running
        episode together (inverse-CDF sampling from the cumulative ``pi`` and
        ``P``); the only Python loop is over time.  An episode that has not
        ended after ``max_steps`` steps is cut (``truncated``).

        Parameters
        ----------
        pi : array_like, shape (S, A)
            The policy.
        n_episodes : int
            Number of episodes ``N``.
        rng : None, int or numpy.random.Generator
        max_steps : int
            Longest episode simulated.
        start : int or array_like of int, optional
            Start state(s) instead of draws from ``mu0`` (one per episode, or
            one for all).

        Returns
        -------
        Episodes
        """
        pi = self.check_policy(pi)
        n = as_int(n_episodes, "n_episodes", minimum=1)
        max_steps = as_int(max_steps, "max_steps", minimum=1)
        rng = as_rng(rng)
        cum_pi = np.cumsum(pi, axis=1)
        if start is None:
            s = np.searchsorted(np.cumsum(self.mu0), rng.random(n), side="right")
            s = np.minimum(s, self.n_states - 1)
        else:
            s = np.broadcast_to(as_int_array(start, "start", minimum=0,
                                             maximum=self.n_states - 1), (n,)).copy()
        idx = np.flatnonzero(~self.terminal[s])  # running episodes
        s = s[idx]
        steps = []
        for _ in range(max_steps):
            if idx.size == 0:
                break
            u_a, u_s = rng.random(idx.size), rng.random(idx.size)
            a = np.minimum((cum_pi[s] < u_a[:, None]).sum(axis=1), self.n_actions - 1)
            s_next = np.minimum((self._cumP[s, a] < u_s[:, None]).sum(axis=1),
                                self.n_states - 1)
            steps.append((idx, s, a, s_next, self.R_full[s, a, s_next]))
            keep = ~self.terminal[s_next]
            idx, s = idx[keep], s_next[keep]
        T = len(steps)
        states = np.zeros((T, n), dtype=np.int64)
        actions, next_states = np.zeros_like(states), np.zeros_like(states)
        rewards, mask = np.zeros((T, n)), np.zeros((T, n), dtype=bool)
        for t, (i, s_t, a_t, s2_t, r_t) in enumerate(steps):
            states[t, i], actions[t, i], next_states[t, i] = s_t, a_t, s2_t
            rewards[t, i], mask[t, i] = r_t, True
        truncated = np.zeros(n, dtype=bool)
        truncated[idx] = True
        return Episodes(states, actions, next_states, rewards, mask,
                        mask.sum(axis=0).astype(np.int64), truncated)


# ---------------------------------------------------------------------- grid world
_MOVES = {0: (1, 0), 1: (0, 1), 2: (-1, 0), 3: (0, -1)}  # N, E, S, W as (d_row, d_col)
ACTION_NAMES = ("N", "E", "S", "W")


def gridworld(slip=0.2, step_reward=-0.04, rows=3, cols=4, walls=((2, 2),),
              exits=(((3, 4), 1.0), ((2, 4), -1.0)), start=(1, 1)) -> TabularMDP:
    r"""The 4 x 3 grid world of Russell and Norvig (AIMA, chapter 17) as a :class:`TabularMDP`.

    Cells are ``(row, col)`` with row 1 at the bottom and column 1 at the left;
    ``(2, 2)`` is a wall.  Actions N, E, S, W move as intended with
    probability ``1 - slip`` and at right angles with probability ``slip / 2``
    each; a move into the wall or off the grid leaves the agent in place.
    Each move earns ``step_reward``; entering an exit cell ends the episode and
    earns its payoff (+1 at ``(3, 4)``, -1 at ``(2, 4)``).  Episodes start at
    ``start``.  With :math:`\gamma = 1` the optimal values are AIMA's Figure
    17.3 (:math:`V^*(1, 1) = 0.705`).

    States are numbered row by row from the bottom left, skipping walls; exit
    cells are terminal states (their payoff is paid on the move into them).

    Returns
    -------
    TabularMDP
        With ``layout = {"rows", "cols", "cells", "walls"}`` for plotting.
    """
    slip = float(as_probability(slip, "slip"))
    rows = as_int(rows, "rows", minimum=1)
    cols = as_int(cols, "cols", minimum=1)
    walls = {tuple(w) for w in walls}
    cells = [(r, c) for r in range(1, rows + 1) for c in range(1, cols + 1) if (r, c) not in walls]
    index = {cell: i for i, cell in enumerate(cells)}
    payoff = {tuple(cell): float(v) for cell, v in exits}
    for cell in [*payoff, tuple(start)]:
        if cell not in index:
            raise ValueError(f"cell {cell} must be a cell of the grid that is not a wall")
    S, A = len(cells), 4
    P = np.zeros((S, A, S))
    R = np.zeros((S, A, S))
    for (r, c), s in index.items():
        if (r, c) in payoff:
            P[s, :, s] = 1.0
            continue
        for a in range(A):
            left, right = (a - 1) % 4, (a + 1) % 4
            for move, prob in ((a, 1.0 - slip), (left, slip / 2), (right, slip / 2)):
                dr, dc = _MOVES[move]
                target = (r + dr, c + dc)
                s2 = index.get(target, s)  # wall or edge: stay
                P[s, a, s2] += prob
            R[s, a, :] = step_reward + np.array([payoff.get(cell, 0.0) for cell in cells])
    mu0 = np.zeros(S)
    mu0[index[tuple(start)]] = 1.0
    terminal = [index[cell] for cell in payoff]
    labels = [f"({r},{c})" for r, c in cells]
    layout = {"rows": rows, "cols": cols, "cells": cells, "walls": sorted(walls),
              "payoff": payoff}
    return TabularMDP(P, R, mu0, terminal=terminal, labels=labels, layout=layout)


def plot_gridworld(mdp: TabularMDP, values=None, policy=None, ax=None, fmt="{:.3f}",
                   title=None):
    """Draw a grid world: the value of each cell and an arrow per greedy action.

    ``policy`` is an (S,) array of actions or an (S, A) array of probabilities
    (arrows scaled by probability).  Returns the matplotlib axes.
    """
    import matplotlib.pyplot as plt

    if mdp.layout is None:
        raise ValueError("mdp must come from gridworld() (it needs a layout to be drawn)")
    lay = mdp.layout
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    ax.set_xlim(0.5, lay["cols"] + 0.5)
    ax.set_ylim(0.5, lay["rows"] + 0.5)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xticks(range(1, lay["cols"] + 1))
    ax.set_yticks(range(1, lay["rows"] + 1))
    for r, c in lay["walls"]:
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, color="0.3"))
    for k in range(lay["cols"] + 1):
        ax.axvline(k + 0.5, color="0.8", lw=0.8)
    for k in range(lay["rows"] + 1):
        ax.axhline(k + 0.5, color="0.8", lw=0.8)
    probs = None
    if policy is not None:
        policy = np.asarray(policy)
        probs = policy if policy.ndim == 2 else np.eye(mdp.n_actions)[policy]
    for s, (r, c) in enumerate(lay["cells"]):
        if mdp.terminal[s]:
            pay = lay["payoff"][(r, c)]
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1,
                                       color="tab:green" if pay > 0 else "tab:red", alpha=0.35))
            ax.text(c, r, f"{pay:+g}", ha="center", va="center", fontsize=11)
            continue
        if values is not None:
            ax.text(c, r - 0.36, fmt.format(values[s]), ha="center", va="center", fontsize=8)
        if probs is not None:
            for a, (dr, dc) in _MOVES.items():
                if probs[s, a] > 1e-3:  # arrow length grows like sqrt(probability)
                    size = 0.4 * probs[s, a] ** 0.5
                    ax.arrow(c, r + 0.08, size * dc, size * dr, width=0.012,
                             head_width=0.1, head_length=0.08, length_includes_head=True,
                             color="tab:blue", alpha=0.35 + 0.65 * probs[s, a])
    if title:
        ax.set_title(title)
    return ax


# ---------------------------------------------------------------------- softmax policies
def softmax_policy(theta) -> np.ndarray:
    r"""Tabular softmax :math:`\pi_\theta(a \mid s) = e^{\theta_{sa}} / \sum_b e^{\theta_{sb}}`.

    ``theta`` has shape (S, A); returns the (S, A) array of probabilities
    (computed after subtracting each row's maximum, so large logits do not
    overflow).
    """
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 2 or not np.isfinite(theta).all():
        raise ValueError("theta must be a finite (S, A) array of logits")
    z = np.exp(theta - theta.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _check_theta(mdp, theta):
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"theta must have shape (S, A) = {(mdp.n_states, mdp.n_actions)}, got {theta.shape}"
        )
    return theta


def policy_gradient(mdp: TabularMDP, theta, gamma) -> np.ndarray:
    r"""Exact :math:`\nabla_\theta J(\theta)` of a tabular softmax policy (policy gradient theorem).

    .. math::

       \frac{\partial J}{\partial \theta_{sa}}
       = \sum_{t \ge 1} \gamma^{t-1} \Pr(s_t = s)\, \pi_\theta(a \mid s)
         \bigl(Q^\pi(s, a) - V^\pi(s)\bigr)
       = d^\pi_\gamma(s)\, \pi_\theta(a \mid s)\, A^\pi(s, a),

    because :math:`\partial \log \pi_\theta(b \mid s) / \partial \theta_{sa}
    = \mathbb{1}[a = b] - \pi_\theta(a \mid s)`.  Zero on terminal states.

    Returns
    -------
    numpy.ndarray, shape (S, A)
    """
    theta = _check_theta(mdp, theta)
    pi = softmax_policy(theta)
    d = mdp.visitation(pi, gamma)
    return d[:, None] * pi * mdp.advantages(pi, gamma)


def score_function_gradients(theta, episodes: Episodes, psi) -> np.ndarray:
    r"""One score-function gradient estimate per episode, tabular softmax policy.

    .. math::

       \hat g_i = \sum_t \Psi_{i,t}\, \nabla_\theta \log \pi_\theta(a_{i,t} \mid s_{i,t}),
       \qquad
       \nabla_{\theta_{s\cdot}} \log \pi_\theta(a \mid s) = e_a - \pi_\theta(\cdot \mid s),

    for the weights ``psi`` (:math:`\Psi_{i,t}`, the discount
    :math:`\gamma^{t-1}` included when wanted).  Padded steps
    (``episodes.mask`` false) count for nothing.

    Parameters
    ----------
    theta : array_like, shape (S, A)
    episodes : Episodes
        Time along axis 0, shape (T, N).
    psi : array_like, shape (T, N)

    Returns
    -------
    numpy.ndarray, shape (N, S, A)
        The estimates; their mean estimates :math:`\nabla_\theta J`.
    """
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 2:
        raise ValueError(f"theta must be an (S, A) array, got shape {theta.shape}")
    S, A = theta.shape
    psi = np.asarray(psi, dtype=float)
    T, N = episodes.states.shape
    if psi.shape != (T, N):
        raise ValueError(f"psi must have the shape of the episodes (T, N) = {(T, N)}, "
                         f"got {psi.shape}")
    if not np.isfinite(psi).all():
        raise ValueError("psi must hold finite numbers")
    if episodes.states.max(initial=0) >= S or episodes.actions.max(initial=0) >= A:
        raise ValueError("theta has fewer states or actions than the episodes use")
    pi = softmax_policy(theta)
    m = episodes.mask
    w = psi[m]  # only the steps that were taken
    episode = np.broadcast_to(np.arange(N), (T, N))[m]
    s, a = episodes.states[m], episodes.actions[m]
    # sum_t psi_t e_{s_t, a_t}
    g = np.bincount((episode * S + s) * A + a, weights=w, minlength=N * S * A).reshape(N, S, A)
    # - sum_t psi_t e_{s_t} (x) pi(.|s_t)
    per_state = np.bincount(episode * S + s, weights=w, minlength=N * S).reshape(N, S)
    return g - per_state[:, :, None] * pi[None]


# ---------------------------------------------------------------------- trust regions (2.6)
def _two_policies(pi, pi_new):
    pi = np.asarray(pi, dtype=float)
    pi_new = np.asarray(pi_new, dtype=float)
    for name, p in (("pi", pi), ("pi_new", pi_new)):
        if p.ndim != 2:
            raise ValueError(f"{name} must be an (S, A) array of probabilities, got shape {p.shape}")
        if not np.isfinite(p).all() or (p < 0).any():
            raise ValueError(f"{name} must hold non-negative finite probabilities")
        if not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-10):
            raise ValueError(f"{name} must have rows summing to 1 (one pmf per state)")
    if pi.shape != pi_new.shape:
        raise ValueError(f"pi_new must have the shape of pi {pi.shape}, got {pi_new.shape}")
    return pi, pi_new


def policy_kl(pi, pi_new) -> np.ndarray:
    r"""Per-state :math:`\mathrm{KL}(\pi(\cdot \mid s) \,\|\, \pi'(\cdot \mid s))` (section 2.6).

    .. math::

       D_{\mathrm{KL}}(s) = \sum_a \pi(a \mid s) \log \frac{\pi(a \mid s)}{\pi'(a \mid s)},

    with :math:`0 \log 0 = 0`; ``inf`` where :math:`\pi'` gives probability 0
    to an action that :math:`\pi` takes (the divergence is infinite there).

    Parameters
    ----------
    pi, pi_new : array_like, shape (S, A)
        :math:`\pi` and :math:`\pi'`, one pmf per row.

    Returns
    -------
    numpy.ndarray, shape (S,)
    """
    pi, pi_new = _two_policies(pi, pi_new)
    pos = pi > 0
    safe_new = np.where(pos & (pi_new > 0), pi_new, 1.0)  # log q only where it is used
    terms = np.where(pos, pi * (np.log(np.where(pos, pi, 1.0)) - np.log(safe_new)), 0.0)
    kl = terms.sum(axis=1)
    kl[(pos & (pi_new == 0)).any(axis=1)] = np.inf
    return np.maximum(kl, 0.0)  # >= 0 exactly (Gibbs); clears -1e-17 rounding


def policy_tv(pi, pi_new) -> np.ndarray:
    r"""Per-state total variation :math:`\tfrac12 \sum_a |\pi(a \mid s) - \pi'(a \mid s)|`, shape (S,)."""
    pi, pi_new = _two_policies(pi, pi_new)
    return 0.5 * np.abs(pi - pi_new).sum(axis=1)


def _advantage_gain(mdp: TabularMDP, pi, pi_new, gamma):
    r""":math:`\bar A(s) = \sum_a \pi'(a \mid s) A^\pi(s, a)`, shape (S,)."""
    pi = mdp.check_policy(pi, "pi")
    pi_new = mdp.check_policy(pi_new, "pi_new")
    return (pi_new * mdp.advantages(pi, gamma)).sum(axis=1)


def performance_difference(mdp: TabularMDP, pi, pi_new, gamma) -> float:
    r"""Right side of the performance-difference identity (section 2.6).

    .. math::

       J(\pi') - J(\pi)
       = \mathbb{E}_{\pi'}\Bigl[\sum_{t \ge 1} \gamma^{t-1} A^\pi(s_t, a_t)\Bigr]
       = \sum_s d^{\pi'}_\gamma(s) \sum_a \pi'(a \mid s) A^\pi(s, a),

    the advantages of the *old* policy :math:`\pi` summed along the
    trajectories of the *new* one :math:`\pi'` (:math:`d_\gamma` as in
    :meth:`TabularMDP.visitation`).  Computed from :math:`d^{\pi'}_\gamma` and
    :math:`A^\pi` only, so that comparing it with
    ``mdp.objective(pi_new, gamma) - mdp.objective(pi, gamma)`` checks the identity.

    Returns
    -------
    float
    """
    gain = _advantage_gain(mdp, pi, pi_new, gamma)
    return float(mdp.visitation(pi_new, gamma) @ gain)


def surrogate(mdp: TabularMDP, pi, pi_new, gamma) -> float:
    r"""The surrogate :math:`L_\pi(\pi')` of TRPO (section 2.6).

    .. math::

       L_\pi(\pi') = J(\pi) + \sum_s d^{\pi}_\gamma(s) \sum_a \pi'(a \mid s) A^\pi(s, a):

    the identity of :func:`performance_difference` with the states visited
    by the *old* policy in place of the new one's.  It agrees with
    :math:`J(\pi')` to first order at :math:`\pi' = \pi`:
    :math:`L_\pi(\pi) = J(\pi)` and the gradients in :math:`\pi'` are equal there.

    Returns
    -------
    float
    """
    gain = _advantage_gain(mdp, pi, pi_new, gamma)
    return mdp.objective(pi, gamma) + float(mdp.visitation(pi, gamma) @ gain)


def trpo_lower_bound(mdp: TabularMDP, pi, pi_new, gamma, divergence: str = "kl") -> float:
    r"""The lower bound of Schulman et al. (2015, Theorem 1) on :math:`J(\pi')` (section 2.6).

    .. math::

       J(\pi') \ge L_\pi(\pi') - C D, \qquad
       C = \frac{4 \varepsilon \gamma}{(1 - \gamma)^2}, \quad
       \varepsilon = \max_{s, a} |A^\pi(s, a)|,

    with :math:`D = \alpha^2 = \max_s D_{\mathrm{TV}}(s)^2` (``divergence="tv"``,
    the theorem as proved in the book) or :math:`D = \max_s
    D_{\mathrm{KL}}(\pi(\cdot \mid s) \,\|\, \pi'(\cdot \mid s))`
    (``divergence="kl"``, weaker, from :math:`D_{\mathrm{TV}}^2 \le D_{\mathrm{KL}}`).
    The maxima run over the non-terminal states.  Needs ``gamma < 1``.

    Returns
    -------
    float
        :math:`L_\pi(\pi') - C D` (``-inf`` if the KL is infinite).
    """
    gamma = _as_discount(gamma)
    if gamma >= 1.0:
        raise ValueError(f"gamma must be < 1 for the bound (C grows like 1/(1-gamma)^2), got {gamma}")
    if divergence not in ("kl", "tv"):
        raise ValueError(f"divergence must be 'kl' or 'tv', got {divergence!r}")
    pi = mdp.check_policy(pi, "pi")
    pi_new = mdp.check_policy(pi_new, "pi_new")
    nt = ~mdp.terminal
    eps = float(np.abs(mdp.advantages(pi, gamma)[nt]).max(initial=0.0))
    C = 4.0 * eps * gamma / (1.0 - gamma) ** 2
    if divergence == "tv":
        alpha = float((policy_tv(pi, pi_new)[nt] ** 2).max(initial=0.0))
    else:
        alpha = float(policy_kl(pi, pi_new)[nt].max(initial=0.0))
    if np.isinf(alpha):
        return -np.inf
    return surrogate(mdp, pi, pi_new, gamma) - C * alpha
